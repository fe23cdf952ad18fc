/**
 * What can go wrong getting a model file, as ParleyErrors. `message` (for
 * logs and the terminal) names the model as given, a URL without its query
 * string (where signed links keep their tokens); `userMessage` (for chat
 * users) names nothing.
 */
import { ParleyError, type ErrorCode } from "../../core/errors.js";

/** A URL as it may be shown: origin and path, never the query string or credentials. */
export function shownUrl(ref: string): string {
  try {
    const url = new URL(ref);
    if (url.protocol !== "http:" && url.protocol !== "https:") return ref;
    return `${url.origin}${url.pathname}`;
  } catch {
    return ref;
  }
}

/** A failure getting the model `ref`: `problem` says what went wrong, after the model's name. */
export function modelFileError(
  code: ErrorCode,
  ref: string,
  problem: string,
  options: { retryable?: boolean; cause?: unknown } = {},
): ParleyError {
  const userMessage =
    code === "stopped" ? "The model download was stopped." : "The model file could not be downloaded or read; the bot's log says why.";
  return new ParleyError(code, userMessage, { ...options, detail: `${shownUrl(ref)}: ${problem}` });
}

/** Converts what `fetch` threw (refused, DNS, reset, our own abort) into a ParleyError. */
export function fetchFailure(ref: string, error: unknown, signal: AbortSignal): ParleyError {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof ParleyError) return reason;
    return modelFileError("stopped", ref, "the download was stopped", { cause: error });
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const why = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return modelFileError("provider_unavailable", ref, `the server could not be reached (${why})`, { retryable: true, cause: error });
}

/** The error an idle download is aborted with. */
export function idleTimeout(ref: string, idleTimeoutMs: number): ParleyError {
  return modelFileError("provider_timeout", ref, `the server sent nothing for ${idleTimeoutMs / 1000} s`, { retryable: true });
}

/** An HTTP status that is not a file: 404 is a missing model, 401/403 a model that needs access. */
export function statusFailure(ref: string, status: number): ParleyError {
  if (status === 404) return modelFileError("model_not_found", ref, "no such file on the server (HTTP 404)");
  if (status === 401 || status === 403) return modelFileError("provider_auth", ref, `the server refused access (HTTP ${status})`);
  if (status === 429) return modelFileError("provider_rate_limited", ref, "the server asks to wait (HTTP 429)", { retryable: true });
  if (status >= 500) return modelFileError("provider_error", ref, `the server failed (HTTP ${status})`, { retryable: true });
  return modelFileError("provider_bad_request", ref, `the server answered HTTP ${status}`);
}
