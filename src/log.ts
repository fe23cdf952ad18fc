import pino, { type Logger } from "pino";
import { Writable } from "node:stream";
import { prettyLine, type PrettyOptions } from "./log-pretty.js";

export type { Logger };

/** Telegram bot tokens look like `123456:AA…`; they also appear inside API URLs. */
const telegramToken = /(?<![0-9])\d{6,12}:[A-Za-z0-9_-]{30,}/g;
/** Bearer keys such as `sk-…`, `gsk_…`, `sk-or-…`. */
const apiKeyLike = /\b(sk|gsk|sk-or|xai)[-_][A-Za-z0-9_-]{16,}\b/g;

/**
 * Replaces every known secret, and anything shaped like a token, with
 * `[redacted]`. Applied to whole log lines, so no field or error message can
 * slip through.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 6) out = out.split(secret).join("[redacted]");
  }
  return out.replace(telegramToken, "[redacted]").replace(apiKeyLike, "[redacted]");
}

/** How log lines reach a terminal. */
export interface TerminalLogOptions {
  /**
   * One readable line per entry instead of JSON (stderr is a terminal).
   * Stacks only at `debug` or `trace`. @defaultValue false
   */
  pretty?: boolean;
  /** ANSI styling of readable lines. @defaultValue true unless `NO_COLOR` is set */
  color?: boolean;
  /**
   * Runs each readable line's write, so that a console chatting on the same
   * terminal clears its line before and redraws it after (the console
   * adapter's `printAbove`).
   */
  around?: (print: () => void) => void;
}

/**
 * Structured logs on stderr (stdout belongs to the console adapter's answers).
 * `secrets` are the configured tokens and keys. With `pretty`, each line is
 * made readable first and scrubbed after, so formatting cannot bring a
 * secret back.
 */
export function createLogger(
  level: string,
  secrets: readonly string[],
  destination: NodeJS.WritableStream = process.stderr,
  terminal: TerminalLogOptions = {},
): Logger {
  const readable: PrettyOptions = {
    color: terminal.color ?? !process.env.NO_COLOR,
    stacks: level === "debug" || level === "trace",
  };
  const around = terminal.around ?? ((print: () => void) => print());
  const scrubbing = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString("utf8");
      if (!terminal.pretty) {
        destination.write(redactSecrets(text, secrets));
      } else {
        const columns = (destination as { columns?: number }).columns;
        const options = { ...readable, maxChars: columns ? columns - 1 : undefined, scrub: (t: string) => redactSecrets(t, secrets) };
        const lines = text.split("\n").filter((line) => line.length > 0);
        // Scrubbed as JSON too: a secret is found before parsing can unescape or split it.
        const shown = lines.map((line) => prettyLine(redactSecrets(line, secrets), options)).join("\n");
        if (shown) around(() => destination.write(`${shown}\n`));
      }
      callback();
    },
  });
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ["token", "apiKey", "*.token", "*.apiKey", "headers.authorization", "*.headers.authorization"], censor: "[redacted]" },
    },
    scrubbing,
  );
}
