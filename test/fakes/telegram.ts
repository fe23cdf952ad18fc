/**
 * A fake Telegram Bot API server for tests: the real grammY bot talks to it
 * through `client: { apiRoot }`. It speaks the wire protocol
 * (`POST /bot<token>/<method>`, JSON, form or query parameters, `{ ok, result }`
 * answers), queues updates for long polling (or pushes them to a webhook),
 * records every call, keeps each chat's messages as users would see them, and
 * enforces the rules that break naive bots:
 *
 * - text longer than 4,096 characters after entity parsing → 400 "message is too long"
 * - HTML with unknown, unclosed or mismatched tags, or a bare `<` or `&` → 400 "can't parse entities"
 * - an edit to the same text, entities and markup → 400 "message is not modified"
 * - empty text → 400 "message text is empty"
 * - flood control (see {@link FloodLimits}) → 429 with `retry_after`
 * - a call about a group the bot is not in (never added, left with
 *   `leaveChat`, or removed) → 403 "Forbidden: bot is not a member of the
 *   group chat" (or "… supergroup chat", "bot was kicked from …"); the bot
 *   gets no updates from such a group
 * - a getUpdates while another is open (a second bot instance with the same
 *   token) → the open one ends with 409 "Conflict: terminated by other
 *   getUpdates request…", as Telegram's Bot API server does
 * - an update of a type the bot did not ask for (`allowed_updates` of the
 *   last `getUpdates` or `setWebhook` that gave it; by default everything
 *   but `chat_member` and reactions) is not kept, as Telegram drops it
 *
 * Flood limits are modelled on Telegram's published guidance ("avoid sending
 * more than one message per second in a particular chat"; "bots are not able
 * to send more than 20 messages per minute to the same group"; about 30
 * messages per second overall). Sends and edits count; chat actions do not.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { serveFile, type FileDownload, type FileServing } from "./file-serving.js";

export type { FileDownload, FileServing } from "./file-serving.js";

/** A token bucket: `burst` calls at once, refilled at `perMinute` calls a minute. */
export interface Bucket {
  burst: number;
  perMinute: number;
}

/**
 * Flood limits, per chat plus one for the whole bot.
 * Defaults: private chats burst 3, then 60 a minute (one a second);
 * groups burst 5, then 20 a minute (one every 3 s); overall burst 30, 1,800 a minute (30/s).
 */
export interface FloodLimits {
  private: Bucket;
  group: Bucket;
  global: Bucket;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  private: { burst: 3, perMinute: 60 },
  group: { burst: 5, perMinute: 20 },
  global: { burst: 30, perMinute: 1800 },
};

export const TELEGRAM_MAX_TEXT = 4096;

export interface FakeUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
}

export interface FakeChat {
  id: number;
  type: "private" | "group" | "supergroup" | "channel";
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  is_forum?: true;
}

export interface FakeEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  user?: FakeUser;
}

/** A message as the Bot API shows it (the fields this fake fills in). */
export interface FakeMessage {
  message_id: number;
  date: number;
  chat: FakeChat;
  from?: FakeUser;
  sender_chat?: FakeChat;
  text?: string;
  entities?: FakeEntity[];
  /** A photo's sizes, for a message that is a photo with a caption. */
  photo?: Array<{ file_id: string; file_unique_id: string; width: number; height: number; file_size?: number }>;
  document?: FakeFileRef & { file_name?: string; mime_type?: string };
  voice?: FakeFileRef & { duration: number; mime_type?: string };
  audio?: FakeFileRef & { duration: number; file_name?: string; mime_type?: string };
  caption?: string;
  caption_entities?: FakeEntity[];
  reply_to_message?: FakeMessage;
  message_thread_id?: number;
  is_topic_message?: true;
  /** A channel post Telegram forwarded into the channel's discussion group. */
  is_automatic_forward?: true;
  edit_date?: number;
  reply_markup?: unknown;
}

/** The file fields every Bot API file object has. */
export interface FakeFileRef {
  file_id: string;
  file_unique_id: string;
  file_size?: number;
}

/** A message with files, as a user sends it (see {@link FakeTelegram.sendFiles}). */
export interface FilesInput {
  chatId: number;
  from?: FakeUser;
  /** The caption (mentions and commands get their entities). */
  caption?: string;
  /** Reply to this message (its id in the chat). */
  replyTo?: number;
  /** A photo's sizes, each with its bytes, as Telegram keeps several of one picture. */
  photo?: Array<{ width: number; height: number; bytes: Buffer }>;
  document?: { fileName?: string; mimeType?: string; bytes: Buffer };
  /** A voice message (OGG/Opus). */
  voice?: { bytes: Buffer; durationSec?: number };
  audio?: { fileName?: string; mimeType?: string; bytes: Buffer; durationSec?: number };
}

/** Telegram's `getFile` limit for bots, in bytes. */
export const TELEGRAM_GET_FILE_LIMIT = 20 * 1_048_576;

/** The bot's membership of a chat, as `ChatMember.status` says it. */
export type BotStatus = "member" | "administrator" | "left" | "kicked";

/** A `ChatMember` as the Bot API shows it (the fields this fake fills in). */
export interface FakeChatMember {
  status: BotStatus;
  user: FakeUser;
  until_date?: number;
  can_be_edited?: boolean;
  is_anonymous?: boolean;
  can_manage_chat?: boolean;
  can_delete_messages?: boolean;
}

/** A change of someone's membership of a chat (`my_chat_member` when it is the bot's). */
export interface FakeChatMemberUpdated {
  chat: FakeChat;
  /** Who made the change. */
  from: FakeUser;
  date: number;
  old_chat_member: FakeChatMember;
  new_chat_member: FakeChatMember;
}

export interface FakeUpdate {
  update_id: number;
  message?: FakeMessage;
  edited_message?: FakeMessage;
  channel_post?: FakeMessage;
  edited_channel_post?: FakeMessage;
  my_chat_member?: FakeChatMemberUpdated;
}

/** What Telegram sends when a bot gave no `allowed_updates`: everything but these. */
const NOT_SENT_BY_DEFAULT = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

/** One API call the bot made, with what the fake answered. */
export interface RecordedCall {
  method: string;
  params: Record<string, unknown>;
  /** `Date.now()` when the request arrived. */
  atMs: number;
  status: number;
  response: { ok: boolean; result?: unknown; error_code?: number; description?: string; parameters?: { retry_after?: number } };
}

interface ChatState {
  chat: FakeChat;
  messages: FakeMessage[];
  nextMessageId: number;
  creatorId?: number;
  adminIds: Set<number>;
  bucket: BucketState;
  /** Whether the bot is in the chat; it is in private chats and channels it gets posts from. */
  botStatus: BotStatus;
}

interface BucketState {
  tokens: number;
  updatedAt: number;
}

interface Poller {
  limit: number;
  respond(updates: FakeUpdate[]): void;
  /** Ends the poll with an error instead. */
  fail(error: ApiError): void;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly retryAfterSec?: number,
  ) {
    super(description);
  }
}

export interface FakeTelegramOptions {
  token?: string;
  botId?: number;
  botUsername?: string;
  botFirstName?: string;
  /** `false` turns flood control off. */
  flood?: Partial<FloodLimits> | false;
}

/** Where a pushed message goes and who sends it. */
export interface SayOptions {
  chatId: number;
  from?: FakeUser;
  /** Reply to this message (its id in the chat). */
  replyTo?: number;
  /** Forum topic id. */
  threadId?: number;
  /** Extra entities (mentions and commands are found automatically). */
  entities?: FakeEntity[];
  /** Send a photo with `text` as its caption instead of a text message. */
  asCaption?: boolean;
  /** Leave entities out altogether, as a minimal server or proxy might. */
  withoutEntities?: boolean;
  /**
   * People mentioned by name (as clients do for someone without a username):
   * the first place each one's first name appears in the text becomes a
   * `text_mention` entity carrying the user.
   */
  mentionUsers?: FakeUser[];
}

const BOT_COMMAND = /^\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?/;

export class FakeTelegram {
  readonly token: string;
  readonly bot: FakeUser & { username: string };
  readonly calls: RecordedCall[] = [];
  /** The commands registered with `setMyCommands` (default scope). */
  commands: Array<{ command: string; description: string }> = [];
  webhook: { url: string; secretToken?: string } | undefined;

  private readonly chats = new Map<number, ChatState>();
  private readonly queue: FakeUpdate[] = [];
  private pollers: Poller[] = [];
  private nextUpdateId = 1;
  private readonly flood: FloodLimits | undefined;
  private readonly globalBucket: BucketState;
  private injected: Array<{ method?: string; status: number; description: string; retryAfterSec?: number }> = [];
  private readonly listeners = new Set<() => void>();
  /** Update ids handed to the bot (in a getUpdates answer or a webhook POST it answered). */
  private readonly delivered = new Set<number>();
  /** `chatId:messageId` → the update that carried the message. */
  private readonly updateOf = new Map<string, number>();
  private server: Server | undefined;
  private port = 0;
  private nextUserId = 1000;
  /** The bot's `allowed_updates`; undefined is Telegram's default. */
  private allowedUpdates: string[] | undefined;
  /** Updates Telegram would not have kept: their type was not in `allowed_updates`. */
  readonly droppedUpdates: FakeUpdate[] = [];
  /** Files users sent, by `file_id`, with the `file_path` getFile gives. */
  private readonly files = new Map<string, { bytes: Buffer; path: string; mimeType: string }>();
  private nextFileId = 1;
  /** How the download route sends files now; tests may change it. */
  fileServing: FileServing = {};
  /** `getFile` leaves out `file_size`, as the Bot API may. */
  omitFileSizes = false;
  /** Every file download (`/file/bot<token>/<path>`), in order, with how much was sent. */
  readonly fileDownloads: FileDownload[] = [];

  constructor(opts: FakeTelegramOptions = {}) {
    this.token = opts.token ?? "123456:TEST-token_ABC";
    this.bot = { id: opts.botId ?? 777000111, is_bot: true, first_name: opts.botFirstName ?? "Parley", username: opts.botUsername ?? "parley_test_bot" };
    this.flood = opts.flood === false ? undefined : { ...DEFAULT_FLOOD_LIMITS, ...opts.flood };
    this.globalBucket = { tokens: this.flood?.global.burst ?? 0, updatedAt: Date.now() };
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** The value for grammY's `client.apiRoot`. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `getMe`'s answer, for grammY's `botInfo`. */
  get botInfo() {
    return {
      ...this.bot,
      is_bot: true as const,
      username: this.bot.username ?? "parley_test_bot",
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    };
  }

  async close(): Promise<void> {
    for (const poller of this.pollers) poller.respond([]);
    this.pollers = [];
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- people and chats -------------------------------------------------

  /** A new human user; names default to "User <id>". */
  user(fields: Partial<FakeUser> = {}): FakeUser {
    const id = fields.id ?? this.nextUserId++;
    return { id, is_bot: false, first_name: fields.first_name ?? `User${id}`, ...fields };
  }

  /** The private chat with `user` (its id is the user's id). */
  privateChat(user: FakeUser): FakeChat {
    const chat: FakeChat = { id: user.id, type: "private", first_name: user.first_name };
    if (user.last_name) chat.last_name = user.last_name;
    if (user.username) chat.username = user.username;
    return this.ensureChat(chat).chat;
  }

  /**
   * A group (or supergroup, or forum supergroup) with a creator and
   * administrators. The bot is in it unless `botMember` is false (then
   * {@link addBot} brings it in).
   */
  group(
    opts: { id?: number; title?: string; supergroup?: boolean; forum?: boolean; creator?: FakeUser; admins?: FakeUser[]; botMember?: boolean } = {},
  ): FakeChat {
    const supergroup = opts.supergroup || opts.forum;
    const id = opts.id ?? (supergroup ? -1001000000000 - this.chats.size : -4000000 - this.chats.size);
    const chat: FakeChat = { id, type: supergroup ? "supergroup" : "group", title: opts.title ?? `Group ${id}` };
    if (opts.forum) chat.is_forum = true;
    const state = this.ensureChat(chat);
    if (opts.creator) state.creatorId = opts.creator.id;
    for (const admin of opts.admins ?? []) state.adminIds.add(admin.id);
    if (opts.botMember === false) state.botStatus = "left";
    return state.chat;
  }

  /** The bot's membership of a chat now. */
  botStatus(chatId: number): BotStatus {
    return this.mustChat(chatId).botStatus;
  }

  /**
   * `by` adds the bot to a group it is not in (as a member, or an
   * administrator with `admin`): the bot gets a `my_chat_member` update.
   */
  addBot(chat: FakeChat, by: FakeUser, opts: { admin?: boolean } = {}): FakeUpdate {
    const state = this.mustChat(chat.id);
    if (state.chat.type !== "group" && state.chat.type !== "supergroup") throw new Error("the bot can only be added to a group");
    if (isIn(state.botStatus)) throw new Error(`the bot is already in chat ${chat.id}`);
    this.knownUsers.set(by.id, by);
    return this.changeBotStatus(state, by, opts.admin ? "administrator" : "member");
  }

  /** `by` (an admin) removes the bot from a group: it is kicked, and told by a `my_chat_member` update. */
  removeBot(chat: FakeChat, by: FakeUser): FakeUpdate {
    const state = this.mustChat(chat.id);
    if (!isIn(state.botStatus)) throw new Error(`the bot is not in chat ${chat.id}`);
    this.knownUsers.set(by.id, by);
    return this.changeBotStatus(state, by, "kicked");
  }

  /** Sets who administers a group (the creator stays creator). */
  setAdmins(chatId: number, admins: FakeUser[], creator?: FakeUser): void {
    const state = this.mustChat(chatId);
    state.adminIds = new Set(admins.map((a) => a.id));
    if (creator) state.creatorId = creator.id;
  }

  // ---- updates ----------------------------------------------------------

  /**
   * A user writes `text`; mentions and `/commands` get their entities as
   * Telegram would. In a group the bot is not in, the message is kept (its
   * members see it) but the bot gets no update.
   */
  say(text: string, opts: SayOptions): FakeMessage {
    const state = this.mustChat(opts.chatId);
    const from = opts.from ?? (state.chat.type === "private" ? this.userOfPrivate(state.chat) : this.user());
    const entities = opts.withoutEntities ? [] : [...findEntities(text), ...textMentions(text, opts.mentionUsers ?? []), ...(opts.entities ?? [])];
    entities.sort((a, b) => a.offset - b.offset);
    const message = this.storeMessage(state, { from, text, entities }, opts);
    if (opts.asCaption) {
      delete message.text;
      delete message.entities;
      message.photo = [{ file_id: `photo-${message.message_id}`, file_unique_id: `p${message.message_id}`, width: 640, height: 480 }];
      message.caption = text;
      if (entities.length > 0) message.caption_entities = entities;
    }
    if (isIn(state.botStatus)) this.pushUpdate({ message: clone(message) });
    return message;
  }

  /**
   * A user sends files (a photo in several sizes, a document, a voice
   * message or an audio file), with or without a caption; the bot gets the
   * update as Telegram sends it, with `file_id`s that `getFile` knows.
   */
  sendFiles(input: FilesInput): FakeMessage {
    const state = this.mustChat(input.chatId);
    const from = input.from ?? (state.chat.type === "private" ? this.userOfPrivate(state.chat) : this.user());
    const message = this.storeMessage(state, { from, text: "" }, { chatId: input.chatId, replyTo: input.replyTo });
    delete message.text;
    if (input.caption !== undefined) {
      message.caption = input.caption;
      const entities = findEntities(input.caption);
      if (entities.length > 0) message.caption_entities = entities;
    }
    if (input.photo) {
      message.photo = input.photo.map((size) => ({ ...this.storeFile(size.bytes, "photos", "jpg", "image/jpeg"), width: size.width, height: size.height }));
    }
    if (input.document) {
      const { fileName, mimeType, bytes } = input.document;
      const extension = fileName?.split(".").pop() ?? "bin";
      message.document = { ...this.storeFile(bytes, "documents", extension, mimeType ?? "application/octet-stream"), file_name: fileName, mime_type: mimeType };
    }
    if (input.voice) {
      message.voice = { ...this.storeFile(input.voice.bytes, "voice", "oga", "audio/ogg"), duration: input.voice.durationSec ?? 1, mime_type: "audio/ogg" };
    }
    if (input.audio) {
      const { fileName, mimeType, bytes, durationSec } = input.audio;
      message.audio = { ...this.storeFile(bytes, "music", "mp3", mimeType ?? "audio/mpeg"), duration: durationSec ?? 1, file_name: fileName, mime_type: mimeType };
    }
    if (isIn(state.botStatus)) this.pushUpdate({ message: clone(message) });
    return message;
  }

  private storeFile(bytes: Buffer, folder: string, extension: string, mimeType: string): FakeFileRef {
    const n = this.nextFileId++;
    const fileId = `AgAC-file-${n}`;
    this.files.set(fileId, { bytes, path: `${folder}/file_${n}.${extension}`, mimeType });
    return { file_id: fileId, file_unique_id: `u${n}`, file_size: bytes.length };
  }

  /** `getFile`: where to download a file; Telegram refuses files over 20 MB. */
  private getFile(fileId: string): { file_id: string; file_unique_id: string; file_size?: number; file_path: string } {
    const file = this.files.get(fileId);
    if (!file) throw new ApiError(400, "Bad Request: invalid file_id");
    if (file.bytes.length > TELEGRAM_GET_FILE_LIMIT) throw new ApiError(400, "Bad Request: file is too big");
    const size = this.omitFileSizes ? {} : { file_size: file.bytes.length };
    return { file_id: fileId, file_unique_id: fileId.replace("AgAC-file-", "u"), ...size, file_path: file.path };
  }

  /** The download route, `GET /file/bot<token>/<file_path>`; false for other requests. */
  private serveDownload(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const match = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (!match) return false;
    const file = [...this.files.values()].find((f) => f.path === match[2]);
    if (req.method !== "GET" || match[1] !== this.token || !file) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, error_code: 404, description: "Not Found" }));
      return true;
    }
    void serveFile(res, file.path, file.bytes, file.mimeType, this.fileServing, this.fileDownloads);
    return true;
  }

  /** A message in a private chat from `user`. */
  privateMessage(user: FakeUser, text: string): FakeMessage {
    return this.say(text, { chatId: this.privateChat(user).id, from: user });
  }

  /** A group message; `mention: true` prefixes `@botname ` (with its entity). */
  groupMessage(
    chat: FakeChat,
    from: FakeUser,
    text: string,
    opts: { mention?: boolean; replyTo?: number; threadId?: number; mentionUsers?: FakeUser[] } = {},
  ): FakeMessage {
    const body = opts.mention ? `@${this.bot.username} ${text}` : text;
    return this.say(body, { chatId: chat.id, from, replyTo: opts.replyTo, threadId: opts.threadId, mentionUsers: opts.mentionUsers });
  }

  /** `/cmd args`, or `/cmd@botname args` with `atBot`; `replyTo` makes it a reply to that message. */
  command(
    chat: FakeChat,
    from: FakeUser,
    name: string,
    args = "",
    opts: { atBot?: boolean; threadId?: number; replyTo?: number; mentionUsers?: FakeUser[] } = {},
  ): FakeMessage {
    const head = opts.atBot ? `/${name}@${this.bot.username}` : `/${name}`;
    return this.say(args ? `${head} ${args}` : head, { chatId: chat.id, from, threadId: opts.threadId, replyTo: opts.replyTo, mentionUsers: opts.mentionUsers });
  }

  /** A message from another bot. */
  botMessage(chat: FakeChat, text: string): FakeMessage {
    return this.say(text, { chatId: chat.id, from: this.user({ is_bot: true, first_name: "OtherBot", username: "other_bot" }) });
  }

  /** A user edits one of their messages. */
  editedMessage(chatId: number, messageId: number, text: string): FakeMessage {
    const state = this.mustChat(chatId);
    const message = state.messages.find((m) => m.message_id === messageId);
    if (!message) throw new Error(`no message ${messageId} in chat ${chatId}`);
    message.text = text;
    message.entities = findEntities(text);
    message.edit_date = nowSec();
    this.pushUpdate({ edited_message: clone(message) });
    return message;
  }

  /** A post in a channel the bot is in. */
  channelPost(text: string, channelId = -1009999999999): FakeMessage {
    const state = this.ensureChat({ id: channelId, type: "channel", title: "A channel" });
    const message = this.storeMessage(state, { sender_chat: state.chat, text, entities: findEntities(text) }, { chatId: channelId });
    this.pushUpdate({ channel_post: clone(message) });
    return message;
  }

  /**
   * Queues a raw update (its `update_id` is assigned), unless its type is not
   * in the bot's `allowed_updates`: then it goes to `droppedUpdates`.
   */
  pushUpdate(update: Omit<FakeUpdate, "update_id">): FakeUpdate {
    const full = { update_id: this.nextUpdateId++, ...update } as FakeUpdate;
    if (!this.wanted(full)) {
      this.droppedUpdates.push(full);
      this.notify();
      return full;
    }
    const carried = update.message ?? update.edited_message ?? update.channel_post ?? update.edited_channel_post;
    if (carried) this.updateOf.set(`${carried.chat.id}:${carried.message_id}`, full.update_id);
    this.notify();
    if (this.webhook) {
      void this.deliverToWebhook(full);
      return full;
    }
    this.queue.push(full);
    const pollers = this.pollers;
    this.pollers = [];
    for (const poller of pollers) poller.respond(this.queue.slice(0, poller.limit));
    return full;
  }

  /** Resolves once `update`, or the update carrying `message`, has been handed to the bot. */
  async waitDelivered(messageOrUpdate: FakeMessage | FakeUpdate, timeoutMs = 15_000): Promise<void> {
    const id =
      "update_id" in messageOrUpdate ? messageOrUpdate.update_id : this.updateOf.get(`${messageOrUpdate.chat.id}:${messageOrUpdate.message_id}`);
    if (id === undefined || this.droppedUpdates.some((u) => u.update_id === id)) throw new Error("that message was never pushed as an update");
    await this.waitFor(() => this.delivered.has(id), timeoutMs, `update ${id} to be delivered`);
  }

  /**
   * Resolves once the bot listens for updates: a long poll is open, or a
   * webhook is set. From then on its `allowed_updates` decide what is kept.
   */
  async waitListening(timeoutMs = 15_000): Promise<void> {
    await this.waitFor(() => this.pollers.length > 0 || this.webhook !== undefined, timeoutMs, "the bot to listen for updates");
  }

  /**
   * The queued update carrying `message`, for a test that posts it to a
   * webhook itself (playing the load balancer in front of several).
   */
  pendingUpdateOf(message: FakeMessage): FakeUpdate | undefined {
    const id = this.updateOf.get(`${message.chat.id}:${message.message_id}`);
    return this.queue.find((u) => u.update_id === id);
  }

  /** Updates not yet confirmed by a later `getUpdates` offset. */
  get pendingUpdates(): number {
    return this.queue.length;
  }

  // ---- what the bot did ---------------------------------------------------

  /** Every message in a chat (users' and the bot's), as it reads now. */
  messages(chatId: number, threadId?: number): FakeMessage[] {
    const state = this.chats.get(chatId);
    if (!state) return [];
    return state.messages.filter((m) => threadId === undefined || m.message_thread_id === threadId);
  }

  /** The bot's messages in a chat, as last edited. */
  botMessages(chatId: number, threadId?: number): FakeMessage[] {
    return this.messages(chatId, threadId).filter((m) => m.from?.id === this.bot.id);
  }

  /** The text of the bot's messages in a chat, as users see it now. */
  botTexts(chatId: number, threadId?: number): string[] {
    return this.botMessages(chatId, threadId).map((m) => m.text ?? "");
  }

  /** Calls of one method (optionally to one chat). */
  callsOf(method: string, chatId?: number): RecordedCall[] {
    return this.calls.filter((c) => c.method === method && (chatId === undefined || Number(c.params.chat_id) === chatId));
  }

  /** Answers the next call (of `method`, if given) with 429 and this `retry_after`. */
  inject429(retryAfterSec: number, method?: string): void {
    this.injected.push({ method, status: 429, description: `Too Many Requests: retry after ${retryAfterSec}`, retryAfterSec });
  }

  /** Answers the next call (of `method`, if given) with this error. */
  injectError(status: number, description: string, method?: string): void {
    this.injected.push({ method, status, description });
  }

  /** Resolves once `predicate` holds (checked after every call and update), or rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 15_000, what = "condition"): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, 20);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  // ---- HTTP -----------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.serveDownload(req, res)) return;
    const atMs = Date.now();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    let params: Record<string, unknown> = {};
    try {
      params = { ...Object.fromEntries(url.searchParams), ...(await readBody(req)) };
    } catch {
      return this.answer(res, { method: match?.[2] ?? "?", params, atMs }, new ApiError(400, "Bad Request: invalid request body"));
    }
    if (!match) return this.answer(res, { method: "?", params, atMs }, new ApiError(404, "Not Found"));
    const method = match[2]!;
    const call = { method, params, atMs };
    if (match[1] !== this.token) return this.answer(res, call, new ApiError(401, "Unauthorized"));
    try {
      const injected = this.takeInjected(method);
      if (injected) throw new ApiError(injected.status, injected.description, injected.retryAfterSec);
      if (method === "getUpdates") return await this.getUpdates(req, res, call);
      this.answer(res, call, undefined, this.dispatch(method, params));
    } catch (error) {
      this.answer(res, call, error instanceof ApiError ? error : new ApiError(500, `Internal Server Error: ${String(error)}`));
    }
  }

  private answer(res: ServerResponse, call: { method: string; params: Record<string, unknown>; atMs: number }, error?: ApiError, result?: unknown): void {
    const response: RecordedCall["response"] = error
      ? { ok: false, error_code: error.status, description: error.description, ...(error.retryAfterSec !== undefined ? { parameters: { retry_after: error.retryAfterSec } } : {}) }
      : { ok: true, result };
    const status = error?.status ?? 200;
    this.calls.push({ ...call, status, response });
    if (!res.destroyed) {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(response));
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private takeInjected(method: string) {
    if (method === "getUpdates" && !this.injected.some((i) => i.method === "getUpdates")) return undefined;
    const index = this.injected.findIndex((i) => i.method === undefined || i.method === method);
    if (index < 0) return undefined;
    return this.injected.splice(index, 1)[0];
  }

  private async getUpdates(req: IncomingMessage, res: ServerResponse, call: { method: string; params: Record<string, unknown>; atMs: number }): Promise<void> {
    if (this.webhook) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    }
    // Telegram keeps one getUpdates per bot: a new one ends the one still open.
    const open = this.pollers;
    this.pollers = [];
    for (const poller of open) {
      poller.fail(new ApiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"));
    }
    this.takeAllowedUpdates(call.params.allowed_updates);
    const offset = num(call.params.offset) ?? 0;
    const limit = Math.min(100, Math.max(1, num(call.params.limit) ?? 100));
    const timeoutSec = num(call.params.timeout) ?? 0;
    // A positive offset confirms every update before it.
    if (offset > 0) while (this.queue.length > 0 && this.queue[0]!.update_id < offset) this.queue.shift();
    if (this.queue.length > 0 || timeoutSec <= 0) return this.answerUpdates(res, call, this.queue.slice(0, limit));
    await new Promise<void>((resolve) => {
      const poller: Poller = {
        limit,
        respond: (updates) => {
          clearTimeout(timer);
          this.answerUpdates(res, call, updates);
          resolve();
        },
        fail: (error) => {
          clearTimeout(timer);
          this.answer(res, call, error);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.pollers = this.pollers.filter((p) => p !== poller);
        poller.respond([]);
      }, timeoutSec * 1000);
      // The bot stopped polling: forget this request.
      res.on("close", () => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          this.pollers = this.pollers.filter((p) => p !== poller);
          resolve();
        }
      });
      this.pollers.push(poller);
      this.notify();
    });
  }

  private answerUpdates(res: ServerResponse, call: { method: string; params: Record<string, unknown>; atMs: number }, updates: FakeUpdate[]): void {
    if (!res.destroyed) for (const update of updates) this.delivered.add(update.update_id);
    this.answer(res, call, undefined, updates);
  }

  /** Webhook answers, newest last: status and the update they carried. */
  readonly webhookDeliveries: Array<{ updateId: number; status: number }> = [];

  private async deliverToWebhook(update: FakeUpdate): Promise<void> {
    const webhook = this.webhook;
    if (!webhook) return;
    const body = JSON.stringify(update);
    await new Promise<void>((resolve) => {
      const req = httpRequest(
        webhook.url,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            ...(webhook.secretToken ? { "x-telegram-bot-api-secret-token": webhook.secretToken } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            this.webhookDeliveries.push({ updateId: update.update_id, status: res.statusCode ?? 0 });
            if (res.statusCode === 200) this.delivered.add(update.update_id);
            this.notify();
            resolve();
          });
        },
      );
      req.on("error", () => resolve());
      req.end(body);
    });
  }

  // ---- methods ----------------------------------------------------------------

  private dispatch(method: string, p: Record<string, unknown>): unknown {
    switch (method) {
      case "getMe":
        return this.botInfo;
      case "logOut":
      case "close":
        return true;
      case "deleteWebhook":
        this.webhook = undefined;
        if (p.drop_pending_updates === true || p.drop_pending_updates === "true") this.queue.length = 0;
        return true;
      case "setWebhook": {
        const url = str(p.url);
        if (!url) {
          this.webhook = undefined;
          return true;
        }
        if (!/^https?:\/\//.test(url)) throw new ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
        const secret = p.secret_token === undefined ? undefined : str(p.secret_token);
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw new ApiError(400, "Bad Request: secret token contains unallowed characters");
        this.webhook = { url, secretToken: secret };
        this.takeAllowedUpdates(p.allowed_updates);
        return true;
      }
      case "getWebhookInfo":
        return { url: this.webhook?.url ?? "", has_custom_certificate: false, pending_update_count: this.queue.length };
      case "setMyCommands":
        return this.setMyCommands(p);
      case "getMyCommands":
        return this.commands;
      case "deleteMyCommands":
        this.commands = [];
        return true;
      case "sendChatAction":
        this.mustBeIn(this.mustChat(num(p.chat_id)));
        if (!str(p.action)) throw new ApiError(400, "Bad Request: wrong parameter action in request");
        return true;
      case "sendMessage":
        return this.sendMessage(p);
      case "editMessageText":
        return this.editMessageText(p);
      case "getChat":
        return this.mustChat(num(p.chat_id)).chat;
      case "getChatAdministrators":
        return this.getChatAdministrators(num(p.chat_id));
      case "getChatMember":
        return this.getChatMember(num(p.chat_id), num(p.user_id));
      case "leaveChat":
        return this.leaveChat(num(p.chat_id));
      case "getFile":
        return this.getFile(str(p.file_id));
      default:
        throw new ApiError(404, "Not Found: method not found");
    }
  }

  private setMyCommands(p: Record<string, unknown>): true {
    const commands = parseJson(p.commands);
    if (!Array.isArray(commands)) throw new ApiError(400, "Bad Request: can't parse commands JSON object");
    if (commands.length > 100) throw new ApiError(400, "Bad Request: too many commands");
    for (const c of commands as Array<{ command?: unknown; description?: unknown }>) {
      if (typeof c.command !== "string" || !/^[a-z0-9_]{1,32}$/.test(c.command)) throw new ApiError(400, "Bad Request: BOT_COMMAND_INVALID");
      if (typeof c.description !== "string" || c.description.length < 1 || c.description.length > 256) {
        throw new ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID");
      }
    }
    if (p.scope === undefined && p.language_code === undefined) {
      this.commands = (commands as Array<{ command: string; description: string }>).map((c) => ({ command: c.command, description: c.description }));
    }
    return true;
  }

  private sendMessage(p: Record<string, unknown>): FakeMessage {
    const state = this.mustBeIn(this.mustChat(num(p.chat_id)));
    const content = this.parseText(p);
    const threadId = num(p.message_thread_id);
    if (threadId !== undefined && !state.chat.is_forum) throw new ApiError(400, "Bad Request: message thread not found");
    const replyParams = (parseJson(p.reply_parameters) ?? {}) as { message_id?: unknown; allow_sending_without_reply?: unknown };
    const replyToId = num(replyParams.message_id) ?? num(p.reply_to_message_id);
    if (replyToId !== undefined && !state.messages.some((m) => m.message_id === replyToId) && replyParams.allow_sending_without_reply !== true) {
      throw new ApiError(400, "Bad Request: message to be replied not found");
    }
    this.takeFloodToken(state);
    const markup = parseJson(p.reply_markup);
    return clone(
      this.storeMessage(state, { from: this.bot, ...content, ...(markup ? { reply_markup: markup } : {}) }, { chatId: state.chat.id, replyTo: replyToId, threadId }),
    );
  }

  private editMessageText(p: Record<string, unknown>): FakeMessage {
    if (p.inline_message_id !== undefined) throw new ApiError(400, "Bad Request: inline messages are not supported by this fake");
    const state = this.mustBeIn(this.mustChat(num(p.chat_id)));
    const message = state.messages.find((m) => m.message_id === num(p.message_id));
    if (!message) throw new ApiError(400, "Bad Request: message to edit not found");
    if (message.from?.id !== this.bot.id) throw new ApiError(400, "Bad Request: message can't be edited");
    const content = this.parseText(p);
    const markup = parseJson(p.reply_markup);
    const same =
      message.text === content.text &&
      JSON.stringify(message.entities ?? []) === JSON.stringify(content.entities ?? []) &&
      JSON.stringify(message.reply_markup ?? null) === JSON.stringify(markup ?? null);
    if (same) {
      throw new ApiError(
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
      );
    }
    this.takeFloodToken(state);
    message.text = content.text;
    if (content.entities) message.entities = content.entities;
    else delete message.entities;
    if (markup) message.reply_markup = markup;
    else delete message.reply_markup;
    message.edit_date = nowSec();
    return clone(message);
  }

  /** Validates and parses `text` with its `parse_mode`, as Telegram does before sending. */
  private parseText(p: Record<string, unknown>): { text: string; entities?: FakeEntity[] } {
    const raw = p.text === undefined ? "" : String(p.text);
    const mode = p.parse_mode === undefined ? "" : String(p.parse_mode);
    let parsed: { text: string; entities: FakeEntity[] };
    if (mode === "") parsed = { text: raw, entities: (parseJson(p.entities) as FakeEntity[] | undefined) ?? [] };
    else if (mode.toLowerCase() === "html") parsed = parseTelegramHtml(raw);
    else throw new ApiError(400, `Bad Request: unsupported parse_mode "${mode}" in this fake`);
    const trimmed = trimWithEntities(parsed);
    if (trimmed.text.length === 0) throw new ApiError(400, "Bad Request: message text is empty");
    if (trimmed.text.length > TELEGRAM_MAX_TEXT) throw new ApiError(400, "Bad Request: message is too long");
    return trimmed.entities.length > 0 ? trimmed : { text: trimmed.text };
  }

  private takeFloodToken(state: ChatState): void {
    const flood = this.flood;
    if (!flood) return;
    const chatBucket = state.chat.type === "private" ? flood.private : flood.group;
    const now = Date.now();
    const waitChat = bucketWaitMs(state.bucket, chatBucket, now);
    const waitGlobal = bucketWaitMs(this.globalBucket, flood.global, now);
    const waitMs = Math.max(waitChat, waitGlobal);
    if (waitMs > 0) {
      const retryAfterSec = Math.max(1, Math.ceil(waitMs / 1000));
      throw new ApiError(429, `Too Many Requests: retry after ${retryAfterSec}`, retryAfterSec);
    }
    state.bucket.tokens -= 1;
    this.globalBucket.tokens -= 1;
  }

  private getChatAdministrators(chatId: number | undefined): unknown[] {
    const state = this.mustBeIn(this.mustChat(chatId));
    if (state.chat.type === "private") throw new ApiError(400, "Bad Request: there are no administrators in the private chat");
    const members: unknown[] = [];
    if (state.creatorId !== undefined) members.push({ status: "creator", user: this.userById(state.creatorId), is_anonymous: false });
    for (const id of state.adminIds) {
      if (id === state.creatorId) continue;
      members.push({ status: "administrator", user: this.userById(id), can_be_edited: false, is_anonymous: false, can_manage_chat: true, can_delete_messages: true });
    }
    return members;
  }

  private getChatMember(chatId: number | undefined, userId: number | undefined): unknown {
    const state = this.mustBeIn(this.mustChat(chatId));
    if (userId === undefined) throw new ApiError(400, "Bad Request: user not found");
    const user = this.userById(userId);
    if (state.chat.type === "private") return { status: userId === state.chat.id || userId === this.bot.id ? "member" : "left", user };
    if (userId === state.creatorId) return { status: "creator", user, is_anonymous: false };
    if (state.adminIds.has(userId)) return { status: "administrator", user, can_be_edited: false, is_anonymous: false };
    return { status: "member", user };
  }

  /** The bot leaves a group; Telegram tells it with a `my_chat_member` update of its own. */
  private leaveChat(chatId: number | undefined): true {
    const state = this.mustChat(chatId);
    if (state.chat.type === "private") throw new ApiError(400, "Bad Request: chat member status can't be changed in private chats");
    this.mustBeIn(state);
    this.changeBotStatus(state, this.bot, "left");
    return true;
  }

  // ---- state helpers ------------------------------------------------------------

  /** Records the bot's new membership and tells it with a `my_chat_member` update. */
  private changeBotStatus(state: ChatState, by: FakeUser, status: BotStatus): FakeUpdate {
    const change: FakeChatMemberUpdated = {
      chat: state.chat,
      from: by,
      date: nowSec(),
      old_chat_member: this.botAsMember(state.botStatus),
      new_chat_member: this.botAsMember(status),
    };
    state.botStatus = status;
    return this.pushUpdate({ my_chat_member: clone(change) });
  }

  private botAsMember(status: BotStatus): FakeChatMember {
    const member: FakeChatMember = { status, user: this.bot };
    if (status === "kicked") member.until_date = 0;
    if (status === "administrator") Object.assign(member, { can_be_edited: false, is_anonymous: false, can_manage_chat: true, can_delete_messages: true });
    return member;
  }

  /** Telegram answers calls about a group the bot is not in with 403. */
  private mustBeIn(state: ChatState): ChatState {
    if (isIn(state.botStatus)) return state;
    const kind = state.chat.type === "supergroup" ? "supergroup chat" : state.chat.type === "channel" ? "channel chat" : "group chat";
    throw new ApiError(403, state.botStatus === "kicked" ? `Forbidden: bot was kicked from the ${kind}` : `Forbidden: bot is not a member of the ${kind}`);
  }

  /** `allowed_updates` as a call gave it: a list sets it (an empty one means the default); absent keeps the last. */
  private takeAllowedUpdates(value: unknown): void {
    const list = parseJson(value);
    if (!Array.isArray(list)) return;
    this.allowedUpdates = list.length === 0 ? undefined : list.map(String);
  }

  private wanted(update: FakeUpdate): boolean {
    const type = Object.keys(update).find((k) => k !== "update_id");
    if (type === undefined) return true;
    return this.allowedUpdates ? this.allowedUpdates.includes(type) : !NOT_SENT_BY_DEFAULT.has(type);
  }

  private readonly knownUsers = new Map<number, FakeUser>();

  private userById(id: number): FakeUser {
    if (id === this.bot.id) return this.bot;
    return this.knownUsers.get(id) ?? { id, is_bot: false, first_name: `User${id}` };
  }

  private userOfPrivate(chat: FakeChat): FakeUser {
    return this.knownUsers.get(chat.id) ?? { id: chat.id, is_bot: false, first_name: chat.first_name ?? `User${chat.id}` };
  }

  private ensureChat(chat: FakeChat): ChatState {
    let state = this.chats.get(chat.id);
    if (!state) {
      const burst = this.flood ? (chat.type === "private" ? this.flood.private.burst : this.flood.group.burst) : 0;
      state = { chat, messages: [], nextMessageId: 1, adminIds: new Set(), bucket: { tokens: burst, updatedAt: Date.now() }, botStatus: "member" };
      this.chats.set(chat.id, state);
    }
    return state;
  }

  private mustChat(chatId: number | undefined): ChatState {
    const state = chatId === undefined ? undefined : this.chats.get(chatId);
    if (!state) throw new ApiError(400, "Bad Request: chat not found");
    return state;
  }

  private storeMessage(
    state: ChatState,
    content: { from?: FakeUser; sender_chat?: FakeChat; text: string; entities?: FakeEntity[]; reply_markup?: unknown },
    where: { chatId: number; replyTo?: number; threadId?: number },
  ): FakeMessage {
    if (content.from && content.from.id !== this.bot.id) this.knownUsers.set(content.from.id, content.from);
    const message: FakeMessage = { message_id: state.nextMessageId++, date: nowSec(), chat: state.chat, text: content.text };
    if (content.from) message.from = content.from;
    if (content.sender_chat) message.sender_chat = content.sender_chat;
    if (content.entities && content.entities.length > 0) message.entities = content.entities;
    if (content.reply_markup) message.reply_markup = content.reply_markup;
    if (where.threadId !== undefined) {
      message.message_thread_id = where.threadId;
      message.is_topic_message = true;
    }
    if (where.replyTo !== undefined) {
      const original = state.messages.find((m) => m.message_id === where.replyTo);
      if (original) {
        const { reply_to_message: _nested, ...flat } = original;
        message.reply_to_message = clone(flat);
      }
    }
    state.messages.push(message);
    return message;
  }
}

// ---- Telegram HTML ------------------------------------------------------------------

const SIMPLE_TAGS: Record<string, string> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
};

const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

/**
 * Parses Telegram's HTML dialect into text and entities, failing like
 * Telegram does ("can't parse entities: …") on anything it would refuse.
 */
export function parseTelegramHtml(html: string): { text: string; entities: FakeEntity[] } {
  const fail = (why: string): never => {
    throw new ApiError(400, `Bad Request: can't parse entities: ${why}`);
  };
  let text = "";
  const entities: FakeEntity[] = [];
  const open: Array<{ tag: string; entity: FakeEntity; at: number }> = [];
  let i = 0;
  while (i < html.length) {
    const ch = html[i]!;
    if (ch === "&") {
      const m = /^&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|([a-zA-Z]+));/.exec(html.slice(i, i + 12));
      if (!m) fail(`Character '&' is reserved and must be escaped as &amp; at byte offset ${byteOffset(html, i)}`);
      const decoded = m![1] ? String.fromCodePoint(Number(m![1])) : m![2] ? String.fromCodePoint(parseInt(m![2], 16)) : NAMED_ENTITIES[m![3]!];
      if (decoded === undefined) fail(`Unsupported HTML entity "&${m![3]};" at byte offset ${byteOffset(html, i)}`);
      text += decoded;
      i += m![0].length;
      continue;
    }
    if (ch === ">") {
      // Telegram accepts a bare '>' in text.
      text += ch;
      i += 1;
      continue;
    }
    if (ch !== "<") {
      text += ch;
      i += 1;
      continue;
    }
    const close = html.indexOf(">", i);
    if (close < 0) fail(`Unclosed start tag at byte offset ${byteOffset(html, i)}`);
    const inner = html.slice(i + 1, close);
    if (inner.startsWith("/")) {
      const name = inner.slice(1).trim().toLowerCase();
      const top = open.pop();
      if (!top) fail(`Unexpected end tag at byte offset ${byteOffset(html, i)}`);
      if (top!.tag !== name) fail(`Unmatched end tag at byte offset ${byteOffset(html, i)}, expected "</${top!.tag}>", found "</${name}>"`);
      top!.entity.length = text.length - top!.at;
      if (top!.entity.length > 0) entities.push(top!.entity);
      i = close + 1;
      continue;
    }
    const tagMatch = /^([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))*)\s*$/.exec(inner);
    if (!tagMatch) fail(`Unexpected end of name token at byte offset ${byteOffset(html, i + 1)}`);
    const name = tagMatch![1]!.toLowerCase();
    const attrs = parseAttributes(tagMatch![2] ?? "");
    let entity: FakeEntity;
    if (name === "a") {
      const href = attrs.href;
      if (!href) fail(`Can't find href attribute in tag "a" at byte offset ${byteOffset(html, i)}`);
      entity = { type: "text_link", offset: text.length, length: 0, url: href! };
    } else if (name === "span") {
      if (attrs.class !== "tg-spoiler") fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(html, i)}`);
      entity = { type: "spoiler", offset: text.length, length: 0 };
    } else if (SIMPLE_TAGS[name]) {
      entity = { type: SIMPLE_TAGS[name]!, offset: text.length, length: 0 };
      if (name === "code" && open.at(-1)?.tag === "pre" && attrs.class?.startsWith("language-")) {
        const pre = open.at(-1)!.entity;
        pre.language = attrs.class.slice("language-".length);
      }
    } else {
      fail(`Unsupported start tag "${name}" at byte offset ${byteOffset(html, i)}`);
    }
    open.push({ tag: name, entity: entity!, at: text.length });
    i = close + 1;
  }
  if (open.length > 0) fail(`Can't find end tag corresponding to start tag "${open.at(-1)!.tag}"`);
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text, entities };
}

function parseAttributes(source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of source.matchAll(/([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g)) {
    const value = m[2] ?? m[3] ?? m[4] ?? "";
    attrs[m[1]!.toLowerCase()] = value.replace(/&(lt|gt|amp|quot);/g, (_all, name: string) => NAMED_ENTITIES[name] ?? "");
  }
  return attrs;
}

function byteOffset(s: string, index: number): number {
  return Buffer.byteLength(s.slice(0, index));
}

/** Telegram trims surrounding whitespace from message text. */
function trimWithEntities(parsed: { text: string; entities: FakeEntity[] }): { text: string; entities: FakeEntity[] } {
  const lead = parsed.text.length - parsed.text.trimStart().length;
  const text = parsed.text.trim();
  const entities = parsed.entities
    .map((e) => {
      const start = Math.max(0, e.offset - lead);
      const end = Math.min(text.length, e.offset + e.length - lead);
      return { ...e, offset: start, length: end - start };
    })
    .filter((e) => e.length > 0);
  return { text, entities };
}

/** Mentions and bot commands, found as Telegram's clients mark them. */
function findEntities(text: string): FakeEntity[] {
  const entities: FakeEntity[] = [];
  const command = BOT_COMMAND.exec(text);
  if (command) entities.push({ type: "bot_command", offset: 0, length: command[0].length });
  for (const m of text.matchAll(/(^|[^A-Za-z0-9_/])(@[A-Za-z0-9_]{5,32})/g)) {
    entities.push({ type: "mention", offset: (m.index ?? 0) + m[1]!.length, length: m[2]!.length });
  }
  return entities;
}

/** `text_mention` entities for people named in the text by their first name. */
function textMentions(text: string, users: readonly FakeUser[]): FakeEntity[] {
  const entities: FakeEntity[] = [];
  for (const user of users) {
    const at = text.indexOf(user.first_name);
    if (at < 0) throw new Error(`"${user.first_name}" does not appear in "${text}"`);
    entities.push({ type: "text_mention", offset: at, length: user.first_name.length, user: clone(user) });
  }
  return entities;
}

// ---- small helpers --------------------------------------------------------------------

function isIn(status: BotStatus): boolean {
  return status === "member" || status === "administrator";
}

function bucketWaitMs(state: BucketState, bucket: Bucket, now: number): number {
  const perMs = bucket.perMinute / 60_000;
  state.tokens = Math.min(bucket.burst, state.tokens + (now - state.updatedAt) * perMs);
  state.updatedAt = now;
  return state.tokens >= 1 ? 0 : (1 - state.tokens) / perMs;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  if (raw === "") return {};
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/json")) return JSON.parse(raw) as Record<string, unknown>;
  if (type.includes("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(raw));
  if (type.includes("multipart/form-data")) return parseMultipart(raw, type);
  throw new Error("unsupported content type");
}

/** Text fields of a multipart body (files are not needed by these tests). */
function parseMultipart(raw: string, type: string): Record<string, unknown> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) throw new Error("multipart without boundary");
  const fields: Record<string, unknown> = {};
  for (const part of raw.split(`--${marker}`)) {
    const name = /name="([^"]+)"/.exec(part)?.[1];
    const bodyAt = part.indexOf("\r\n\r\n");
    if (!name || bodyAt < 0 || /filename=/.test(part.slice(0, bodyAt))) continue;
    fields[name] = part.slice(bodyAt + 4).replace(/\r\n$/, "");
  }
  return fields;
}

/** Form fields arrive as strings; objects may arrive JSON-encoded. */
function parseJson(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

function str(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Starts a fake Telegram Bot API server on 127.0.0.1, port 0. */
export async function startFakeTelegram(opts: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  return new FakeTelegram(opts).start();
}
