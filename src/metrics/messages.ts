/**
 * Counting one message through the dispatcher: which command it became and
 * how it ended. The dispatcher learns both at different moments, so a
 * message is counted by an object it fills in and ends once.
 */
import type { Counter } from "prom-client";
import { isParleyError } from "../core/errors.js";
import type { Platform } from "../core/types.js";

/**
 * How the bot dealt with one addressed message:
 * `answered` (the command ran and answered), `unanswered` (it ran but gave
 * nothing to keep, e.g. an empty model answer; the request was given back),
 * `failed` (an error was answered; its code is in `parley_errors_total`),
 * `stopped` (by the person asking or a shutdown), `limited` (over a rate
 * limit), `forbidden` (a moderator-only command), `rejected` (too long, an
 * unknown command, a bare prefix), `ignored` (access lists or a block).
 */
export type MessageOutcome = "answered" | "unanswered" | "failed" | "stopped" | "limited" | "forbidden" | "rejected" | "ignored";

/** One message being counted. */
export interface CountedMessage {
  /** The command it became: `chat` for plain text, `unknown` for a command the bot does not have, `none` before parsing. */
  command: string;
  /** Counts it with `outcome`; later calls are ignored. */
  end(outcome: MessageOutcome): void;
  /** Counts it as `failed` (or `stopped`) and its error by code. */
  failed(error: unknown): void;
}

export function countMessage(platform: Platform, counters: { messages: Counter; errors: Counter }): CountedMessage {
  let ended = false;
  const counted: CountedMessage = {
    command: "none",
    end(outcome) {
      if (ended) return;
      ended = true;
      counters.messages.inc({ platform, command: counted.command, outcome });
    },
    failed(error) {
      const code = isParleyError(error) ? error.code : "internal";
      if (code === "stopped") return counted.end("stopped");
      if (!ended) counters.errors.inc({ platform, command: counted.command, code });
      counted.end("failed");
    },
  };
  return counted;
}
