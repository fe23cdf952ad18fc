/**
 * The Ollama provider, on the `ollama` npm client: streamed chat over
 * `/api/chat` with the model's context window (`num_ctx`), models from
 * `/api/tags`, Ollama's own token counts.
 */
import { Ollama, type ChatResponse } from "ollama";
import type { Logger } from "pino";
import { ParleyError } from "../core/errors.js";
import { startCallGuard, type CallGuard } from "./call-guard.js";
import {
  badResponseError,
  noteFailure,
  statusError,
  streamCutError,
  streamedServerError,
  timeoutError,
  transportError,
  type CallContext,
} from "./convert-error.js";
import { createContextWindows } from "./ollama-context.js";
import { ollamaFetch, UnreadableBodyError, type FetchNotes } from "./ollama-fetch.js";
import { showOncePerModel, visionFromShow } from "./ollama-show.js";
import { ThinkingFilter } from "./thinking-filter.js";
import type { ChatDelta, ChatMessage, ChatRequest, LlmProvider, TokenUsage } from "./types.js";

export interface OllamaProviderOptions {
  /** The configured name, shown to users in errors (e.g. `ollama`, `local-gpu`). */
  name: string;
  /** Base URL of the server, e.g. `http://127.0.0.1:11434` (`OLLAMA_HOST`). */
  host: string;
  /**
   * Longest silence of the server, in milliseconds: until the answer
   * starts, and between two chunks of it. `models()` must finish within it.
   */
  timeoutMs: number;
  /**
   * How long the model stays loaded after a call (`30m`, seconds, `0` to
   * unload at once); a request's own `keepAlive` wins. Default: the server's (5 min).
   */
  keepAlive?: string | number;
  /** Context windows by model name, in tokens, sent as `num_ctx` (`contextTokens`). @defaultValue {} */
  contextTokens?: Record<string, number>;
  /**
   * The largest `num_ctx` sent for a model not in `contextTokens`, whose own
   * length is read from `/api/show` (`llm.maxContextTokens`), in tokens.
   */
  maxContextTokens: number;
  log?: Logger;
}

/** Longest wait for `/api/show`, in milliseconds (never above the provider's own `timeoutMs`). */
const SHOW_TIMEOUT_MS = 5_000;

/** ollama-js does not export its error class; it is recognised by name. */
interface OllamaResponseError {
  name: "ResponseError";
  error: string;
  status_code: number;
}

function isResponseError(e: unknown): e is OllamaResponseError {
  return e instanceof Error && e.name === "ResponseError" && typeof (e as { status_code?: unknown }).status_code === "number";
}

/** ollama-js's words for "the stream ended without its done message". */
const NO_DONE_MESSAGE = /did not receive done/i;

function convert(e: unknown, ctx: CallContext, guard: CallGuard, notes: FetchNotes, chunksSeen: number): unknown {
  if (guard.callerAborted) return guard.callerReason ?? e;
  if (e instanceof ParleyError) return e;
  if (guard.timedOut) return timeoutError(ctx, e);
  if (isResponseError(e)) {
    return statusError(ctx, {
      status: e.status_code,
      serverMessage: e.error,
      retryAfterMs: notes.retryAfterMs,
      // Ollama says `model "x" not found`; a wrong path says `404 page not found`.
      modelMissing: /model/i.test(e.error),
      cause: e,
    });
  }
  if (e instanceof UnreadableBodyError) return badResponseError(ctx, e, "body is not JSON");
  const transport = transportError(e, ctx);
  if (transport) return transport;
  if (e instanceof Error && NO_DONE_MESSAGE.test(e.message)) {
    // No line parsed at all: it was never an Ollama stream.
    return chunksSeen === 0 ? badResponseError(ctx, e, "no NDJSON in the stream") : streamCutError(ctx, e);
  }
  // ollama-js throws a plain Error with the text of an `{"error": ...}` line.
  return streamedServerError(ctx, e, e instanceof Error ? e.message : String(e));
}

function usageOf(last: ChatResponse): TokenUsage | undefined {
  const prompt = last.prompt_eval_count as number | undefined;
  const completion = last.eval_count as number | undefined;
  if (typeof prompt !== "number" && typeof completion !== "number") return undefined;
  // Ollama omits a zero count (Go `omitempty`), e.g. a prompt served from its cache.
  return { promptTokens: prompt ?? 0, completionTokens: completion ?? 0 };
}

/** A message as `/api/chat` takes it: images as their bytes, which ollama-js sends as base64 strings. */
function toOllamaMessage({ role, content, images }: ChatMessage) {
  // Bytes, not base64 text: ollama-js reads a string that names an existing file as that file.
  return images && images.length > 0 ? { role, content, images: images.map((image) => image.data) } : { role, content };
}

/** A provider for one Ollama server; each call gets its own client, whose fetch carries that call's signal. */
export function createOllamaProvider(opts: OllamaProviderOptions): LlmProvider {
  /** A client per call: its fetch carries that call's signal and notes. */
  const clientFor = (guard: CallGuard, notes: FetchNotes) => new Ollama({ host: opts.host, fetch: ollamaFetch(guard, notes) });

  function fail(e: unknown, ctx: CallContext, guard: CallGuard, notes: FetchNotes, chunksSeen: number): unknown {
    return noteFailure(convert(e, ctx, guard, notes, chunksSeen), opts.log, ctx);
  }

  // One /api/show per model, read for both the context window and the capabilities.
  const show = showOncePerModel(async (model, signal) => {
    const guard = startCallGuard(Math.min(SHOW_TIMEOUT_MS, opts.timeoutMs), signal);
    try {
      return await guard.race(clientFor(guard, {}).show({ model }));
    } finally {
      guard.dispose();
    }
  });
  const contextTokens = createContextWindows({ configured: opts.contextTokens ?? {}, maxTokens: opts.maxContextTokens, log: opts.log, show });

  async function canSee(model: string, signal?: AbortSignal): Promise<boolean | undefined> {
    try {
      return visionFromShow(await show(model, signal));
    } catch (error) {
      opts.log?.debug({ model, err: error }, "ollama: could not read the model's capabilities");
      return undefined;
    }
  }

  async function* chat(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
    const ctx: CallContext = { provider: opts.name, kind: "ollama", model: req.model, address: opts.host };
    // Before the call's own timer starts: a first lookup must not eat into the wait for the answer.
    const numCtx = await contextTokens(req.model, signal);
    const guard = startCallGuard(opts.timeoutMs, signal);
    const notes: FetchNotes = {};
    let chunksSeen = 0;
    const thinking = new ThinkingFilter();
    try {
      const keepAlive = req.keepAlive ?? opts.keepAlive;
      const options = {
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
        ...(numCtx !== undefined ? { num_ctx: numCtx } : {}),
      };
      const call = clientFor(guard, notes).chat({
        model: req.model,
        messages: req.messages.map(toOllamaMessage),
        stream: true,
        ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}),
        ...(Object.keys(options).length > 0 ? { options } : {}),
      });
      const stream = await guard.race(call);
      for await (const part of guard.iterate(stream)) {
        chunksSeen++;
        const text = thinking.push(part.message?.content ?? "") + (part.done ? thinking.flush() : "");
        if (text) {
          yield { type: "text", text };
          ctx.textYielded = true;
        }
        if (part.done) {
          yield { type: "done", model: part.model || req.model, usage: usageOf(part) };
          return;
        }
      }
      throw new Error("Did not receive done response in stream.");
    } catch (e) {
      throw fail(e, ctx, guard, notes, chunksSeen);
    } finally {
      guard.dispose();
    }
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const ctx: CallContext = { provider: opts.name, kind: "ollama", address: opts.host };
    const guard = startCallGuard(opts.timeoutMs, signal);
    const notes: FetchNotes = {};
    try {
      const list = (await guard.race(clientFor(guard, notes).list())) as { models?: unknown };
      if (!Array.isArray(list?.models)) throw badResponseError(ctx, undefined, "no models array in /api/tags");
      return list.models
        .map((m) => (m as { name?: unknown } | null)?.name)
        .filter((name): name is string => typeof name === "string");
    } catch (e) {
      throw fail(e, ctx, guard, notes, 1);
    } finally {
      guard.dispose();
    }
  }

  async function unload(model: string, signal?: AbortSignal): Promise<void> {
    const ctx: CallContext = { provider: opts.name, kind: "ollama", model, address: opts.host };
    const guard = startCallGuard(opts.timeoutMs, signal);
    const notes: FetchNotes = {};
    try {
      // An empty prompt with keep_alive 0 is Ollama's documented way to unload a model.
      await guard.race(clientFor(guard, notes).generate({ model, prompt: "", keep_alive: 0, stream: false }));
    } catch (e) {
      throw fail(e, ctx, guard, notes, 1);
    } finally {
      guard.dispose();
    }
  }

  return { name: opts.name, kind: "ollama", chat, models, unload, contextTokens, canSee };
}
