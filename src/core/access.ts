/**
 * Who may use the bot: the access lists of `access` in the config, decided
 * once per message in the dispatcher (before a command is parsed) and once
 * when the bot is added to a group or server. Adapters only describe where a
 * message was written (`IncomingMessage.place`, the author's roles).
 */
import type { AccessConfig } from "../config/schema.js";
import type { IncomingMessage } from "./types.js";

/** The answer for one message. */
export type AccessVerdict =
  /** Serve it. */
  | { allowed: true }
  /** Not served: `tell` in a private chat (the bot is private), silence in a shared one. */
  | { allowed: false; tell: boolean };

/** The bot was just added to a Telegram group or a Discord server. */
export interface Joining {
  platform: "telegram" | "discord";
  /** Telegram: the group's chat id; Discord: the server id. */
  id: string;
  /** The user key of whoever added the bot, when the platform says (Telegram does). */
  addedBy?: string;
}

/** Whether to stay where the bot was added; `notice` is said once before leaving. */
export type JoinVerdict = { stay: true } | { stay: false; notice: string };

/** The sentence a stranger gets in a private chat (at most once a day). */
export const privateBotNotice = "Sorry, this bot is private: it only answers the people and groups it was set up for.";
const leavingNotice = "This bot is private and does not serve this group; leaving. Ask the bot's owner to allow it.";

/** The access lists, compiled for quick look-ups. */
export class AccessPolicy {
  readonly #owners: ReadonlySet<string>;
  readonly #telegram: { users: ReadonlySet<string>; chats: ReadonlySet<string>; private: boolean };
  readonly #discord: {
    guilds: ReadonlySet<string>;
    channels: ReadonlySet<string>;
    roles: ReadonlySet<string>;
    users: ReadonlySet<string>;
    dms: boolean;
  };
  readonly #leaveUnlisted: boolean;

  constructor(config: AccessConfig) {
    this.#owners = new Set(config.owners);
    const { telegram, discord } = config;
    this.#telegram = { users: new Set(telegram.users), chats: new Set(telegram.chats), private: telegram.private };
    this.#discord = {
      guilds: new Set(discord.guilds),
      channels: new Set(discord.channels),
      roles: new Set(discord.roles),
      users: new Set(discord.users),
      dms: discord.dms,
    };
    this.#leaveUnlisted = config.leaveUnlisted;
  }

  /** Owners are moderators everywhere and pass every list and block. */
  isOwner(userKey: string): boolean {
    return this.#owners.has(userKey);
  }

  /** Whether the message's author may use the bot where they wrote it. */
  check(message: Pick<IncomingMessage, "platform" | "channel" | "author" | "place">): AccessVerdict {
    if (message.platform === "console" || this.isOwner(message.author.key)) return { allowed: true };
    const allowed = message.platform === "telegram" ? this.#telegramAllows(message) : this.#discordAllows(message);
    return allowed ? { allowed: true } : { allowed: false, tell: message.channel.private };
  }

  /** Whether to stay in a group or server the bot was just added to. */
  joined(joining: Joining): JoinVerdict {
    if (!this.#leaveUnlisted) return { stay: true };
    if (joining.addedBy !== undefined && this.isOwner(joining.addedBy)) return { stay: true };
    const listed =
      joining.platform === "telegram" ? this.#telegramGroupListed(joining.id, joining.addedBy) : allows(this.#discord.guilds, joining.id);
    return listed ? { stay: true } : { stay: false, notice: leavingNotice };
  }

  #telegramAllows(message: Pick<IncomingMessage, "channel" | "author" | "place">): boolean {
    const { users, chats } = this.#telegram;
    const userId = idOf(message.author.key);
    if (message.channel.private) return this.#telegram.private && allows(users, userId);
    const chat = message.place?.chat;
    // A group is open to everyone when no list is set, else to its members when it is listed, else to listed users.
    if (users.size === 0 && chats.size === 0) return true;
    return (chat !== undefined && chats.has(chat)) || users.has(userId);
  }

  /** A group someone brought the bot to: allowed when listed, or when brought by a listed user (who may use it anywhere). */
  #telegramGroupListed(chatId: string, addedBy: string | undefined): boolean {
    const { users, chats } = this.#telegram;
    if (users.size === 0 && chats.size === 0) return true;
    return chats.has(chatId) || (addedBy !== undefined && users.has(idOf(addedBy)));
  }

  #discordAllows(message: Pick<IncomingMessage, "channel" | "author" | "place">): boolean {
    const { guilds, channels, roles, users, dms } = this.#discord;
    const userId = idOf(message.author.key);
    const people = roles.size > 0 || users.size > 0;
    if (message.channel.private) return dms && (!people || users.has(userId));
    const place = message.place;
    if (!allows(guilds, place?.server)) return false;
    if (channels.size > 0 && !(place && (channels.has(place.chat) || (place.parent !== undefined && channels.has(place.parent))))) return false;
    if (!people) return true;
    return users.has(userId) || (message.author.roles ?? []).some((role) => roles.has(role));
  }
}

/**
 * The channels a message's blocks are kept for: its own, and the parent a
 * thread or forum topic belongs to (a block made there holds in all of it).
 * The last one is where a moderator's block is kept.
 */
export function blockChannels(message: Pick<IncomingMessage, "platform" | "channel" | "place">): string[] {
  const parent = message.place?.parent;
  return parent ? [message.channel.key, `${message.platform}:${parent}`] : [message.channel.key];
}

/** An empty list allows everything; a set one only what it holds. */
function allows(list: ReadonlySet<string>, id: string | undefined): boolean {
  return list.size === 0 || (id !== undefined && list.has(id));
}

/** `telegram:42` → `42`. */
function idOf(userKey: string): string {
  return userKey.slice(userKey.indexOf(":") + 1);
}
