/**
 * Turns a Telegram message into the core's `IncomingMessage` fields: which
 * channel it belongs to, who wrote it, whether it is for the bot, its text
 * without the bot's mention, and whom it names (mentions, the message it
 * replies to). Decides nothing else.
 */
import type { Message, MessageEntity, User, UserFromGetMe } from "grammy/types";
import type { UserRef } from "../../core/types.js";
import { hasFiles } from "./attachments.js";

/** The Telegram account that posts for a group's anonymous administrators. */
const ANONYMOUS_ADMIN_BOT_ID = 1087968824;

export interface InboundMessage {
  channelKey: string;
  chatId: number;
  /** A forum topic's id, when the message was written in one. */
  threadId?: number;
  isPrivate: boolean;
  title: string;
  /** `telegram:<user id>` */
  authorKey: string;
  authorName: string;
  /** Posted by an anonymous administrator of the group itself. */
  anonymousAdmin: boolean;
  authorId: number;
  text: string;
  addressed: boolean;
  /** People mentioned by a text mention (which carries the user), the bot left out. */
  mentions: UserRef[];
  /** The message this one replies to, when it is a real reply to someone's message. */
  replyTo?: { author: UserRef; text: string };
}

/**
 * Normalises a text message (or a photo, video or file with a caption: the
 * caption is its text), or returns undefined for messages the bot never
 * answers: other bots (and itself), channel posts, and messages without
 * text, except a photo, document, voice message or audio file addressed to
 * the bot (its text is then empty).
 */
export function normaliseMessage(message: Message, me: UserFromGetMe): InboundMessage | undefined {
  const filesOnly = message.text === undefined && message.caption === undefined && hasFiles(message);
  const text = message.text ?? message.caption ?? (filesOnly ? "" : undefined);
  const from = message.from;
  if (text === undefined || from === undefined) return undefined;
  const anonymousAdmin = from.id === ANONYMOUS_ADMIN_BOT_ID && message.sender_chat?.id === message.chat.id;
  if ((from.is_bot && !anonymousAdmin) || from.id === me.id) return undefined;
  // A channel's post, forwarded into its discussion group by Telegram (from "Telegram", 777000, not a bot).
  if (message.sender_chat?.type === "channel" || message.is_automatic_forward) return undefined;

  const chat = message.chat;
  const isPrivate = chat.type === "private";
  const threadId = message.is_topic_message && message.message_thread_id !== undefined ? message.message_thread_id : undefined;
  const entities = (message.text !== undefined ? message.entities : message.caption_entities) ?? [];
  const command = leadingCommand(text, entities);
  const commandForOtherBot = command !== undefined && command.bot !== undefined && command.bot.toLowerCase() !== me.username.toLowerCase();
  const mentions = botMentions(text, entities, me);

  let addressed: boolean;
  if (isPrivate) addressed = !commandForOtherBot;
  else addressed = !commandForOtherBot && (command !== undefined || mentions.length > 0 || isReplyToBot(message, me));
  // A file without a caption in a group is for the bot only when it says so; otherwise it was never the bot's business.
  if (filesOnly && !addressed) return undefined;
  const original = repliedTo(message);

  return {
    channelKey: threadId === undefined ? `telegram:${chat.id}` : `telegram:${chat.id}:${threadId}`,
    chatId: chat.id,
    threadId,
    isPrivate,
    title: chat.type === "private" ? displayName(from) : chat.title,
    authorKey: `telegram:${from.id}`,
    authorName: anonymousAdmin && chat.type !== "private" ? chat.title : displayName(from),
    anonymousAdmin,
    authorId: from.id,
    text: cleanText(text, command, command !== undefined && !commandForOtherBot, mentions),
    addressed,
    mentions: mentionedUsers(entities, me),
    ...(original?.from ? { replyTo: { author: userRef(original.from), text: original.text ?? original.caption ?? "" } } : {}),
  };
}

function userRef(user: User): UserRef {
  return { key: `telegram:${user.id}`, name: displayName(user), ...(user.is_bot ? { bot: true } : {}) };
}

/**
 * Users named by `text_mention` entities (Telegram makes one for a mention of
 * someone without a username), each once, the bot left out. An `@username`
 * mention carries no id, and the Bot API cannot look a username up, so those
 * are not people the core could act on.
 */
function mentionedUsers(entities: readonly MessageEntity[], me: UserFromGetMe): UserRef[] {
  const found = new Map<number, UserRef>();
  for (const entity of entities) {
    if (entity.type !== "text_mention" || entity.user.id === me.id || found.has(entity.user.id)) continue;
    found.set(entity.user.id, userRef(entity.user));
  }
  return [...found.values()];
}

/** First and last name, else the username, else the id. */
export function displayName(user: Pick<User, "first_name" | "last_name" | "username" | "id">): string {
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return name || user.username || `User ${user.id}`;
}

interface LeadingCommand {
  /** Length of `/name@bot` in the text. */
  length: number;
  name: string;
  bot?: string;
}

function leadingCommand(text: string, entities: readonly MessageEntity[]): LeadingCommand | undefined {
  const entity = entities.find((e) => e.type === "bot_command" && e.offset === 0);
  const raw = entity ? text.slice(0, entity.length) : /^\/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?/.exec(text)?.[0];
  if (!raw) return undefined;
  const [name, bot] = raw.slice(1).split("@");
  return { length: raw.length, name: name ?? "", bot };
}

/**
 * Spans of the text that mention this bot (`@username`, or a text mention of
 * its id). Telegram marks every mention with an entity; a message that comes
 * with no entities at all (a proxy or a minimal server that leaves them out)
 * is searched for `@username` itself.
 */
function botMentions(text: string, entities: readonly MessageEntity[], me: UserFromGetMe): Array<{ offset: number; length: number }> {
  const handle = `@${me.username}`.toLowerCase();
  if (entities.length === 0) return handleMentions(text, handle);
  return entities.filter(
    (e) =>
      (e.type === "mention" && text.slice(e.offset, e.offset + e.length).toLowerCase() === handle) ||
      (e.type === "text_mention" && e.user.id === me.id),
  );
}

/** `@username` written as a word of its own (not inside an e-mail address or a longer handle). */
function handleMentions(text: string, handle: string): Array<{ offset: number; length: number }> {
  const found: Array<{ offset: number; length: number }> = [];
  const lower = text.toLowerCase();
  for (let at = lower.indexOf(handle); at >= 0; at = lower.indexOf(handle, at + handle.length)) {
    const before = text[at - 1];
    const after = text[at + handle.length];
    if ((before === undefined || !/[A-Za-z0-9_@.]/.test(before)) && (after === undefined || !/[A-Za-z0-9_]/.test(after))) {
      found.push({ offset: at, length: handle.length });
    }
  }
  return found;
}

/** Replies to the bot address it. */
function isReplyToBot(message: Message, me: UserFromGetMe): boolean {
  return repliedTo(message)?.from?.id === me.id;
}

/**
 * The message this one really replies to. In a forum, Telegram shows every
 * message of a topic as a reply to the topic's first message; that is not one.
 */
function repliedTo(message: Message): Message["reply_to_message"] {
  const original = message.reply_to_message;
  if (!original || (message.is_topic_message && original.message_id === message.message_thread_id)) return undefined;
  return original;
}

/** Drops the bot's `@username` mentions, and `@botname` from a leading command for this bot. */
function cleanText(
  text: string,
  command: LeadingCommand | undefined,
  commandIsOurs: boolean,
  mentions: ReadonlyArray<{ offset: number; length: number }>,
): string {
  let out = "";
  let at = 0;
  const cuts = [...mentions]
    .filter((m) => m.offset > 0 || command === undefined)
    .map((m) => ({ start: m.offset, end: m.offset + m.length, text: "" }));
  if (command?.bot !== undefined && commandIsOurs) cuts.push({ start: 0, end: command.length, text: `/${command.name}` });
  cuts.sort((a, b) => a.start - b.start);
  for (const cut of cuts) {
    if (cut.start < at) continue;
    out += text.slice(at, cut.start) + cut.text;
    at = cut.end;
  }
  out += text.slice(at);
  // "@bot, what is…" → "what is…"; "hey @bot, what…" → "hey, what…"
  return out.replace(/[ \t]{2,}/g, " ").replace(/ +([,.!?;:])/g, "$1").replace(/^\s*[,:]\s*/, "").trim();
}
