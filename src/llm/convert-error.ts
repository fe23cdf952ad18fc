import type { Logger } from "pino";
/**
 * Turns what goes wrong in a model-server call into `ParleyError`, the
 * part every provider shares: HTTP statuses, socket failures, timeouts,
 * unreadable bodies and cut streams. Each provider first unpacks its own
 * client's error classes into these calls.
 *
 * User messages name the provider and the model, never a key; only "could
 * not reach" names the address tried, stripped of anything that can hold
 * one. The detail (for logs) carries status and error codes, and the
 * server's own words only where they cannot hold a key.
 */
import { providerKinds } from "../config/schema.js";
import { ParleyError } from "../core/errors.js";
import { redactSecrets } from "../log.js";

/** What the failed call was, for the messages. */
export interface CallContext {
  /** The configured provider name, e.g. `ollama`, `groq`. */
  provider: string;
  kind: "ollama" | "openai" | "anthropic";
  model?: string;
  /** The server's base URL as configured (`OLLAMA_HOST`, `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, a provider's `baseUrl`). */
  address?: string;
  /** Some answer text already went to the consumer: the call cannot be replayed unseen. */
  textYielded?: boolean;
}

/** What a provider learned from an HTTP error answer. */
export interface StatusInfo {
  status: number;
  /** The server's error text, for logs; dropped for 401/403 where it may echo a key. */
  serverMessage?: string;
  retryAfterMs?: number;
  /** The 404 is about the model (not a wrong path). */
  modelMissing?: boolean;
  cause?: unknown;
}

const SERVER_MESSAGE_MAX_CHARS = 200;

function server(ctx: CallContext): string {
  return `the ${ctx.provider} model server`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function detail(ctx: CallContext, what: string): string {
  return `${ctx.provider}${ctx.model ? ` (${ctx.model})` : ""}: ${what}`;
}

/** The server was silent longer than the timeout. */
export function timeoutError(ctx: CallContext, cause?: unknown): ParleyError {
  return new ParleyError("provider_timeout", `${capitalised(server(ctx))} did not answer in time.`, {
    cause,
    retryable: true,
    detail: detail(ctx, "timed out waiting for the server"),
  });
}

/**
 * An address fit to show: no user name or password, query or fragment
 * (where keys hide), nor anything shaped like a token.
 */
export function shownAddress(address: string): string {
  try {
    const url = new URL(address);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return redactSecrets(url.toString().replace(/\/$/, ""), []);
  } catch {
    return "its configured address";
  }
}

/**
 * Where the address of `ctx`'s server is set: the environment variable of
 * the single-provider setup (providers named after their kind), otherwise
 * the provider's entry in the config file.
 */
function addressSetting(ctx: CallContext): string {
  const single = (providerKinds as readonly string[]).includes(ctx.provider) && singleProviderKind(ctx.provider) === ctx.kind;
  if (!single) return `llm.providers.${ctx.provider}.baseUrl`;
  if (ctx.kind === "ollama") return "OLLAMA_HOST";
  return ctx.kind === "anthropic" ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL";
}

/** The client a single-provider setup (`LLM_PROVIDER`) of this name speaks through. */
function singleProviderKind(provider: string): CallContext["kind"] {
  if (provider === "ollama" || provider === "anthropic") return provider;
  return "openai";
}

function unreachableMessage(ctx: CallContext): string {
  if (!ctx.address) return `Could not reach ${server(ctx)}; is it running?`;
  const at = shownAddress(ctx.address);
  if (ctx.kind === "ollama") {
    const name = ctx.provider === "ollama" ? "Ollama" : `Ollama (${ctx.provider})`;
    return `Could not reach ${name} at ${at} — is it running? Start it with \`ollama serve\`, or set ${addressSetting(ctx)}.`;
  }
  return `Could not reach ${ctx.provider} at ${at} — is the server running? Check ${addressSetting(ctx)} and your network.`;
}

/** No connection to the server (refused, DNS, reset); `code` is the socket error code, for the log. */
export function unavailableError(ctx: CallContext, cause: unknown, code?: string): ParleyError {
  return new ParleyError("provider_unavailable", unreachableMessage(ctx), {
    cause,
    retryable: true,
    detail: detail(ctx, `connection failed${code ? ` (${code})` : ""}`),
  });
}

/**
 * The stream ended before the protocol's end marker. Retryable only when
 * nothing was shown yet; otherwise the user already has half an answer.
 */
export function streamCutError(ctx: CallContext, cause?: unknown, code?: string): ParleyError {
  return new ParleyError("stream_cut", `The answer from ${server(ctx)} stopped before its end.`, {
    cause,
    retryable: !ctx.textYielded,
    detail: detail(ctx, `stream ended early${code ? ` (${code})` : ""}`),
  });
}

/** A body that is not what the protocol says; `what` says how, for the log. */
export function badResponseError(ctx: CallContext, cause?: unknown, what = "unreadable body"): ParleyError {
  return new ParleyError("provider_bad_response", `${capitalised(server(ctx))} sent an answer that could not be read.`, {
    cause,
    detail: detail(ctx, what),
  });
}

/** An error the server reported inside an otherwise healthy stream. */
export function streamedServerError(ctx: CallContext, cause: unknown, serverMessage: string): ParleyError {
  return new ParleyError("provider_error", `${capitalised(server(ctx))} failed while answering.`, {
    cause,
    retryable: !ctx.textYielded,
    detail: detail(ctx, `error in stream: ${serverMessage.slice(0, SERVER_MESSAGE_MAX_CHARS)}`),
  });
}

function modelNotFoundMessage(ctx: CallContext): string {
  const model = ctx.model ?? "the requested model";
  if (ctx.kind === "ollama") {
    return `Model ${model} is not installed on the Ollama server. Install it with: ollama pull ${model}`;
  }
  return `Model ${model} does not exist on ${server(ctx)}.`;
}

/** Converts an HTTP error status. */
export function statusError(ctx: CallContext, info: StatusInfo): ParleyError {
  const { status, cause, retryAfterMs } = info;
  const secretSafe = status !== 401 && status !== 403;
  const said = secretSafe && info.serverMessage ? `: ${info.serverMessage.slice(0, SERVER_MESSAGE_MAX_CHARS)}` : "";
  const what = detail(ctx, `HTTP ${status}${said}`);
  const who = capitalised(server(ctx));

  if (status === 401 || status === 403) {
    // No cause: the client's error carries the server's words, which may echo the key.
    return new ParleyError("provider_auth", `${who} refused our API key (missing or wrong).`, { detail: what });
  }
  if ((status === 404 || status === 400) && info.modelMissing) {
    return new ParleyError("model_not_found", modelNotFoundMessage(ctx), { cause, detail: what });
  }
  if (status === 408) return timeoutError(ctx, cause);
  if (status === 402) {
    return new ParleyError("provider_bad_request", `${who} says our account has no credits left.`, { cause, detail: what });
  }
  if (status === 429) {
    return new ParleyError("provider_rate_limited", `${who} is rate limiting us; ${tryAgain(retryAfterMs)}.`, {
      cause,
      retryable: true,
      retryAfterMs,
      detail: what,
    });
  }
  if (status === 529) {
    // Anthropic's "overloaded": busy, not broken; worth a retry, after its retry-after when it sent one.
    return new ParleyError("provider_error", `${who} is overloaded; ${tryAgain(retryAfterMs)}.`, { cause, retryable: true, retryAfterMs, detail: what });
  }
  if (status >= 500) {
    return new ParleyError("provider_error", `${who} had an internal error${ollamaSays(ctx, info)}.`, {
      cause,
      retryable: true,
      retryAfterMs,
      detail: what,
    });
  }
  if (status === 404) {
    // Not the model: the address points at something that is not this API.
    const hint =
      ctx.kind === "openai"
        ? " (an OpenAI-compatible address usually ends in /v1)"
        : ctx.kind === "anthropic"
          ? " (an Anthropic address ends before /v1, which the client adds)"
          : "";
    return new ParleyError("provider_bad_request", `${who} does not offer this API; check its address${hint}.`, {
      cause,
      detail: what,
    });
  }
  return new ParleyError("provider_bad_request", `${who} refused the request${ollamaSays(ctx, info)}.`, { cause, detail: what });
}

/** `try again in 3 s`, or `try again shortly` when the server named no wait. */
function tryAgain(retryAfterMs: number | undefined): string {
  return retryAfterMs !== undefined ? `try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s` : "try again shortly";
}

/**
 * Ollama's own words after a 400 or 5xx (`model requires more system memory
 * (5.6 GiB) than is available`, `"x" does not support chat`): what the user
 * can act on. Ollama holds no API key to echo; addresses of its internal
 * runner are left out all the same.
 */
function ollamaSays(ctx: CallContext, info: StatusInfo): string {
  // A proxy's error page in front of Ollama is no sentence for a chat.
  if (ctx.kind !== "ollama" || !info.serverMessage || /<\/?[a-z!][^>]*>/i.test(info.serverMessage)) return "";
  const words = info.serverMessage
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "…")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[.\s]+$/, "")
    .slice(0, SERVER_MESSAGE_MAX_CHARS);
  return words ? `: ${words}` : "";
}

/** `6m0s`, `1.5s`, `20ms`, `1h2m3.5s` (the `x-ratelimit-reset-*` headers) in milliseconds; undefined when unreadable. */
function resetDurationMs(text: string | null | undefined): number | undefined {
  const value = text?.trim() ?? "";
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) return undefined;
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * unitMs[unit!]!, 0);
}

/**
 * For a 429 without `retry-after`: when OpenAI's (and Groq's)
 * `x-ratelimit-reset-requests` / `-tokens` say the exhausted window reopens
 * (`x-ratelimit-remaining-*: 0`; the later of two). When neither says which
 * is exhausted, the sooner reset: a guess too long would hold the provider
 * off for minutes. Undefined without those headers.
 */
export function rateLimitResetMsFrom(headers: { get(name: string): string | null } | undefined): number | undefined {
  const windows = ["requests", "tokens"]
    .map((kind) => ({
      resetMs: resetDurationMs(headers?.get(`x-ratelimit-reset-${kind}`)),
      exhausted: headers?.get(`x-ratelimit-remaining-${kind}`)?.trim() === "0",
    }))
    .filter((w): w is { resetMs: number; exhausted: boolean } => w.resetMs !== undefined);
  if (windows.length === 0) return undefined;
  const exhausted = windows.filter((w) => w.exhausted).map((w) => w.resetMs);
  return exhausted.length > 0 ? Math.max(...exhausted) : Math.min(...windows.map((w) => w.resetMs));
}

/** `retry-after-ms`, or `retry-after` in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMsFrom(headers: { get(name: string): string | null } | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The first Node/undici error code found along `cause` links and inside AggregateErrors. */
function transportCode(e: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
  if (e instanceof AggregateError) {
    for (const inner of e.errors) {
      const found = transportCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return transportCode((e as { cause?: unknown }).cause, depth + 1);
}

/** undici's own failures: `fetch failed` (no connection) and `terminated` (body cut). */
function isFetchFailure(e: unknown): boolean {
  return e instanceof TypeError && (e.message === "fetch failed" || e.message === "terminated");
}

/**
 * Converts socket-level failures and unreadable bodies; undefined when `e`
 * is none of those (the provider decides what else it is).
 */
export function transportError(e: unknown, ctx: CallContext): ParleyError | undefined {
  if (e instanceof SyntaxError) return badResponseError(ctx, e, "body is not JSON");
  const code = transportCode(e);
  if (!code && !isFetchFailure(e)) return undefined;
  if (code && TIMEOUT_CODES.has(code)) return timeoutError(ctx, e);
  // Once text has been shown, a dead socket means half an answer.
  return ctx.textYielded ? streamCutError(ctx, e, code) : unavailableError(ctx, e, code);
}

/**
 * Logs a failure once it is a `ParleyError` (its code and detail, never a
 * key), and hands it back for the caller to throw.
 */
export function noteFailure(converted: unknown, log: Logger | undefined, ctx: CallContext): unknown {
  if (converted instanceof ParleyError) {
    log?.debug({ provider: ctx.provider, code: converted.code, detail: converted.message }, `${ctx.kind} call failed`);
  }
  return converted;
}
