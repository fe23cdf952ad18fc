/**
 * The Discord adapter: the only code that talks to discord.js. It connects,
 * registers the slash commands, hands every message and slash command that
 * addresses the bot to the core (in arrival order), answers through
 * `Reply`s that stream, split and never ping, and leaves servers it is added
 * to when the core says so.
 */
import { Events, RESTEvents, type Client, type Guild, type Interaction, type Message } from "discord.js";
import type { Logger } from "pino";
import type { Adapter, AdapterContext } from "../../core/adapter.js";
import { PacerPool } from "../shared/pacer.js";
import { connect, createDiscordClient, type ShardSettings } from "./client.js";
import { reasonOf } from "./errors.js";
import { toIncomingMessage, type InboundRules } from "./inbound.js";
import { createInteractionReply } from "./interaction-reply.js";
import { DEFAULT_EDIT_INTERVAL_MS, READY_TIMEOUT_MS, STOP_GRACE_MS } from "./limits.js";
import { answerJoin, warnUnlistedAtStart } from "./joins.js";
import { createMessageReply, type HandledReply } from "./message-reply.js";
import { resolvePermissionName } from "./moderators.js";
import { stopWithShardingManager } from "./shard-process.js";
import { answerAutocomplete, interactionToMessage, registerCommands, toApplicationCommands } from "./slash-commands.js";

export interface DiscordAdapterOptions extends ShardSettings {
  /** The bot token (DISCORD_TOKEN). Never logged. */
  token: string;
  /** Discord's REST base without the version, e.g. `https://discord.com/api` (the default); moves the gateway too (DISCORD_API_URL). */
  apiUrl?: string;
  /** Register slash commands in this guild only: instant, for testing (DISCORD_GUILD_ID). Default: globally. */
  guildId?: string;
  /** Prefix of text commands such as `!remember`. @defaultValue `!` */
  prefix?: string;
  /** The permission that makes a member a moderator in a channel, as a PermissionFlagsBits name. @defaultValue `ManageMessages` */
  moderatorPermission?: string;
  /** Members with any of these roles are moderators everywhere in their guild. @defaultValue none */
  moderatorRoleIds?: string[];
  /** Least time between two sends or edits into one channel while streaming, in milliseconds. @defaultValue 1200 */
  editIntervalMs?: number;
  /** How often "typing…" is re-sent while the model thinks, in milliseconds (tests shorten it). @defaultValue 8_000 */
  typingEveryMs?: number;
}

/** The Discord adapter; connects on `start`, and `stop` lets answers in flight finish (up to a grace period). */
export function createDiscordAdapter(options: DiscordAdapterOptions): Adapter {
  const permission = resolvePermissionName(options.moderatorPermission ?? "ManageMessages");
  const editIntervalMs = options.editIntervalMs ?? DEFAULT_EDIT_INTERVAL_MS;
  let client: Client | undefined;
  let stopping = false;
  const inFlight = new Set<Promise<void>>();

  /** Hands one message to the core and cleans up after it; tracked so stop() can wait. */
  function hand(ctx: AdapterContext, message: Parameters<AdapterContext["dispatch"]>[0], reply: HandledReply, log: Logger): void {
    const handled = ctx
      .dispatch(message, reply)
      .catch((error: unknown) => log.error({ reason: reasonOf(error), channel: message.channel.key }, "discord: dispatch failed"))
      .finally(() => reply.finish());
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  }

  return {
    platform: "discord",
    ready: () => client?.isReady() ?? false,

    async start(ctx) {
      const log = ctx.log.child({ platform: "discord" });
      const rules: InboundRules = {
        permission,
        roleIds: options.moderatorRoleIds ?? [],
        log,
        prefix: options.prefix ?? "!",
        commandNames: new Set(ctx.commands.map((c) => c.name)),
        // A server standing in for Discord (DISCORD_API_URL) serves the attachments too.
        fileHosts: options.apiUrl && URL.canParse(options.apiUrl) ? [new URL(options.apiUrl).host] : [],
      };
      const pacers = new PacerPool(editIntervalMs);
      stopping = false;
      const discord = createDiscordClient(options.apiUrl, { shardCount: options.shardCount, shards: options.shards });
      client = discord;
      // discord.js waits out a 429 by itself and says so only here (its `rateLimited` event is about waits it chose).
      discord.rest.on(RESTEvents.Response, (_request, response) => {
        if (response.status === 429) ctx.platformRateLimited?.("discord");
      });

      // Handlers stay synchronous up to dispatch, so one channel's messages reach the core in order.
      discord.on(Events.MessageCreate, (message: Message) => {
        if (stopping) return;
        const incoming = toIncomingMessage(message, rules);
        if (!incoming) return;
        hand(ctx, incoming, createMessageReply(message, pacers.get(message.channelId), log, options.typingEveryMs), log);
      });

      discord.on(Events.InteractionCreate, (interaction: Interaction) => {
        if (stopping) return;
        if (interaction.isAutocomplete()) {
          answerAutocomplete(interaction, ctx).catch((error: unknown) =>
            log.warn({ reason: reasonOf(error) }, "discord: could not answer autocomplete"),
          );
          return;
        }
        if (!interaction.isChatInputCommand()) return;
        // Acknowledge at once, within Discord's three seconds; the answer fills it in later.
        const deferred = interaction.deferReply().then(
          () => true,
          (error: unknown) => {
            log.warn({ command: interaction.commandName, reason: reasonOf(error) }, "discord: could not defer a slash command in time");
            return false;
          },
        );
        const message = interactionToMessage(interaction, ctx.commands, rules);
        hand(ctx, message, createInteractionReply(interaction, deferred, pacers.get(interaction.channelId), log), log);
      });

      // discord.js emits GuildCreate only for servers joined after ready; those of the start arrive as available.
      discord.on(Events.GuildCreate, (guild: Guild) => {
        if (stopping) return;
        answerJoin(guild, ctx, log).catch((error: unknown) =>
          log.error({ guildId: guild.id, reason: reasonOf(error) }, "discord: could not decide about a server the bot was added to"),
        );
      });

      discord.on(Events.Error, (error) => log.error({ reason: error.message }, "discord: client error"));
      discord.on(Events.ShardError, (error) => log.warn({ reason: error.message }, "discord: gateway connection error"));
      discord.on(Events.Warn, (warning) => log.warn({ warning }, "discord: warning"));

      try {
        await connect(discord, options.token, READY_TIMEOUT_MS);
      } catch (error) {
        client = undefined;
        await discord.destroy();
        throw error;
      }
      const ready = discord as Client<true>;
      const shards = [...ready.ws.shards.keys()];
      log.info({ user: ready.user.tag, guilds: ready.guilds.cache.size, shards, shardCount: ready.options.shardCount }, "discord: connected");
      warnUnlistedAtStart(ready, ctx, log);
      stopWithShardingManager(ready, log);

      // Commands belong to the application, not a shard: the process holding shard 0 registers them, once.
      if (!shards.includes(0)) {
        log.info({ shards }, "discord: slash commands are registered by the process that runs shard 0");
        return;
      }
      const definitions = toApplicationCommands(ctx.commands, permission, log);
      try {
        await registerCommands(ready, definitions, options.guildId);
        log.info({ count: definitions.length, scope: options.guildId ? `guild ${options.guildId}` : "global" }, "discord: slash commands registered");
      } catch (error) {
        // Messages and mentions still work; slash commands wait for the next start.
        log.error({ reason: reasonOf(error), guildId: options.guildId }, "discord: could not register slash commands");
      }
    },

    async stop() {
      stopping = true;
      const discord = client;
      client = undefined;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, STOP_GRACE_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      await discord?.destroy();
    },
  };
}
