/**
 * The provider for Anthropic's own Messages API, on the `@anthropic-ai/sdk`
 * client: streamed messages with the server's own token counts (input in
 * `message_start`, output in `message_delta`).
 */
import Anthropic, { AnthropicError, APIConnectionError, APIConnectionTimeoutError, APIError } from "@anthropic-ai/sdk";
import type { Logger } from "pino";
import { ParleyError } from "../core/errors.js";
import { startCallGuard, type CallGuard } from "./call-guard.js";
import {
  badResponseError,
  noteFailure,
  retryAfterMsFrom,
  statusError,
  streamCutError,
  streamedServerError,
  timeoutError,
  transportError,
  unavailableError,
  type CallContext,
} from "./convert-error.js";
import type { ChatDelta, ChatImage, ChatMessage, ChatRequest, LlmProvider } from "./types.js";
import { knownToSee } from "./vision-models.js";

export interface AnthropicProviderOptions {
  /** The configured name, shown to users in errors (e.g. `anthropic`). */
  name: string;
  /** API base without the version, e.g. `https://api.anthropic.com` (`ANTHROPIC_BASE_URL`). */
  baseURL: string;
  /** The API key. A proxy that holds the key needs none; a placeholder is sent then. */
  apiKey?: string;
  /**
   * Longest silence of the server, in milliseconds: until the answer
   * starts, and between two events of it. `models()` must finish within it (per page).
   */
  timeoutMs: number;
  /** `max_tokens` of each call: the longest answer, in tokens. Anthropic requires it. */
  maxTokens: number;
  log?: Logger;
}

/** Sent when no key is configured: the client insists on one, and would otherwise look for credentials on disk. */
const PLACEHOLDER_API_KEY = "not-needed";

/** Models asked for per page of `/v1/models`: Anthropic's largest page, so one call usually lists them all. */
const MODELS_PAGE_SIZE = 1000;

/**
 * The status behind each `error.type` Anthropic names in an `event: error`
 * of a stream (it answered 200, then failed): an overload before the first
 * word is as retryable as a 529.
 */
const STATUS_OF_ERROR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * Anthropic's shape of a conversation: every system message joined into the
 * top-level `system`, turns alternating and opening with the user's.
 * Consecutive turns of one role are merged; empty turns (which Anthropic
 * refuses) are left out, and so are answers before the first question, whose
 * question the history has lost. A user turn with images has content
 * blocks: each image, then the text (Anthropic's advice: images first).
 */
export function toAnthropicMessages(messages: readonly ChatMessage[]): { system?: string; messages: Anthropic.MessageParam[] } {
  const system = messages
    .filter((m) => m.role === "system" && m.content.trim() !== "")
    .map((m) => m.content)
    .join("\n\n");
  const turns: { role: "user" | "assistant"; content: string; images: ChatImage[] }[] = [];
  for (const { role, content, images = [] } of messages) {
    // Only user turns take images.
    const seen = role === "user" ? images : [];
    if (role === "system" || (content.trim() === "" && seen.length === 0)) continue;
    const last = turns[turns.length - 1];
    if (last?.role === role) {
      last.content = [last.content, content].filter((text) => text.trim() !== "").join("\n\n");
      last.images.push(...seen);
    } else if (last || role === "user") turns.push({ role, content, images: [...seen] });
  }
  return { ...(system ? { system } : {}), messages: turns.map(toAnthropicTurn) };
}

function toAnthropicTurn({ role, content, images }: { role: "user" | "assistant"; content: string; images: ChatImage[] }): Anthropic.MessageParam {
  if (images.length === 0) return { role, content };
  const blocks: Anthropic.ContentBlockParam[] = images.map((image) => ({
    type: "image",
    // Anthropic takes jpeg, png, gif and webp; another type is refused by the server (400), not guessed at here.
    source: { type: "base64", media_type: image.mimeType as Anthropic.Base64ImageSource["media_type"], data: image.data.toString("base64") },
  }));
  if (content.trim() !== "") blocks.push({ type: "text", text: content });
  return { role, content: blocks };
}

/** Input tokens as Anthropic bills them: fresh ones plus those written to and read from its prompt cache. */
function inputTokensOf(usage: {
  input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}): number | undefined {
  if (typeof usage.input_tokens !== "number") return undefined;
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

function convert(e: unknown, ctx: CallContext, guard: CallGuard): unknown {
  if (guard.callerAborted) return guard.callerReason ?? e;
  if (e instanceof ParleyError) return e;
  if (guard.timedOut || e instanceof APIConnectionTimeoutError) return timeoutError(ctx, e);
  if (e instanceof APIConnectionError) return transportError(e.cause, ctx) ?? unavailableError(ctx, e);
  if (e instanceof APIError) {
    const serverMessage = e.apiMessage ?? e.message;
    if (typeof e.status === "number") {
      return statusError(ctx, {
        status: e.status,
        serverMessage,
        // Anthropic sends retry-after with its 429s and 529s.
        retryAfterMs: retryAfterMsFrom(e.headers),
        // 404 on /v1/messages with `not_found_error: model: claude-x`; any other 404 is a wrong address.
        modelMissing: e.status === 404 && /\bmodel\b/i.test(serverMessage),
        cause: e,
      });
    }
    // No status: an `event: error` inside a stream that began with 200.
    const status = e.type ? STATUS_OF_ERROR_TYPE[e.type] : undefined;
    if (!ctx.textYielded && status !== undefined) {
      return statusError(ctx, { status, serverMessage, modelMissing: status === 404 && /\bmodel\b/i.test(serverMessage), cause: e });
    }
    return streamedServerError(ctx, e, serverMessage);
  }
  const transport = transportError(e, ctx);
  if (transport) return transport;
  if (e instanceof AnthropicError) return badResponseError(ctx, e, e.message);
  return streamedServerError(ctx, e, e instanceof Error ? e.message : String(e));
}

/** The client logs through our logger, its words only (its extra arguments hold request details). */
function clientLogger(log: Logger, provider: string) {
  const at = (level: "warn" | "debug") => (message: string) => log[level]({ provider }, `anthropic client: ${message}`);
  return { error: at("warn"), warn: at("warn"), info: at("debug"), debug: at("debug") };
}

/** A provider for Anthropic's API (or a proxy of it); the router, not the client, retries. */
export function createAnthropicProvider(opts: AnthropicProviderOptions): LlmProvider {
  const client = new Anthropic({
    baseURL: opts.baseURL,
    // Always given: without it the client reads ANTHROPIC_API_KEY itself, then profiles on disk.
    apiKey: opts.apiKey || PLACEHOLDER_API_KEY,
    maxRetries: 0, // the router retries, across providers
    timeout: opts.timeoutMs,
    // Without a logger the client writes to the console, whose stdout carries the console adapter's answers.
    ...(opts.log ? { logger: clientLogger(opts.log, opts.name), logLevel: "warn" as const } : { logLevel: "off" as const }),
  });

  function fail(e: unknown, ctx: CallContext, guard: CallGuard): unknown {
    return noteFailure(convert(e, ctx, guard), opts.log, ctx);
  }

  async function* chat(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
    const ctx: CallContext = { provider: opts.name, kind: "anthropic", model: req.model, address: opts.baseURL };
    const guard = startCallGuard(opts.timeoutMs, signal);
    let eventsSeen = 0;
    let finished = false;
    let model = req.model;
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    let stopReason: string | null = null;
    try {
      // No temperature: the API version this client speaks (2026-10-21) has none.
      const call = client.messages.create(
        { model: req.model, max_tokens: opts.maxTokens, ...toAnthropicMessages(req.messages), stream: true },
        { signal: guard.signal },
      );
      const stream = await guard.race(call);
      for await (const event of guard.iterate(stream)) {
        eventsSeen++;
        switch (event.type) {
          case "message_start":
            if (event.message.model) model = event.message.model;
            promptTokens = inputTokensOf(event.message.usage);
            completionTokens = event.message.usage.output_tokens;
            break;
          case "content_block_delta":
            // Thinking and signature deltas keep the call alive (the guard saw them) but are not the answer.
            if (event.delta.type === "text_delta" && event.delta.text) {
              yield { type: "text", text: event.delta.text };
              ctx.textYielded = true;
            }
            break;
          case "message_delta":
            // Cumulative counts: the last ones are the whole answer's.
            promptTokens = inputTokensOf(event.usage) ?? promptTokens;
            completionTokens = event.usage.output_tokens ?? completionTokens;
            stopReason = event.delta.stop_reason ?? stopReason;
            break;
          case "message_stop":
            finished = true;
            break;
        }
      }
    } catch (e) {
      throw fail(e, ctx, guard);
    } finally {
      guard.dispose();
    }
    // The client ends a stream quietly when its signal aborts: find out why it ended.
    if (guard.callerAborted) throw guard.callerReason;
    if (!finished) {
      const why = guard.timedOut
        ? timeoutError(ctx)
        : eventsSeen === 0
          ? badResponseError(ctx, undefined, "no SSE event")
          : streamCutError(ctx);
      throw fail(why, ctx, guard);
    }
    if (stopReason === "max_tokens") {
      opts.log?.info({ provider: opts.name, model, maxTokens: opts.maxTokens }, "the answer reached maxTokens and was cut there");
    }
    const usage = promptTokens !== undefined && completionTokens !== undefined ? { promptTokens, completionTokens } : undefined;
    yield { type: "done", model, usage };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const ctx: CallContext = { provider: opts.name, kind: "anthropic", address: opts.baseURL };
    const guard = startCallGuard(opts.timeoutMs, signal);
    try {
      const list = client.models.list({ limit: MODELS_PAGE_SIZE }, { signal: guard.signal });
      const { data: first, response } = await guard.race(list.withResponse());
      // The client hands non-JSON bodies over as text, which a page reads as "no models".
      if (!response.headers.get("content-type")?.includes("json")) throw badResponseError(ctx, undefined, "no model list in /v1/models");
      let page = first;
      const ids = page.data.map((m) => m.id);
      while (page.hasNextPage()) {
        guard.resume(); // each page gets the whole silence allowance
        page = await guard.race(page.getNextPage());
        ids.push(...page.data.map((m) => m.id));
      }
      return ids.filter((id): id is string => typeof id === "string");
    } catch (e) {
      throw fail(e, ctx, guard);
    } finally {
      guard.dispose();
    }
  }

  // The API says nothing of a model's inputs; only well-known names are known to see.
  const canSee = (model: string) => Promise.resolve(knownToSee(model));

  return { name: opts.name, kind: "anthropic", chat, models, canSee };
}
