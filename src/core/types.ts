/**
 * The shapes every platform adapter and every command agree on. Nothing in
 * here knows about Discord, Telegram or the terminal.
 */

export type Platform = "console" | "telegram" | "discord";

/** One message from a user, normalised by an adapter. */
export interface IncomingMessage {
  platform: Platform;
  channel: {
    /** Namespaced key, e.g. `telegram:-100123`, `discord:987…`, `console:local`. */
    key: string;
    /** A DM or private chat: its one user is its moderator. */
    private: boolean;
    title?: string;
  };
  /**
   * Where the message was written, in the platform's own ids: what the
   * access lists match. Absent on the console.
   */
  place?: Place;
  author: {
    /** Namespaced key, e.g. `telegram:42`, `discord:1234…`, `console:local`. */
    key: string;
    /** Display name, used to say who said what in shared channels. */
    name: string;
    /** Discord: the ids of the author's roles in this server (for `access.discord.roles`). */
    roles?: readonly string[];
  };
  /** The text with any bot mention removed. */
  text: string;
  /** DM, mention, reply to the bot, or a command. Unaddressed plain text is ignored. */
  addressed: boolean;
  /**
   * A command the platform already parsed (a Discord slash command), so the
   * dispatcher need not parse `text`.
   */
  command?: { name: string; args: string };
  /** People the message mentions, the bot left out, for commands that name someone (`block @Bob`). */
  mentions?: readonly UserRef[];
  /**
   * Files sent with the message (images, text files, voice), fetched only
   * when a command wants them. Absent when there are none.
   */
  attachments?: Attachment[];
  /** The message this one answers, when it is a reply to someone's message (the bot's own included). */
  replyTo?: { author: UserRef; text: string; attachments?: Attachment[] };
  /** Asks the platform only when a moderator-only command needs it. */
  isModerator(): Promise<boolean>;
  /** The platform's own event, as an escape hatch. */
  raw: unknown;
}

/**
 * A file sent with a message, as the platform described it; the bytes stay
 * on the platform's file server until `fetch` is called.
 */
export interface Attachment {
  /** What a model could do with it: see it, read it, hear it, or nothing. */
  kind: "image" | "text" | "audio" | "file";
  /** The file name as sent (`photo.jpg` for a Telegram photo, `voice.ogg` for a voice message). */
  name: string;
  mimeType?: string;
  /** Size in bytes, when the platform said. */
  size?: number;
  /**
   * Downloads it; rejects with a ParleyError past maxBytes (checked while
   * downloading, not after), on timeout or failure.
   */
  fetch(maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
}

/** Someone on a platform, as commands name them. */
export interface UserRef {
  /** Namespaced key, e.g. `telegram:42`, `discord:1234…`. */
  key: string;
  name: string;
  /** A bot's account (the bot itself included): never a target of `block`. */
  bot?: boolean;
}

/** Where a message was written, in the platform's own ids. */
export interface Place {
  /** Discord: the server (guild) id; absent in DMs and on Telegram. */
  server?: string;
  /** The chat or channel id as the platform writes it: a Telegram chat's `-100…`, a Discord channel's or thread's id. */
  chat: string;
  /** Discord: a thread's parent channel id (a thread counts as its parent for the access lists). */
  parent?: string;
}

/** How a command answers; made by the adapter for one incoming message. */
export interface Reply {
  /** Shows "typing…" until the next send or stream ends. Never throws. */
  typing(): void;
  /** A short answer, plain text. Long text is split by the adapter. */
  send(text: string): Promise<void>;
  /**
   * Streams a model's answer: throttled edits, split past the platform's
   * length limit, formatted for the platform. Resolves with the full text
   * once the last part is delivered. If `deltas` throws, what arrived so far
   * stays shown and the error is rethrown.
   */
  stream(deltas: AsyncIterable<string>): Promise<string>;
  /**
   * Aborts when the person asking stops this answer (Ctrl-C in the
   * terminal), with `stoppedBy.user()` as its reason. Absent where a
   * platform offers no way to stop one.
   */
  readonly signal?: AbortSignal;
}

/** An option of a command, for platforms with slash menus. */
export interface CommandOption {
  name: string;
  description: string;
  required?: boolean;
  /**
   * `user`: someone on the platform (a Discord user picker; the adapter puts
   * `<@id>` in the args and the user in `mentions`). @defaultValue `text`
   */
  kind?: "text" | "user";
  /** Offers completions (persona names) where the platform supports it. */
  autocomplete?: boolean;
}

/** What a command's `run` is handed. */
export interface CommandContext {
  message: IncomingMessage;
  reply: Reply;
  /** Everything after the command name, trimmed. */
  args: string;
  services: import("./services.js").Services;
  /**
   * Aborts when this answer must stop: the person asking stopped it, or the
   * bot is shutting down. Its reason is a `ParleyError` with code `stopped`.
   */
  signal: AbortSignal;
}

/** One module in `commands/`. */
export interface Command {
  name: string;
  description: string;
  /** E.g. `remember <fact>`. */
  usage: string;
  options?: CommandOption[];
  /**
   * Moderator-only outside private chats. A function decides per call, for
   * commands where only some forms are restricted (`persona NAME`).
   */
  moderatorOnly?: boolean | ((args: string) => boolean);
  /**
   * Calls a model (`chat`): counted against the request limits (`perMinute`,
   * `perHour`, `perDay`) rather than the commands' own `commandsPerMinute`.
   */
  callsModel?: boolean;
  /** Offers completions for an option. */
  complete?(services: import("./services.js").Services, option: string, prefix: string): Promise<string[]>;
  /**
   * Resolves `"unanswered"` when the bot could not answer (every model
   * failed, nothing was shown): the user's request is then given back, as
   * it is when `run` throws.
   */
  run(ctx: CommandContext): Promise<void | "unanswered">;
}
