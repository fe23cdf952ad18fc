/**
 * The `Reply` for a message that addressed the bot: the first message of
 * the answer replies to it, longer answers continue in further messages,
 * and a streamed answer grows by edits spaced by the channel's pacer.
 * Mentions in what we send never notify anyone: the client's
 * `allowedMentions` covers every send and edit. Discord's 429s are waited
 * out by discord.js's REST queue, not retried here.
 */
import { DiscordAPIError, RESTJSONErrorCodes, type Message, type SendableChannels } from "discord.js";
import type { Logger } from "pino";
import type { Reply } from "../../core/types.js";
import type { Pacer } from "../shared/pacer.js";
import { FIRST_MESSAGE_DELAY_MS, streamLiveMessage } from "../shared/live-message.js";
import { splitMessage } from "../shared/split.js";
import { createTypingIndicator } from "../shared/typing.js";
import { fromDiscordError, reasonOf } from "./errors.js";
import { DISCORD_MAX_LENGTH, TYPING_RENEW_MS } from "./limits.js";

export interface HandledReply extends Reply {
  /** Handling is over: no more typing. */
  finish(): Promise<void>;
}

/** The `Reply` for one message that addressed the bot; `pacer` is its channel's; typing renewed every `typingEveryMs` (default 8 s). */
export function createMessageReply(source: Message, pacer: Pacer, log: Logger, typingEveryMs = TYPING_RENEW_MS): HandledReply {
  const channel = source.channel as SendableChannels;
  const typing = createTypingIndicator({
    everyMs: typingEveryMs,
    async send() {
      try {
        await channel.sendTyping();
      } catch (error) {
        // A missing indicator is no reason to fail an answer.
        log.debug({ reason: reasonOf(error) }, "discord: typing indicator failed");
      }
    },
  });
  let answered = false;

  /** The answer's first message replies to the user's; the rest follow it. */
  async function post(text: string): Promise<Message> {
    typing.stop();
    try {
      const first = !answered;
      answered = true;
      return first ? await replyOrSend(text) : await channel.send({ content: text });
    } catch (error) {
      throw fromDiscordError(error, "send a message");
    }
  }

  /** Without Read Message History Discord refuses replies (160002); the answer still goes out, as a plain message. */
  async function replyOrSend(text: string): Promise<Message> {
    try {
      return await source.reply({ content: text, failIfNotExists: false });
    } catch (error) {
      if (!(error instanceof DiscordAPIError) || error.code !== RESTJSONErrorCodes.CannotReplyWithoutPermissionToReadMessageHistory) throw error;
      log.warn("discord: cannot reply without Read Message History in this channel; answering without a reply");
      return await channel.send({ content: text });
    }
  }

  return {
    typing: () => typing.start(),
    async send(text) {
      const parts = splitMessage(text, DISCORD_MAX_LENGTH);
      if (parts.length === 0) log.debug("discord: nothing to send (blank text)");
      for (const part of parts) await post(part);
    },
    async stream(deltas) {
      try {
        return await streamLiveMessage(deltas, {
          maxLength: DISCORD_MAX_LENGTH,
          pacer,
          // A fast short answer is posted whole, not as a fragment and an edit 1.2 s later.
          firstMessageDelayMs: FIRST_MESSAGE_DELAY_MS,
          send: post,
          async edit(message, text) {
            try {
              await message.edit({ content: text });
            } catch (error) {
              throw fromDiscordError(error, "edit a message");
            }
          },
        });
      } finally {
        typing.stop();
      }
    },
    async finish() {
      typing.stop();
    },
  };
}
