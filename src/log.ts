import pino, { type Logger } from "pino";
import { Writable } from "node:stream";

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

/**
 * Structured logs on stderr (stdout belongs to the console adapter's answers).
 * `secrets` are the configured tokens and keys.
 */
export function createLogger(level: string, secrets: readonly string[], destination: NodeJS.WritableStream = process.stderr): Logger {
  const scrubbing = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      destination.write(redactSecrets(chunk.toString("utf8"), secrets));
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
