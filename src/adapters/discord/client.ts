/**
 * The discord.js client as Parley needs it: the intents for guild messages,
 * their content and DMs; DM channels arriving as partials; mentions in
 * anything we send parsed for nobody (set on the client so that every send,
 * edit and follow-up carries it, whatever the model wrote); gateway packets
 * completed where a server left out what discord.js needs.
 */
import { Client, Events, GatewayIntentBits, Partials, type ClientOptions } from "discord.js";
import { ParleyError } from "../../core/errors.js";
import { completeIncomingPackets } from "./packets.js";

/** Which shards a process runs, as DISCORD_SHARD_COUNT and DISCORD_SHARDS say. */
export interface ShardSettings {
  /** Shards over all processes, or `auto` for Discord's recommendation. Unset: one, or what a ShardingManager says. */
  shardCount?: number | "auto";
  /** The ids this process runs, each below `shardCount`. Unset: all of them. */
  shards?: number[];
}

/**
 * A client as described above; `apiUrl` moves REST and, through it, the
 * gateway. Without shard settings discord.js reads SHARDS and SHARD_COUNT
 * from a ShardingManager's environment, or runs the one shard.
 */
export function createDiscordClient(apiUrl: string | undefined, sharding: ShardSettings = {}): Client {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    partials: [Partials.Channel],
    allowedMentions: { parse: [], repliedUser: false },
    // Answering a message that was deleted meanwhile should still answer.
    failIfNotExists: false,
    ...(apiUrl ? { rest: { api: restBase(apiUrl) } } : {}),
    ...shardOptions(sharding),
  });
  completeIncomingPackets(client);
  return client;
}

function shardOptions({ shardCount, shards }: ShardSettings): Pick<ClientOptions, "shards" | "shardCount"> {
  if (shardCount === "auto") return { shards: "auto" };
  if (shardCount === undefined) return {};
  return { shardCount, shards: shards ?? Array.from({ length: shardCount }, (_, id) => id) };
}

/**
 * DISCORD_API_URL as discord.js wants it: without the version, which it
 * appends. People copy Discord's documented base (`…/api/v10`) or add a
 * trailing slash; both would double a part of every path.
 */
export function restBase(apiUrl: string): string {
  return apiUrl.replace(/\/+$/, "").replace(/\/v\d+$/, "");
}

/**
 * Logs in and waits for `clientReady` (every shard's guilds received), or
 * fails when no shard became ready for `timeoutMs`: shards identify one
 * after another, Discord allowing one (per `max_concurrency`) every 5 s, so
 * each shard that turns ready restarts the wait.
 */
export async function connect(client: Client, token: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onShardReady: (() => void) | undefined;
  let onShardError: ((error: Error) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    const wait = () => {
      clearTimeout(timer);
      timer = setTimeout(() => reject(new ParleyError("platform_error", "Discord did not become ready in time.")), timeoutMs);
    };
    // Discord closes a shard for these for good; waiting out the timeout would only hide why.
    onShardError = (error) => {
      const refusal = shardRefusal(error);
      if (refusal) reject(refusal);
    };
    onShardReady = wait;
    client.on(Events.ShardReady, wait);
    client.on(Events.ShardError, onShardError);
    client.once(Events.ClientReady, () => resolve());
    wait();
  });
  try {
    // Either may fail first; a shard refused during login leaves login itself pending.
    await Promise.all([client.login(token), ready]);
  } catch (error) {
    throw loginError(error);
  } finally {
    clearTimeout(timer);
    if (onShardReady) client.off(Events.ShardReady, onShardReady);
    if (onShardError) client.off(Events.ShardError, onShardError);
  }
}

/** Gateway close codes 4011 (too many servers for the shard count) and 4010 (a shard id or count Discord refuses), said in our settings' words. */
function shardRefusal(error: Error): ParleyError | undefined {
  if (/sharding is required/i.test(error.message)) {
    return new ParleyError("platform_error", "Discord requires sharding for this many servers: set DISCORD_SHARD_COUNT=auto, or run `parley --shards auto`.");
  }
  if (/invalid shard/i.test(error.message)) {
    return new ParleyError("platform_error", "Discord refused the shard settings; check DISCORD_SHARD_COUNT and DISCORD_SHARDS.");
  }
  return undefined;
}

function loginError(error: unknown): ParleyError {
  if (error instanceof ParleyError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "TokenInvalid" || (error as { status?: unknown }).status === 401) {
    return new ParleyError("platform_error", "Discord refused the bot token; check DISCORD_TOKEN.");
  }
  // discord.js reports close code 4014 as this plain error.
  if (code === "DisallowedIntents" || (error instanceof Error && /disallowed intents/i.test(error.message))) {
    return new ParleyError("platform_error", "Discord refused the gateway intents; enable the Message Content intent for the bot in the developer portal.");
  }
  const reason = error instanceof Error ? error.message.replace(/https?:\/\/\S+/g, "<url>") : String(error);
  return new ParleyError("platform_error", "Could not connect to Discord.", { retryable: true, detail: `Could not connect to Discord: ${reason}` });
}
