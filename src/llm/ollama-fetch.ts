/**
 * The `fetch` handed to ollama-js for one call. ollama-js has no timeout
 * and passes no signal on non-streaming calls, and prints to the console
 * on bodies it cannot read (the console adapter writes answers there), so
 * this fetch:
 * - adds the call's signal (caller abort + silence timeout) to every request;
 * - rewrites error answers as `{"error": ...}` JSON, remembering `retry-after`;
 * - fails a 200 body that does not start like JSON with {@link UnreadableBodyError}.
 */
import type { CallGuard } from "./call-guard.js";
import { retryAfterMsFrom } from "./convert-error.js";

/** A 200 answer whose body is not JSON (a proxy page, a captive portal). */
export class UnreadableBodyError extends Error {
  override readonly name = "UnreadableBodyError";
}

/** What the fetch saw that ollama-js does not pass on. */
export interface FetchNotes {
  /** From the last error answer's `retry-after`. */
  retryAfterMs?: number;
}

const ERROR_TEXT_MAX_CHARS = 500;

/** ollama-js reads error bodies itself; give it JSON so it needs no fallback (which logs). */
async function asJsonError(response: Response): Promise<Response> {
  const text = await response.text().catch(() => "");
  let message = text.trim().slice(0, ERROR_TEXT_MAX_CHARS) || `HTTP ${response.status}`;
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") message = parsed.error;
  } catch {
    // not JSON: keep the text
  }
  return new Response(JSON.stringify({ error: message }), {
    status: response.status,
    statusText: response.statusText,
    headers: { "content-type": "application/json" },
  });
}

const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Passes the body through, failing it if its first visible byte is not `{`. */
function checkStartsLikeJson(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let checked = false;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!checked) {
          const first = chunk.find((byte) => !WHITESPACE.has(byte));
          if (first !== undefined) {
            checked = true;
            if (first !== OPEN_BRACE) {
              controller.error(new UnreadableBodyError("the answer is not JSON"));
              return;
            }
          }
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The fetch for one call: bounded by `guard`, and writing what ollama-js drops into `notes`. */
export function ollamaFetch(guard: CallGuard, notes: FetchNotes): typeof fetch {
  return async (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, guard.signal]) : guard.signal;
    const response = await fetch(input, { ...init, signal });
    if (!response.ok) {
      notes.retryAfterMs = retryAfterMsFrom(response.headers);
      return asJsonError(response);
    }
    if (!response.body) return response;
    return new Response(checkStartsLikeJson(response.body), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
