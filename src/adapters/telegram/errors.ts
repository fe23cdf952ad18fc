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

/**
 * Telegram refused the request itself (400), as it does for formatting it
 * will not take: "can't parse entities", but also other wordings for a link
 * or an entity it dislikes. The same text sent plain is worth one try.
 */
export function isRefusedRequest(error: unknown): boolean {
  return error instanceof GrammyError && error.error_code === 400 && !isNotModified(error);
}

/** An edit that would not change the message: nothing to do. */
export function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && error.error_code === 400 && /message is not modified/i.test(error.description);
}

/** The answer shape of every Bot API call, as far as flood control needs it. */
interface ApiAnswer {
  ok: boolean;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

/**
 * A 429 whose wait is only in its description ("Too Many Requests: retry
 * after 7") gets `parameters.retry_after` filled in, so auto-retry waits it
 * out: Telegram always sends the field, some proxies and servers do not.
 */
export function withRetryAfter<T extends ApiAnswer>(answer: T): T {
  if (answer.ok || answer.error_code !== 429 || typeof answer.parameters?.retry_after === "number") return answer;
  const match = /retry after (\d+)/i.exec(answer.description ?? "");
  if (!match) return answer;
  return { ...answer, parameters: { ...answer.parameters, retry_after: Number(match[1]) } };
}
