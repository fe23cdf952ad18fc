/**
 * The `Reply` for one Telegram message: typing while the model thinks,
 * plain answers, and streamed answers rendered as Telegram HTML, all paced
 * per chat so that a long answer never trips flood control.
 */
import type { Api } from "grammy";
import type { Reply } from "../../core/types.js";
import { FIRST_MESSAGE_DELAY_MS, streamLiveMessage, type LiveMessageTarget } from "../shared/live-message.js";
import type { Pacer } from "../shared/pacer.js";
import { createTypingIndicator } from "../shared/typing.js";
import { isNotModified, isRefusedRequest } from "./errors.js";
import { defuseMentions, markdownToTelegramHtml, visibleText } from "./format.js";

/** Telegram's limit on a message's text, in UTF-16 code units after entity parsing. */
export const TELEGRAM_MAX_LENGTH = 4096;

/** Telegram shows "typing…" for about 5 s; re-send a little before it fades. */
const TYPING_EVERY_MS = 4_000;

/** Where a reply goes. */
export interface ReplyPlace {
  chatId: number;
  /** Forum topic to answer in. */
  threadId?: number;
  /** The message that addressed the bot; the answer's first message replies to it. */
  replyToMessageId?: number;
}

export interface TelegramReply extends Reply {
  /** Ends the reply: stops typing (the dispatcher is done with this message). */
  finish(): void;
}

export interface ReplyDeps {
  api: Api;
  /** Spaces every call into this chat (shared with other replies there). */
  pacer: Pacer;
  /** Re-send interval of "typing…", in milliseconds. @defaultValue 4_000 */
  typingEveryMs?: number;
  /** Called when a send or edit had to fall back to plain text, or typing failed. */
  onWarning(event: string, error: unknown): void;
  /** Converts grammY's error from a send or edit into the core's error (token removed). */
  platformError(error: unknown): Error;
}

/** The `Reply` for one message; `finish` stops typing once the dispatcher is done with it. */
export function createTelegramReply(place: ReplyPlace, deps: ReplyDeps): TelegramReply {
  const { api } = deps;
  const thread = place.threadId === undefined ? {} : { message_thread_id: place.threadId };
  let repliedYet = false;
  const typing = createTypingIndicator({
    everyMs: deps.typingEveryMs ?? TYPING_EVERY_MS,
    send: async () => {
      try {
        await api.sendChatAction(place.chatId, "typing", thread);
      } catch (error) {
        deps.onWarning("typing action failed", error);
      }
    },
  });

  /** Sends one part; only the reply's first message is a reply to the user's message. */
  const sendPart = async (text: string, html: boolean): Promise<number> => {
    // `reply_parameters` is what Telegram reads; the older `reply_to_message_id` is ignored beside it
    // but keeps the answer a reply on Bot API servers (and proxies) that predate Bot API 7.0.
    const replyTo =
      !repliedYet && place.replyToMessageId !== undefined
        ? {
            reply_parameters: { message_id: place.replyToMessageId, allow_sending_without_reply: true },
            reply_to_message_id: place.replyToMessageId,
          }
        : {};
    const message = await api.sendMessage(place.chatId, html ? text : defuseMentions(text), {
      ...thread,
      ...replyTo,
      ...(html ? { parse_mode: "HTML" as const } : {}),
      link_preview_options: { is_disabled: true },
    });
    repliedYet = true;
    typing.stop();
    lastSent.set(message.message_id, `${html ? "html" : "plain"}:${text.trim()}`);
    return message.message_id;
  };

  /** What each message last showed, as sent (Telegram trims it): the same again would change nothing. */
  const lastSent = new Map<number, string>();

  const editPart = async (messageId: number, text: string, html: boolean): Promise<void> => {
    const payload = `${html ? "html" : "plain"}:${text.trim()}`;
    if (lastSent.get(messageId) === payload) return;
    try {
      await api.editMessageText(place.chatId, messageId, html ? text : defuseMentions(text), {
        ...(html ? { parse_mode: "HTML" as const } : {}),
        link_preview_options: { is_disabled: true },
      });
    } catch (error) {
      if (!isNotModified(error)) throw error;
    }
    lastSent.set(messageId, payload);
  };

  /** Renders Markdown; falls back to the text itself when Telegram refuses the HTML. */
  const formatted = async <T>(markdown: string, call: (text: string, html: boolean) => Promise<T>): Promise<T> => {
    const html = markdownToTelegramHtml(markdown);
    const shown = visibleText(html);
    // Nothing visible yet (an opening code fence) or longer than allowed: say it plainly.
    if (shown.trim() === "" || shown.length > TELEGRAM_MAX_LENGTH) return call(markdown, false);
    try {
      return await call(html, true);
    } catch (error) {
      if (!isRefusedRequest(error)) throw error;
      deps.onWarning("Telegram refused the formatted text; sent as plain text", error);
      return call(markdown, false);
    }
  };

  const converted = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw deps.platformError(error);
    }
  };

  const target = (html: boolean): LiveMessageTarget<number> => ({
    maxLength: TELEGRAM_MAX_LENGTH,
    pacer: deps.pacer,
    // A fast short answer goes out whole rather than as a fragment and an edit seconds later (groups edit every 3 s).
    firstMessageDelayMs: html ? FIRST_MESSAGE_DELAY_MS : 0,
    // Answers following each other in one chat stay an interval apart too (groups: 20 messages a minute).
    paceFirstMessage: true,
    send: (text) => converted(() => (html ? formatted(text, (t, h) => sendPart(t, h)) : sendPart(text, false))),
    edit: (id, text) => converted(() => (html ? formatted(text, (t, h) => editPart(id, t, h)) : editPart(id, text, false))),
  });

  return {
    typing: () => typing.start(),
    async send(text) {
      try {
        await streamLiveMessage(once(text), target(false));
      } finally {
        typing.stop();
      }
    },
    async stream(deltas) {
      try {
        return await streamLiveMessage(deltas, target(true));
      } finally {
        typing.stop();
      }
    },
    finish: () => typing.stop(),
  };
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}
