/**
 * The fake Discord's state: users, guilds with roles, channels, threads and
 * members, every channel's messages (as last edited), interactions and
 * registered application commands. The REST server and the gateway both read
 * and change this one model; `payloads.ts` turns it into Discord's JSON.
 */
import { nextSnowflake, randomToken } from "./snowflake.js";

/** Discord's channel types that the fake models. */
export const ChannelKind = {
  GuildText: 0,
  DM: 1,
  PublicThread: 11,
} as const;

export interface FakeUser {
  id: string;
  username: string;
  globalName?: string;
  bot?: boolean;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  /** The role Discord makes for a bot when it joins (tags.bot_id). */
  botId?: string;
}

/** A permission overwrite on a channel: `type` 0 is a role, 1 a member. */
export interface FakeOverwrite {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface FakeChannel {
  id: string;
  type: number;
  name?: string;
  guildId?: string;
  /** A thread's parent channel. */
  parentId?: string;
  overwrites: FakeOverwrite[];
  /** A DM channel's other user. */
  recipientId?: string;
}

export interface FakeMember {
  userId: string;
  roles: string[];
  nick?: string;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  roles: Map<string, FakeRole>;
  /** The bot is in the guild while it is a member. */
  members: Map<string, FakeMember>;
  /** Where Discord posts joins and boosts; bots often greet (or say goodbye) there. */
  systemChannelId?: string;
}

/** Who a sent message actually notified, after `allowed_mentions` was applied. */
export interface Pings {
  everyone: boolean;
  users: string[];
  roles: string[];
  repliedUser: boolean;
}

/** A file sent with a user's message, served by the fake's CDN route. */
export interface FakeAttachment {
  id: string;
  filename: string;
  contentType?: string;
  bytes: Buffer;
  /** `<origin>/attachments/<channel>/<id>/<filename>`, as Discord's CDN URLs are shaped. */
  url: string;
  /** A voice message's length and waveform (base64). */
  voice?: { durationSecs: number; waveform: string };
}

export interface StoredMessage {
  id: string;
  channelId: string;
  guildId?: string;
  authorId: string;
  content: string;
  /** Set for interaction responses and follow-ups (the application id) and webhook posts. */
  webhookId?: string;
  /** The message this one replies to. */
  referencedMessageId?: string;
  /** `allowed_mentions` of the last create or edit, exactly as sent. */
  allowedMentions?: unknown;
  pings: Pings;
  flags: number;
  createdAtMs: number;
  editedAtMs?: number;
  editCount: number;
  /** The interaction this message answers (original response or follow-up). */
  interactionId?: string;
  /** Files a user sent with the message. */
  attachments?: FakeAttachment[];
}

export interface FakeInteraction {
  id: string;
  token: string;
  type: number;
  channelId: string;
  guildId?: string;
  userId: string;
  commandName: string;
  /** When the INTERACTION_CREATE went out; the callback deadline counts from here. */
  sentAtMs: number;
  /** The callback type the bot answered with, once it did. */
  callbackType?: number;
  callbackAtMs?: number;
  /** Autocomplete choices the bot returned. */
  choices?: { name: string; value: string }[];
  originalMessageId?: string;
  followUpIds: string[];
}

export interface ApplicationCommandRecord {
  id: string;
  /** The command as the bot registered it, plus the ids Discord adds. */
  json: Record<string, unknown>;
}

export class DiscordWorld {
  readonly users = new Map<string, FakeUser>();
  readonly guilds = new Map<string, FakeGuild>();
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, StoredMessage[]>();
  readonly interactions = new Map<string, FakeInteraction>();
  readonly globalCommands: ApplicationCommandRecord[] = [];
  readonly guildCommands = new Map<string, ApplicationCommandRecord[]>();
  /** Guilds the bot left (`DELETE /users/@me/guilds/:id`), in order. */
  readonly departures: string[] = [];
  readonly bot: FakeUser;
  readonly applicationId: string;

  constructor(readonly token: string, botName: string) {
    this.bot = this.addUser({ username: botName, bot: true });
    // Discord's bots created since 2020 share their application's id.
    this.applicationId = this.bot.id;
  }

  addUser(user: Omit<FakeUser, "id"> & { id?: string }): FakeUser {
    const created: FakeUser = { ...user, id: user.id ?? nextSnowflake() };
    this.users.set(created.id, created);
    return created;
  }

  addGuild(name: string, ownerId: string, id: string = nextSnowflake()): FakeGuild {
    const guild: FakeGuild = { id, name, ownerId, roles: new Map(), members: new Map() };
    // @everyone has the guild's id; the defaults let people read and talk.
    guild.roles.set(id, { id, name: "@everyone", permissions: DEFAULT_EVERYONE_PERMISSIONS, position: 0 });
    this.guilds.set(id, guild);
    return guild;
  }

  addChannel(channel: Omit<FakeChannel, "id" | "overwrites"> & { overwrites?: FakeOverwrite[] }): FakeChannel {
    const created: FakeChannel = { ...channel, id: nextSnowflake(), overwrites: channel.overwrites ?? [] };
    this.channels.set(created.id, created);
    this.messages.set(created.id, []);
    return created;
  }

  /** The DM channel between the bot and a user, made on first use. */
  dmChannelWith(userId: string): FakeChannel {
    for (const channel of this.channels.values()) {
      if (channel.type === ChannelKind.DM && channel.recipientId === userId) return channel;
    }
    return this.addChannel({ type: ChannelKind.DM, recipientId: userId });
  }

  /** Whether the bot is a member of the guild: only then does its gateway hear of it. */
  botIn(guildId: string | undefined): boolean {
    return guildId !== undefined && (this.guilds.get(guildId)?.members.has(this.bot.id) ?? false);
  }

  guildOf(channelId: string): FakeGuild | undefined {
    const guildId = this.channels.get(channelId)?.guildId;
    return guildId ? this.guilds.get(guildId) : undefined;
  }

  message(channelId: string, messageId: string): StoredMessage | undefined {
    return this.messages.get(channelId)?.find((m) => m.id === messageId);
  }

  findMessage(messageId: string): StoredMessage | undefined {
    for (const list of this.messages.values()) {
      const found = list.find((m) => m.id === messageId);
      if (found) return found;
    }
    return undefined;
  }

  storeMessage(message: Omit<StoredMessage, "id" | "createdAtMs" | "editCount">): StoredMessage {
    const stored: StoredMessage = { ...message, id: nextSnowflake(), createdAtMs: Date.now(), editCount: 0 };
    const list = this.messages.get(message.channelId) ?? [];
    list.push(stored);
    this.messages.set(message.channelId, list);
    return stored;
  }

  addInteraction(fields: Omit<FakeInteraction, "id" | "token" | "sentAtMs" | "followUpIds">): FakeInteraction {
    const interaction: FakeInteraction = {
      ...fields,
      id: nextSnowflake(),
      token: `aW50ZXJhY3Rpb246${randomToken(120)}`,
      sentAtMs: Date.now(),
      followUpIds: [],
    };
    this.interactions.set(interaction.id, interaction);
    return interaction;
  }

  interactionByToken(token: string): FakeInteraction | undefined {
    for (const interaction of this.interactions.values()) if (interaction.token === token) return interaction;
    return undefined;
  }
}

/** What a new guild's @everyone may do (Discord's defaults, without mention-everyone). */
export const DEFAULT_EVERYONE_PERMISSIONS =
  (1n << 0n) | // CreateInstantInvite
  (1n << 6n) | // AddReactions
  (1n << 10n) | // ViewChannel
  (1n << 11n) | // SendMessages
  (1n << 14n) | // EmbedLinks
  (1n << 15n) | // AttachFiles
  (1n << 16n) | // ReadMessageHistory
  (1n << 18n) | // UseExternalEmojis
  (1n << 20n) | // Connect
  (1n << 21n) | // Speak
  (1n << 26n) | // ChangeNickname
  (1n << 31n) | // UseApplicationCommands
  (1n << 35n) | // CreatePublicThreads
  (1n << 38n); // SendMessagesInThreads
