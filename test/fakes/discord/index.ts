/**
 * A fake Discord for tests: the REST API (`/api/v10`) and the gateway on one
 * local port, talking to the real discord.js client. Point the client at it
 * with `rest: { api: fake.apiUrl }` (discord.js then finds the gateway through
 * `GET /gateway/bot`). Build a world (guilds, roles, channels, threads,
 * members), push what users do (DMs, guild messages, slash commands,
 * autocomplete, adding the bot to a guild), and read what the bot did: every
 * request as recorded, every channel's messages as last edited, and the
 * guilds it left. The gateway hears only of guilds the bot is a member of.
 */
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { serveFile, type FileDownload, type FileServing } from "../file-serving.js";
import { FakeGateway, Intent, type DispatchTransform, type IdentifyRecord } from "./gateway.js";
import { channelJson, guildJson, interactionMemberJson, memberJson, messageJson, roleJson, userJson } from "./payloads.js";
import { channelPermissions } from "./permissions.js";
import { RateLimits, type BucketLimit, type Injected429 } from "./rate-limits.js";
import { createRestServer, type RecordedRequest, type RestSettings } from "./rest.js";
import { channelRoutes } from "./routes-channels.js";
import { interactionRoutes } from "./routes-interactions.js";
import { nextSnowflake, snowflakeOnShard } from "./snowflake.js";
import { ChannelKind, DiscordWorld, type FakeAttachment, type FakeGuild, type FakeInteraction, type FakeOverwrite, type FakeUser, type StoredMessage } from "./world.js";

export type { RecordedRequest } from "./rest.js";
export type { FakeAttachment, FakeInteraction, FakeUser, StoredMessage, Pings } from "./world.js";
export type { FileDownload, FileServing } from "../file-serving.js";
export type { Injected429, BucketLimit } from "./rate-limits.js";
export { CallbackType } from "./routes-interactions.js";
export { Intent, type DispatchTransform } from "./gateway.js";

export interface FakeDiscordOptions {
  /** The bot token the fake accepts. @defaultValue a fixed fake token */
  token?: string;
  botName?: string;
  /** @defaultValue 2000 */
  maxLength?: number;
  /** @defaultValue 3000, as on Discord */
  interactionDeadlineMs?: number;
  /** Per channel, creates and edits each. @defaultValue 5 per 5 s */
  messageBucket?: BucketLimit;
  /** Per interaction token. @defaultValue 5 per 5 s */
  webhookBucket?: BucketLimit;
  /** HELLO's interval. @defaultValue 41250, as on Discord */
  heartbeatIntervalMs?: number;
  /** Whether the Message Content intent is switched on in the developer portal; if not, IDENTIFY asking for it is closed with 4014. @defaultValue true */
  messageContentIntent?: boolean;
  /**
   * Changes every gateway dispatch before it is sent, to play a server that
   * differs from this one within the protocol (optional fields left out,
   * partial guilds). @defaultValue none
   */
  transformDispatch?: DispatchTransform;
  /** `GET /gateway/bot`'s `shards`: the shard count Discord recommends. @defaultValue 1 */
  recommendedShards?: number;
  /** `session_start_limit.max_concurrency`: shards that may identify at once (per 5 s). @defaultValue 1 */
  maxConcurrency?: number;
  /** Guilds one shard may hold before IDENTIFY is closed with 4011 (Sharding required). @defaultValue 2500, as on Discord */
  maxGuildsPerShard?: number;
  /** How the CDN route sends attachments. @defaultValue all at once, with Content-Length */
  fileServing?: FileServing;
}

/** A file a user attaches to a message. */
export interface AttachmentInput {
  filename: string;
  /** Discord leaves it out when it cannot tell. */
  contentType?: string;
  bytes: Buffer;
  /** Makes the message a voice message (flag IS_VOICE_MESSAGE), as Discord's clients send them. */
  voice?: { durationSecs: number; waveform?: string };
}

/** Discord's IS_VOICE_MESSAGE message flag. */
const IS_VOICE_MESSAGE = 1 << 13;

/** Who sent a guild message: a user, a bot, or a webhook (which has no user). */
export interface GuildMessageInput {
  channelId: string;
  /** The author; ignored for webhooks. */
  authorId?: string;
  content: string;
  /** Prefix the content with the bot's mention, as a user's client does. */
  mentionBot?: boolean;
  /** Reply to this message (e.g. one of the bot's). */
  replyTo?: string;
  /** Posted by a webhook rather than a user. */
  webhook?: boolean;
  /** Files sent with the message, served by the fake's CDN route. */
  attachments?: AttachmentInput[];
}

export interface SlashCommandInput {
  /** A guild channel or thread; leave out (with `dm: true`) for a DM. */
  channelId?: string;
  userId: string;
  /** The command is used in the DM between this user and the bot. */
  dm?: boolean;
  name: string;
  /**
   * Option values by name, in the order given: text, or for an option the
   * command registered as a USER option (type 6), the user's id (sent with
   * `resolved.users`, and `resolved.members` in a guild, as Discord does).
   */
  options?: Record<string, string>;
}

export interface FakeDiscord {
  /** The REST base without version, for discord.js's `rest.api` / DISCORD_API_URL. */
  readonly apiUrl: string;
  readonly token: string;
  readonly bot: FakeUser;
  readonly applicationId: string;
  readonly world: DiscordWorld;
  /** Every REST request, in arrival order. */
  readonly requests: RecordedRequest[];
  readonly identifies: IdentifyRecord[];
  /** Clients that got READY (or RESUMED) and are still connected. */
  readonly connectedClients: number;
  /** RESUMEs accepted so far. */
  readonly resumes: number;
  /** Op 7 RECONNECT to every connected client. */
  requestReconnect(): void;
  /** Op 9 INVALID SESSION to every connected client, resumable or not. */
  invalidateSessions(resumable: boolean): void;

  addUser(user: { username: string; globalName?: string; bot?: boolean }): FakeUser;
  /**
   * A guild with the bot in it (with its managed role); returns its id, which
   * is also @everyone's role id. `withBot: false` builds it without the bot,
   * unheard of by the gateway until `addBotToGuild`. `shard` picks an id
   * whose events go to that shard of `count`.
   */
  addGuild(guild?: { name?: string; ownerId?: string; withBot?: boolean; shard?: { id: number; count: number } }): string;
  /** Someone adds the bot to a guild it is not in (an OAuth2 invite): its member and managed role appear, and the client gets GUILD_CREATE. */
  addBotToGuild(guildId: string): void;
  /** Guilds the bot left (`DELETE /users/@me/guilds/:id`), in order. */
  readonly leftGuilds: readonly string[];
  addRole(guildId: string, role: { name: string; permissions: bigint }): string;
  setRolePermissions(guildId: string, roleId: string, permissions: bigint): void;
  /** A text channel; `system` makes it the guild's system channel (where Discord posts joins). */
  addChannel(guildId: string, channel: { name: string; overwrites?: FakeOverwrite[]; system?: boolean }): string;
  addThread(parentId: string, thread: { name: string }): string;
  addMember(guildId: string, userId: string, member?: { roles?: string[]; nick?: string }): void;
  /** Adds or replaces a role (`type` 0) or member (`type` 1) overwrite on a channel. */
  setOverwrite(channelId: string, overwrite: FakeOverwrite): void;
  /** A member's permissions in a channel, as Discord computes them. */
  permissionsOf(channelId: string, userId: string): bigint;

  /** A user's DM to the bot (with files, if given); resolves once the client has received it. */
  sendDm(userId: string, content: string, attachments?: AttachmentInput[]): Promise<StoredMessage>;
  /** How the CDN route sends attachments now; tests may change it. */
  fileServing: FileServing;
  /** Every attachment download from the CDN route, in order, with how much was sent. */
  readonly cdnDownloads: FileDownload[];
  /** A message in a guild channel or thread; resolves once the client has received it. */
  sendGuildMessage(input: GuildMessageInput): Promise<StoredMessage>;
  /** A chat-input command; resolves once the client has received it. The 3 s deadline starts at dispatch. */
  slashCommand(input: SlashCommandInput): Promise<FakeInteraction>;
  /** An autocomplete request for `focused` with the given partial value. */
  autocomplete(input: SlashCommandInput & { focused: string }): Promise<FakeInteraction>;
  /** Resolves once every connected client has read everything dispatched so far. */
  sync(): Promise<void>;

  messages(channelId: string): StoredMessage[];
  botMessages(channelId: string): StoredMessage[];
  dmChannelId(userId: string): string;
  requestsTo(method: string, path: RegExp): RecordedRequest[];
  /** The application commands registered globally, or for a guild. */
  commands(guildId?: string): Record<string, unknown>[];
  /** The next matching request(s) get a 429. */
  inject429(rule: Injected429): void;
  /** Polls `check` until it returns something truthy. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const world = new DiscordWorld(options.token ?? "FAKE.discord-bot-token.for-tests", options.botName ?? "Parley");
  const settings: RestSettings = {
    maxLength: options.maxLength ?? 2000,
    interactionDeadlineMs: options.interactionDeadlineMs ?? 3000,
    messageBucket: options.messageBucket ?? { limit: 5, windowMs: 5000 },
    webhookBucket: options.webhookBucket ?? { limit: 5, windowMs: 5000 },
    recommendedShards: options.recommendedShards ?? 1,
    maxConcurrency: options.maxConcurrency ?? 1,
  };
  const limits = new RateLimits();
  let origin = "";
  const cdnDownloads: FileDownload[] = [];
  let fileServing: FileServing = options.fileServing ?? {};

  /** The CDN: `GET /attachments/<channel>/<attachment>/<filename>`, with no authorization, as on Discord. */
  function serveAttachment(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? "/", "http://fake.discord").pathname;
    const match = /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(path);
    if (!match) return false;
    const file = world.messages
      .get(match[1] as string)
      ?.flatMap((m) => m.attachments ?? [])
      .find((a) => a.id === match[2] && a.filename === decodeURIComponent(match[3] as string));
    if (req.method !== "GET" || !file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
      return true;
    }
    void serveFile(res, path, file.bytes, file.contentType ?? "application/octet-stream", fileServing, cdnDownloads);
    return true;
  }

  /** Stores the files of a new message under CDN URLs, and its voice flag. */
  function attach(channelId: string, inputs: AttachmentInput[] | undefined): { attachments?: FakeAttachment[]; flags: number } {
    if (!inputs || inputs.length === 0) return { flags: 0 };
    const attachments = inputs.map((input): FakeAttachment => {
      const id = nextSnowflake();
      return {
        id,
        filename: input.filename,
        contentType: input.contentType,
        bytes: input.bytes,
        url: `${origin}/attachments/${channelId}/${id}/${encodeURIComponent(input.filename)}`,
        ...(input.voice ? { voice: { durationSecs: input.voice.durationSecs, waveform: input.voice.waveform ?? "AAAA" } } : {}),
      };
    });
    return { attachments, flags: inputs.some((i) => i.voice) ? IS_VOICE_MESSAGE : 0 };
  }
  const gatewayUrl = () => `${origin.replace(/^http/, "ws")}/gateway`;
  let gateway: FakeGateway | undefined;
  const rest = createRestServer(world, [...channelRoutes, ...interactionRoutes], settings, limits, {
    gatewayUrl,
    onMessageCreate: (message) => dispatchMessage(message),
    sessionStarts: () => gateway?.identifies.length ?? 0,
    onGuildLeave: (guildId) => gateway?.dispatch("GUILD_DELETE", { id: guildId }, "guild", guildId),
  }, serveAttachment);
  gateway = new FakeGateway(
    rest.server,
    world,
    options.heartbeatIntervalMs ?? 41_250,
    gatewayUrl,
    options.messageContentIntent === false ? 0 : Intent.MessageContent,
    options.maxGuildsPerShard ?? 2500,
    options.transformDispatch,
  );
  await new Promise<void>((resolve) => rest.server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(rest.server.address() as AddressInfo).port}`;
  const gw = gateway;

  function dispatchMessage(message: StoredMessage): void {
    // A guild the bot is not in is none of its business.
    if (message.guildId && !world.botIn(message.guildId)) return;
    const payload = messageJson(world, message);
    const mentionsBot = message.content.includes(`<@${world.bot.id}>`) || message.content.includes(`<@!${world.bot.id}>`);
    gw.dispatch("MESSAGE_CREATE", payload, message.guildId ? "guild-message" : "dm-message", message.guildId, (d, intents) => {
      // Without Message Content, Discord blanks guild messages that don't concern the bot.
      if (intents & Intent.MessageContent || !message.guildId || mentionsBot || message.authorId === world.bot.id) return d;
      return { ...d, content: "", embeds: [], attachments: [], components: [] };
    });
  }

  function requireGuild(guildId: string) {
    const guild = world.guilds.get(guildId);
    if (!guild) throw new Error(`fake discord: no guild ${guildId}`);
    return guild;
  }

  /** A guild's event, sent only while the bot is in the guild, as Discord does. */
  function guildDispatch(guildId: string, t: string, d: Record<string, unknown>): void {
    if (world.botIn(guildId)) gw.dispatch(t, d, "guild", guildId);
  }

  /** The bot becomes a member, with the managed role Discord makes for it, and hears of the guild. */
  function joinBot(guild: FakeGuild): void {
    const botRoleId = nextSnowflake();
    guild.roles.set(botRoleId, {
      id: botRoleId,
      name: world.bot.username,
      permissions: (1n << 10n) | (1n << 11n) | (1n << 38n) | (1n << 16n),
      position: 1,
      botId: world.bot.id,
    });
    guild.members.set(world.bot.id, { userId: world.bot.id, roles: [botRoleId] });
    gw.dispatch("GUILD_CREATE", guildJson(world, guild, true), "guild", guild.id);
  }

  /** Interaction options as Discord sends them: typed as registered, users resolved. */
  function interactionOptions(input: SlashCommandInput, registered: Record<string, unknown> | undefined, guild: FakeGuild | undefined, channelId: string, focused?: string) {
    const declared = (registered?.options ?? []) as { name: string; type: number }[];
    const users: Record<string, unknown> = {};
    const members: Record<string, unknown> = {};
    const options = Object.entries(input.options ?? {}).map(([name, value]) => {
      const type = declared.find((o) => o.name === name)?.type ?? 3;
      if (type === 6) {
        const user = world.users.get(value);
        if (!user) throw new Error(`fake discord: option ${name} names no user ${value}`);
        users[user.id] = userJson(user);
        const member = guild?.members.get(user.id);
        if (member) {
          const { user: _user, deaf: _deaf, mute: _mute, ...partial } = memberJson(world, member);
          members[user.id] = { ...partial, permissions: channelPermissions(world, channelId, user.id).toString() };
        }
      }
      return { name, type, value, ...(focused === name ? { focused: true } : {}) };
    });
    const resolved = Object.keys(users).length > 0 ? { resolved: { users, ...(Object.keys(members).length > 0 ? { members } : {}) } } : {};
    return { options, ...resolved };
  }

  function interactionPayload(input: SlashCommandInput, type: number, focused?: string): { interaction: FakeInteraction; payload: Record<string, unknown> } {
    const user = world.users.get(input.userId);
    if (!user) throw new Error(`fake discord: no user ${input.userId}`);
    const channel = input.dm ? world.dmChannelWith(user.id) : world.channels.get(input.channelId ?? "");
    if (!channel) throw new Error(`fake discord: no channel ${input.channelId}`);
    const guild = channel.guildId ? world.guilds.get(channel.guildId) : undefined;
    // The bot's commands are gone from a guild it left.
    if (guild && !world.botIn(guild.id)) throw new Error(`fake discord: the bot is not in guild ${guild.id}`);
    const registered = [...(guild ? (world.guildCommands.get(guild.id) ?? []) : []), ...world.globalCommands].find(
      (c) => c.json.name === input.name,
    );
    const interaction = world.addInteraction({
      type,
      channelId: channel.id,
      guildId: guild?.id,
      userId: user.id,
      commandName: input.name,
    });
    const payload: Record<string, unknown> = {
      id: interaction.id,
      application_id: world.applicationId,
      type,
      token: interaction.token,
      version: 1,
      data: {
        id: registered?.id ?? nextSnowflake(),
        name: input.name,
        type: 1,
        ...(guild ? { guild_id: guild.id } : {}),
        ...interactionOptions(input, registered?.json, guild, channel.id, focused),
      },
      channel_id: channel.id,
      channel: channelJson(world, channel),
      app_permissions: channelPermissions(world, channel.id, world.bot.id).toString(),
      locale: "en-US",
      entitlements: [],
      attachment_size_limit: 10_485_760,
      authorizing_integration_owners: { "0": guild?.id ?? "0" },
      context: guild ? 0 : 1,
      ...(guild
        ? { guild_id: guild.id, guild: { id: guild.id, locale: "en-US", features: [] }, guild_locale: "en-US", member: interactionMemberJson(world, guild, user.id, channel.id) }
        : { user: userJson(user) }),
    };
    return { interaction, payload };
  }

  const fake: FakeDiscord = {
    apiUrl: `${origin}/api`,
    token: world.token,
    bot: world.bot,
    applicationId: world.applicationId,
    world,
    requests: rest.requests,
    identifies: gw.identifies,
    get fileServing() {
      return fileServing;
    },
    set fileServing(serving) {
      fileServing = serving;
    },
    cdnDownloads,
    get connectedClients() {
      return gw.readyCount;
    },
    get resumes() {
      return gw.resumes;
    },
    requestReconnect: () => gw.requestReconnect(),
    invalidateSessions: (resumable) => gw.invalidateSessions(resumable),

    addUser: (user) => world.addUser(user),
    addGuild(guild = {}) {
      const owner = guild.ownerId ?? world.addUser({ username: "owner" }).id;
      const created = world.addGuild(guild.name ?? "Parley Test Server", owner, guild.shard ? snowflakeOnShard(guild.shard.id, guild.shard.count) : undefined);
      created.members.set(owner, { userId: owner, roles: [] });
      if (guild.withBot !== false) joinBot(created);
      return created.id;
    },
    addBotToGuild(guildId) {
      const guild = requireGuild(guildId);
      if (world.botIn(guildId)) throw new Error(`fake discord: the bot is already in guild ${guildId}`);
      joinBot(guild);
    },
    get leftGuilds() {
      return [...world.departures];
    },
    addRole(guildId, role) {
      const guild = requireGuild(guildId);
      const id = nextSnowflake();
      const created = { id, name: role.name, permissions: role.permissions, position: guild.roles.size };
      guild.roles.set(id, created);
      guildDispatch(guildId, "GUILD_ROLE_CREATE", { guild_id: guildId, role: roleJson(created) });
      return id;
    },
    setRolePermissions(guildId, roleId, permissions) {
      const role = requireGuild(guildId).roles.get(roleId);
      if (!role) throw new Error(`fake discord: no role ${roleId}`);
      role.permissions = permissions;
      guildDispatch(guildId, "GUILD_ROLE_UPDATE", { guild_id: guildId, role: roleJson(role) });
    },
    addChannel(guildId, channel) {
      const guild = requireGuild(guildId);
      const created = world.addChannel({ type: ChannelKind.GuildText, guildId, name: channel.name, overwrites: channel.overwrites });
      if (channel.system) guild.systemChannelId = created.id;
      guildDispatch(guildId, "CHANNEL_CREATE", channelJson(world, created));
      // Discord announces the changed setting too.
      if (channel.system) guildDispatch(guildId, "GUILD_UPDATE", guildJson(world, guild, false));
      return created.id;
    },
    addThread(parentId, thread) {
      const parent = world.channels.get(parentId);
      if (!parent?.guildId) throw new Error(`fake discord: no guild channel ${parentId}`);
      const created = world.addChannel({ type: ChannelKind.PublicThread, guildId: parent.guildId, parentId, name: thread.name });
      guildDispatch(parent.guildId, "THREAD_CREATE", { ...channelJson(world, created), newly_created: true });
      return created.id;
    },
    addMember(guildId, userId, member = {}) {
      // Without the privileged Guild Members intent Discord sends no event; clients
      // learn the member from its messages (and REST), as here.
      requireGuild(guildId).members.set(userId, { userId, roles: member.roles ?? [], nick: member.nick });
    },
    setOverwrite(channelId, overwrite) {
      const channel = world.channels.get(channelId);
      if (!channel) throw new Error(`fake discord: no channel ${channelId}`);
      channel.overwrites = [...channel.overwrites.filter((o) => !(o.id === overwrite.id && o.type === overwrite.type)), overwrite];
      if (channel.guildId) guildDispatch(channel.guildId, "CHANNEL_UPDATE", channelJson(world, channel));
    },
    permissionsOf: (channelId, userId) => channelPermissions(world, channelId, userId),

    async sendDm(userId, content, attachments) {
      const channel = world.dmChannelWith(userId);
      const stored = world.storeMessage({
        channelId: channel.id,
        authorId: userId,
        content,
        pings: { everyone: false, users: [], roles: [], repliedUser: false },
        ...attach(channel.id, attachments),
      });
      dispatchMessage(stored);
      await gw.sync();
      return stored;
    },
    async sendGuildMessage(input) {
      const channel = world.channels.get(input.channelId);
      if (!channel?.guildId) throw new Error(`fake discord: no guild channel ${input.channelId}`);
      let authorId = input.authorId ?? "";
      let webhookId: string | undefined;
      if (input.webhook) {
        webhookId = nextSnowflake();
        authorId = world.addUser({ id: webhookId, username: "Captain Hook", bot: true }).id;
      } else if (!world.users.has(authorId)) {
        throw new Error(`fake discord: no user ${authorId}`);
      }
      const content = input.mentionBot ? `<@${world.bot.id}> ${input.content}` : input.content;
      const stored = world.storeMessage({
        channelId: channel.id,
        guildId: channel.guildId,
        authorId,
        content,
        webhookId,
        referencedMessageId: input.replyTo,
        pings: { everyone: false, users: [], roles: [], repliedUser: false },
        ...attach(channel.id, input.attachments),
      });
      dispatchMessage(stored);
      await gw.sync();
      return stored;
    },
    async slashCommand(input) {
      const { interaction, payload } = interactionPayload(input, 2);
      interaction.sentAtMs = Date.now();
      gw.dispatch("INTERACTION_CREATE", payload, "interaction", payload.guild_id as string | undefined);
      await gw.sync();
      return interaction;
    },
    async autocomplete(input) {
      const { interaction, payload } = interactionPayload(input, 4, input.focused);
      interaction.sentAtMs = Date.now();
      gw.dispatch("INTERACTION_CREATE", payload, "interaction", payload.guild_id as string | undefined);
      await gw.sync();
      return interaction;
    },
    sync: () => gw.sync(),

    messages: (channelId) => [...(world.messages.get(channelId) ?? [])],
    botMessages: (channelId) => (world.messages.get(channelId) ?? []).filter((m) => m.authorId === world.bot.id),
    dmChannelId: (userId) => world.dmChannelWith(userId).id,
    requestsTo: (method, path) => rest.requests.filter((r) => r.method === method && path.test(r.path)),
    commands: (guildId) => (guildId ? (world.guildCommands.get(guildId) ?? []) : world.globalCommands).map((c) => c.json),
    inject429: (rule) => limits.inject(rule),
    async waitFor(check, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = check();
        if (value) return value;
        if (Date.now() > deadline) throw new Error("fake discord: waitFor timed out");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      await gw.close();
      rest.server.closeAllConnections();
      await new Promise<void>((resolve) => rest.server.close(() => resolve()));
    },
  };
  return fake;
}
