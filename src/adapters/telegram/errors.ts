/**
 * What the adapter needs to know about grammY's errors, and how to log them
 * without the bot token: grammY's `HttpError` wraps a fetch error whose
 * message holds the request URL, and that URL contains the token.
 */
import { GrammyError, HttpError } from "grammy";

/** Replaces every occurrence of the token (and the `bot<token>` URL segment) with a marker. */
export function redact(text: string, token: string): string {
  if (!token) return text;
  return text.split(token).join("<redacted>");
}

/** A loggable description of an error from grammY, with the token removed. */
export function describeError(error: unknown, token: string): { name: string; message: string; code?: number; description?: string } {
  if (error instanceof GrammyError) {
    return { name: error.name, message: redact(error.message, token), code: error.error_code, description: redact(error.description, token) };
  }
  if (error instanceof HttpError) {
    const inner = error.error instanceof Error ? `: ${error.error.message}` : "";
    return { name: error.name, message: redact(error.message + inner, token) };
  }
  if (error instanceof Error) return { name: error.name, message: redact(error.message, token) };
  return { name: "Error", message: redact(String(error), token) };
}

/** An `Error` with the same name and message as grammY's, token removed, safe to keep as a `cause`. */
export function safeError(error: unknown, token: string): Error {
  const { name, message } = describeError(error, token);
  return Object.assign(new Error(message), { name });
}

/** Telegram could not parse the HTML entities of a text it was sent. */
export function isEntityParseError(error: unknown): boolean {
  return error instanceof GrammyError && error.error_code === 400 && /can't parse entities/i.test(error.description);
}

/** An edit that would not change the message: nothing to do. */
export function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && error.error_code === 400 && /message is not modified/i.test(error.description);
}
