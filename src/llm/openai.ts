/**
 * The provider for OpenAI and compatible servers (OpenRouter, Groq, LM
 * Studio, vLLM, llama.cpp), on the `openai` npm client: streamed chat
 * completions with the server's own token counts when it sends them.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, OpenAIError } from "openai";
import type { Logger } from "pino";
import { ParleyError } from "../core/errors.js";
import { startCallGuard, type CallGuard } from "./call-guard.js";
import {
  badResponseError,
  noteFailure,
  rateLimitResetMsFrom,
  retryAfterMsFrom,
  statusError,
  streamCutError,
  streamedServerError,
  timeoutError,
  transportError,
  unavailableError,
  type CallContext,
} from "./convert-error.js";
import { endMarkingFetch, sawEndMarker } from "./sse-end.js";
import { ThinkingFilter } from "./thinking-filter.js";
import type { ChatDelta, ChatMessage, ChatRequest, LlmProvider, TokenUsage } from "./types.js";
import { knownToSee } from "./vision-models.js";

export interface OpenAiProviderOptions {
  /** The configured name, shown to users in errors (e.g. `openai`, `groq`). */
  name: string;
  /** API base including the version, e.g. `https://api.openai.com/v1` (`OPENAI_BASE_URL`). */
  baseURL: string;
  /** Bearer key. Local servers need none; a placeholder is sent then. */
  apiKey?: string;
  /**
   * Longest silence of the server, in milliseconds: until the answer
   * starts, and between two chunks of it. `models()` must finish within it.
   */
  timeoutMs: number;
  log?: Logger;
  /**
   * Ask for usage in streams (`stream_options.include_usage`). Default
   * true; turn off for servers that reject unknown parameters.
   */
  sendStreamOptions?: boolean;
}

/**
 * How servers that answer an unknown model with 400 rather than 404 say so
 * (OpenRouter: `x is not a valid model ID`; LM Studio: `Model "x" not found`).
 */
const MODEL_MISSING = /\bmodel\b.*\b(not found|does not exist|not exist)|not a valid model|invalid model|unknown model/i;

/** A server that refuses `stream_options` as an unknown argument (400, or 422 from strict validators). */
function refusesStreamOptions(e: unknown): boolean {
  return e instanceof APIError && (e.status === 400 || e.status === 422) && /stream_options/i.test(e.message);
}

/** Sent when no key is configured: the client insists on one, local servers ignore it. */
const PLACEHOLDER_API_KEY = "not-needed";

function convert(e: unknown, ctx: CallContext, guard: CallGuard): unknown {
  if (guard.callerAborted) return guard.callerReason ?? e;
  if (e instanceof ParleyError) return e;
  if (guard.timedOut || e instanceof APIConnectionTimeoutError) return timeoutError(ctx, e);
  if (e instanceof APIConnectionError) return transportError(e.cause, ctx) ?? unavailableError(ctx, e);
  if (e instanceof APIError) {
    if (typeof e.status === "number") {
      return statusError(ctx, {
        status: e.status,
        serverMessage: e.message,
        // OpenAI itself often sends no retry-after on a 429, only when its windows reset.
        retryAfterMs: retryAfterMsFrom(e.headers) ?? (e.status === 429 ? rateLimitResetMsFrom(e.headers) : undefined),
        modelMissing: e.code === "model_not_found" || (e.status === 404 ? /model/i : MODEL_MISSING).test(e.message),
        cause: e,
      });
    }
    // No status: an error event inside the stream. OpenRouter, answering 200 once a model was
    // picked, puts the status the model's provider gave in `error.code` (429, 502...).
    const code = Number(e.code);
    if (!ctx.textYielded && Number.isInteger(code) && code >= 400 && code <= 599) {
      return statusError(ctx, { status: code, serverMessage: e.message, modelMissing: MODEL_MISSING.test(e.message), cause: e });
    }
    return streamedServerError(ctx, e, e.message);
  }
  const transport = transportError(e, ctx);
  if (transport) return transport;
  if (e instanceof OpenAIError) return badResponseError(ctx, e, e.message);
  return streamedServerError(ctx, e, e instanceof Error ? e.message : String(e));
}

/** The client logs through our logger, its words only (its extra arguments hold request details). */
function clientLogger(log: Logger, provider: string) {
  const at = (level: "warn" | "debug") => (message: string) => log[level]({ provider }, `openai client: ${message}`);
  return { error: at("warn"), warn: at("warn"), info: at("debug"), debug: at("debug") };
}

function usageOf(raw: OpenAI.CompletionUsage | null | undefined): TokenUsage | undefined {
  if (!raw || typeof raw.prompt_tokens !== "number" || typeof raw.completion_tokens !== "number") return undefined;
  return { promptTokens: raw.prompt_tokens, completionTokens: raw.completion_tokens };
}

/**
 * The counts a chunk carries: `usage` (OpenAI's own chunk, or the last choice
 * chunk of llama.cpp, vLLM, LM Studio), or `x_groq.usage` (Groq's own place).
 */
function chunkUsage(chunk: OpenAI.ChatCompletionChunk): TokenUsage | undefined {
  const groq = (chunk as { x_groq?: { usage?: OpenAI.CompletionUsage | null } }).x_groq;
  return usageOf(chunk.usage) ?? usageOf(groq?.usage);
}

/**
 * A message as chat completions take it: only role and content (Groq
 * rejects `name`); a user message with images has content parts, its text
 * then each image as a data URL, and plain text otherwise, which every
 * compatible server reads.
 */
export function toOpenAiMessage({ role, content, images }: ChatMessage): OpenAI.ChatCompletionMessageParam {
  if (role !== "user" || !images || images.length === 0) return { role, content };
  return {
    role,
    content: [
      { type: "text", text: content },
      ...images.map((image) => ({
        type: "image_url" as const,
        image_url: { url: `data:${image.mimeType};base64,${image.data.toString("base64")}` },
      })),
    ],
  };
}

/** A provider for one OpenAI-compatible server; the router, not the client, retries. */
export function createOpenAiProvider(opts: OpenAiProviderOptions): LlmProvider {
  const client = new OpenAI({
    baseURL: opts.baseURL,
    apiKey: opts.apiKey || PLACEHOLDER_API_KEY,
    maxRetries: 0, // the router retries, across providers
    timeout: opts.timeoutMs,
    fetch: endMarkingFetch(),
    ...(opts.log ? { logger: clientLogger(opts.log, opts.name), logLevel: "warn" as const } : { logLevel: "off" as const }),
  });

  /** Turned off for good once the server refuses `stream_options`. */
  let askForUsage = opts.sendStreamOptions !== false;

  function fail(e: unknown, ctx: CallContext, guard: CallGuard): unknown {
    return noteFailure(convert(e, ctx, guard), opts.log, ctx);
  }

  async function* chat(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
    const ctx: CallContext = { provider: opts.name, kind: "openai", model: req.model, address: opts.baseURL };
    const guard = startCallGuard(opts.timeoutMs, signal);
    let chunksSeen = 0;
    let finished = false;
    let model = req.model;
    let usage: TokenUsage | undefined;
    let askedForUsage = askForUsage;
    const thinking = new ThinkingFilter();
    try {
      const call = client.chat.completions.create(
        {
          model: req.model,
          messages: req.messages.map(toOpenAiMessage),
          stream: true,
          ...(askedForUsage ? { stream_options: { include_usage: true } } : {}),
          ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        },
        { signal: guard.signal },
      );
      const { data: stream, response } = await guard.race(call.withResponse());
      for await (const chunk of guard.iterate(stream)) {
        chunksSeen++;
        if (chunk.model) model = chunk.model;
        const counted = chunkUsage(chunk);
        usage = counted ?? usage;
        // Usage comes last: with it, or a finish_reason on any choice, the answer is whole.
        if (counted || chunk.choices?.some((c) => c.finish_reason)) finished = true;
        const text = thinking.push(chunk.choices?.[0]?.delta?.content ?? "");
        if (text) {
          yield { type: "text", text };
          ctx.textYielded = true;
        }
      }
      // Some compatible servers send no finish_reason, but still end with `data: [DONE]`.
      if (chunksSeen > 0 && sawEndMarker(response)) finished = true;
    } catch (e) {
      if (!(askedForUsage && chunksSeen === 0 && refusesStreamOptions(e))) throw fail(e, ctx, guard);
      askedForUsage = false;
    } finally {
      guard.dispose();
    }
    if (askForUsage && !askedForUsage) {
      // An older or stricter compatible server: ask again without it, and from now on.
      askForUsage = false;
      opts.log?.info({ provider: opts.name }, "the server refuses stream_options; streaming without it from now on");
      yield* chat(req, signal);
      return;
    }
    // The client ends a stream quietly when its signal aborts: find out why it ended.
    if (guard.callerAborted) throw guard.callerReason;
    if (!finished) {
      const why = guard.timedOut
        ? timeoutError(ctx)
        : chunksSeen === 0
          ? badResponseError(ctx, undefined, "no SSE chunk")
          : streamCutError(ctx);
      throw fail(why, ctx, guard);
    }
    const rest = thinking.flush();
    if (rest) yield { type: "text", text: rest };
    yield { type: "done", model, usage };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const ctx: CallContext = { provider: opts.name, kind: "openai", address: opts.baseURL };
    const guard = startCallGuard(opts.timeoutMs, signal);
    try {
      const { data: page, response } = await guard.race(client.models.list({ signal: guard.signal }).withResponse());
      // The client hands non-JSON bodies over as text, which a page reads as "no models".
      if (!response.headers.get("content-type")?.includes("json") || !Array.isArray(page.data)) {
        throw badResponseError(ctx, undefined, "no model list in /models");
      }
      return page.data.map((m) => m.id).filter((id): id is string => typeof id === "string");
    } catch (e) {
      throw fail(e, ctx, guard);
    } finally {
      guard.dispose();
    }
  }

  // The server cannot be asked; only well-known names are known to see.
  const canSee = (model: string) => Promise.resolve(knownToSee(model));

  return { name: opts.name, kind: "openai", chat, models, canSee };
}
