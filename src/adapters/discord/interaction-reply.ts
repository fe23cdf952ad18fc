/**
 * The `Reply` for a slash command. The interaction was deferred the moment
 * it arrived (Discord's three-second deadline); the answer's first message
 * fills in that deferred response, further parts are follow-ups, and a
 * streamed answer grows by edits of those, spaced by the channel's pacer.
 */
import type { ChatInputCommandInteraction } from "discord.js";
import type { Logger } from "pino";
import { ParleyError } from "../../core/errors.js";
import type { Pacer } from "../shared/pacer.js";
import { FIRST_MESSAGE_DELAY_MS, streamLiveMessage } from "../shared/live-message.js";
import { splitMessage } from "../shared/split.js";
import { fromDiscordError, reasonOf } from "./errors.js";
import { DISCORD_MAX_LENGTH } from "./limits.js";
import type { HandledReply } from "./message-reply.js";

/** `@original` for the deferred response, or a follow-up's message id. */
type Handle = string;

/** The `Reply` for one slash command; `finish` removes a deferred response the command never filled. */
export function createInteractionReply(
  interaction: ChatInputCommandInteraction,
  /** Resolves true once the deferral was accepted, false if it was too late. */
  deferred: Promise<boolean>,
  pacer: Pacer,
  log: Logger,
): HandledReply {
  let originalFilled = false;

  async function post(text: string): Promise<Handle> {
    if (!(await deferred)) {
      throw new ParleyError("platform_error", "Discord gave up waiting for this command; please try again.", {
        detail: "the interaction was not acknowledged in time, so it cannot be answered",
      });
    }
    try {
      if (!originalFilled) {
        originalFilled = true;
        await interaction.editReply({ content: text });
        return "@original";
      }
      return (await interaction.followUp({ content: text })).id;
    } catch (error) {
      throw fromDiscordError(error, "answer a slash command");
    }
  }

  return {
    // The deferred response already shows "… is thinking".
    typing() {},
    async send(text) {
      for (const part of splitMessage(text, DISCORD_MAX_LENGTH)) await post(part);
    },
    stream(deltas) {
      return streamLiveMessage(deltas, {
        maxLength: DISCORD_MAX_LENGTH,
        pacer,
        // "… is thinking" is up already: a fast short answer fills it in once, whole, rather than a fragment and an edit.
        firstMessageDelayMs: FIRST_MESSAGE_DELAY_MS,
        send: post,
        async edit(handle, text) {
          try {
            await interaction.editReply({ content: text, message: handle });
          } catch (error) {
            throw fromDiscordError(error, "edit a slash command's answer");
          }
        },
      });
    },
    async finish() {
      // A command that said nothing would leave "is thinking…" up until Discord gives up.
      if (originalFilled || !(await deferred)) return;
      await interaction.deleteReply().catch((error: unknown) => {
        log.debug({ reason: reasonOf(error) }, "discord: could not remove an unused deferred reply");
      });
    },
  };
}
