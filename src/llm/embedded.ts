/**
 * The embedded provider: a local `.gguf` model run in this process by
 * node-llama-cpp, with the same stream, abort, usage and error shapes as the
 * providers that talk to a server. Loaded on first use; one answer per
 * context sequence, the other calls in a short line; every answer a fresh
 * conversation.
 */
import { stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { ParleyError } from "../core/errors.js";
import { startCallGuard } from "./call-guard.js";
import { generate, TextPipe, type Loaded, type Outcome } from "./embedded-answer.js";
import {
  busyError,
  closedError,
  fileError,
  generationError,
  isContextTooSmall,
  loadError,
  notAFileError,
  otherModelError,
  runtimeError,
  timeoutError,
  tooLongError,
  type EmbeddedCallContext,
} from "./embedded-errors.js";
import { acquireModel, allowThreads, ModelLoadFailure, releaseModel, routeNativeLogs, type GpuLayers, type SharedModel } from "./embedded-model.js";
import { AnswerQueue } from "./embedded-queue.js";
import { LatencyWindow } from "./latency.js";
// One rule for a model's name, whether the config names a file, a URL or an hf: URI.
import { embeddedModelName } from "./setup.js";
import type { ChatDelta, ChatRequest, LlmProvider } from "./types.js";

export interface EmbeddedProviderOptions {
  /** The configured name, shown to users in errors (e.g. `local`). */
  name: string;
  /** The model: a `.gguf` file, absolute or relative to the working directory. */
  file: string;
  /** The model's name, which calls ask for (`provider/name` in the config). @defaultValue the file's name without `.gguf` */
  model?: string;
  /**
   * Longest silence of the model, in milliseconds: until the first token
   * (reading the prompt included), and between two tokens. Loading the
   * model and waiting for a free sequence do not count.
   */
  timeoutMs: number;
  /** Most tokens one answer may have. @defaultValue 512 */
  maxTokens?: number;
  /** CPU threads evaluating tokens. @defaultValue `os.availableParallelism()` (the cores the machine really has) */
  threads?: number;
  /** Answers that run at once, each on its own context sequence (and memory for its context). @defaultValue 1 */
  sequences?: number;
  /** Calls that may wait for a sequence; one more fails at once as busy. @defaultValue 16 */
  maxQueued?: number;
  /**
   * Longest wait for a free sequence, in milliseconds. A call whose wait,
   * judged by recent answer times, would be longer fails at once as busy
   * (retryable: the router moves on to the next model of its chain); so
   * does one still waiting when it runs out. 0: never wait. @defaultValue 30_000
   */
  maxWaitMs?: number;
  /**
   * Most tokens each sequence's context holds, prompt and answer together
   * (fewer when memory or the model's own length is less). Older turns are
   * dropped when a conversation does not fit.
   * @defaultValue node-llama-cpp's `auto`: as many as memory allows, up to the model's training context
   */
  contextTokens?: number;
  /** Model layers offloaded to a GPU. @defaultValue node-llama-cpp's `auto` (what fits; none without a GPU) */
  gpuLayers?: GpuLayers;
  /** Also receives llama.cpp's own log lines (warnings at debug level, errors at warn). */
  log?: Logger;
}

/** What `/status` shows of an embedded model. */
export interface EmbeddedModelInfo {
  provider: string;
  model: string;
  /** The file as configured. */
  file: string;
  /** Size of the file now, in bytes; undefined when it cannot be read. */
  sizeBytes?: number;
  loaded: boolean;
  /** Tokens one sequence's context holds; undefined until loaded. */
  contextTokens?: number;
  /** The context the model was trained with, in tokens; undefined until loaded. */
  trainContextTokens?: number;
  sequences: number;
  /** Answers being generated now. */
  running: number;
  /** Calls waiting for a sequence. */
  waiting: number;
  /** Answers completed since the provider was made. */
  answers: number;
  /** Median time from a call to its first text, in milliseconds (recent answers, waiting included); undefined before any. */
  medianFirstTokenMs?: number;
  /** Median time one answer held its sequence, in milliseconds (recent answers); undefined before any. */
  medianAnswerMs?: number;
}

export interface EmbeddedProvider extends LlmProvider {
  readonly kind: "embedded";
  /** The model's state and recent figures. Never throws; does not load the model. */
  describe(): Promise<EmbeddedModelInfo>;
  /**
   * Refuses new and waiting calls, stops running answers and frees the
   * context (and the model, once no other provider uses it). Idempotent.
   */
  close(): Promise<void>;
}

const DEFAULT_MAX_TOKENS = 512;
const DEFAULT_MAX_QUEUED = 16;
const DEFAULT_MAX_WAIT_MS = 30_000;

/** The abort reason of answers stopped by `close()`. */
const CLOSING = Symbol("embedded provider closing");

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts (the promise runs on). */
function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A provider running the model in `options.file`; nothing is loaded before the first call. */
export function createEmbeddedProvider(options: EmbeddedProviderOptions): EmbeddedProvider {
  const file = path.resolve(options.file);
  const model = options.model ?? embeddedModelName(options.file);
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  const threads = options.threads ?? os.availableParallelism();
  const sequences = options.sequences ?? 1;
  const base: EmbeddedCallContext = { provider: options.name, model, file: options.file };
  if (options.log) routeNativeLogs(options.log);

  const answerTimes = new LatencyWindow();
  const firstTokenTimes = new LatencyWindow();
  let answers = 0;
  const queue = new AnswerQueue({
    places: sequences,
    maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
    maxWaitMs: options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
    typicalAnswerMs: () => answerTimes.median(),
    busyError: (reason) => busyError(base, reason),
  });

  let loading: Promise<Loaded> | undefined;
  let loaded: Loaded | undefined;
  let closed: Promise<void> | undefined;
  /** Each running answer's stop switch, for `close()`. */
  const stops = new Set<AbortController>();
  /** Each running generation, settled (never rejects), for `close()` to wait on. */
  const generations = new Set<Promise<unknown>>();

  function loadFailure(e: unknown): ParleyError {
    if (!(e instanceof ModelLoadFailure)) return loadError(base, e, false);
    if (e.stage === "file") return fileError(base, e.cause);
    if (e.stage === "not_a_file") return notAFileError(base);
    if (e.stage === "runtime") return runtimeError(base, e.cause);
    return loadError(base, e.cause, e.outOfMemory);
  }

  async function loadNow(): Promise<Loaded> {
    let shared: SharedModel;
    try {
      shared = await acquireModel(file, options.gpuLayers);
    } catch (e) {
      throw loadFailure(e);
    }
    try {
      allowThreads(shared.llama, threads);
      const context = await shared.model.createContext({
        sequences,
        threads,
        // At most this many: as many as memory allows up to the model's own length, never past it.
        ...(options.contextTokens !== undefined ? { contextSize: { max: options.contextTokens } } : {}),
      });
      return { shared, context, maxTokens, trainContextTokens: shared.model.trainContextSize };
    } catch (e) {
      await releaseModel(file, options.gpuLayers);
      throw loadError(base, e, e instanceof shared.lib.InsufficientMemoryError);
    }
  }

  /** The model and context, loaded by the first call; a failed load is tried again by the next. */
  function load(): Promise<Loaded> {
    if (!loading) {
      const attempt = loadNow().then((l) => (loaded = l));
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
      loading = attempt;
    }
    return loading;
  }

  /** Why a generation failed: the caller's own reason as is, else a `ParleyError`. */
  function convert(e: unknown, ctx: EmbeddedCallContext, stop: AbortController, timedOut: boolean, contextTokens: number): unknown {
    if (stop.signal.aborted) return stop.signal.reason === CLOSING ? closedError(ctx) : stop.signal.reason;
    if (e instanceof ParleyError) return e;
    if (timedOut) return timeoutError(ctx, options.timeoutMs, e);
    if (isContextTooSmall(e)) return tooLongError(ctx, contextTokens, e);
    return generationError(ctx, e);
  }

  function note(e: unknown): unknown {
    if (e instanceof ParleyError) options.log?.debug({ provider: options.name, code: e.code, detail: e.message }, "embedded call failed");
    return e;
  }

  async function* chat(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
    const ctx: EmbeddedCallContext = { ...base };
    if (req.model && req.model !== model) throw note(otherModelError(ctx, req.model));
    if (closed) throw note(closedError(ctx));
    const calledAt = performance.now();
    const l = await untilAborted(load(), signal).catch((e: unknown) => {
      throw note(e);
    });
    const place = await queue.acquire(signal).catch((e: unknown) => {
      throw note(e);
    });
    if (closed) {
      place.release();
      throw note(closedError(ctx));
    }

    // One switch for the caller's abort and close(); the guard adds the silence timer to it.
    const stop = new AbortController();
    const onCallerAbort = () => stop.abort(signal?.reason);
    if (signal?.aborted) onCallerAbort();
    else signal?.addEventListener("abort", onCallerAbort, { once: true });
    stops.add(stop);
    const guard = startCallGuard(options.timeoutMs, stop.signal);
    const heldSince = performance.now();
    const text = new TextPipe();
    let generation: Promise<Outcome> | undefined;
    try {
      generation = generate(l, req, guard.signal, () => guard.resume(), text).finally(() => {
        // The sequence is free once the model is done, however slowly the consumer reads.
        guard.dispose();
        place.release();
        text.end();
      });
      generations.add(generation);

      for await (const piece of text) {
        if (!ctx.textYielded) firstTokenTimes.add(performance.now() - calledAt);
        yield { type: "text", text: piece };
        ctx.textYielded = true;
      }
      const outcome = await generation;
      if (!outcome.ok) throw convert(outcome.error, ctx, stop, guard.timedOut, l.context.contextSize);
      answerTimes.add(outcome.endedAt - heldSince);
      answers++;
      yield { type: "done", model, usage: outcome.usage };
    } catch (e) {
      throw note(e);
    } finally {
      // Stops a generation still running (the consumer stopped reading) and waits until it lets go of its sequence.
      guard.dispose();
      if (generation) {
        await generation;
        generations.delete(generation);
      } else {
        place.release();
      }
      stops.delete(stop);
      signal?.removeEventListener("abort", onCallerAbort);
    }
  }

  async function models(): Promise<string[]> {
    return [model];
  }

  async function describe(): Promise<EmbeddedModelInfo> {
    const sizeBytes = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    return {
      provider: options.name,
      model,
      file: options.file,
      sizeBytes,
      loaded: loaded !== undefined,
      contextTokens: loaded?.context.contextSize,
      trainContextTokens: loaded?.trainContextTokens,
      sequences,
      running: queue.running,
      waiting: queue.waiting,
      answers,
      medianFirstTokenMs: firstTokenTimes.median(),
      medianAnswerMs: answerTimes.median(),
    };
  }

  function close(): Promise<void> {
    closed ??= (async () => {
      queue.refuseWaiting(closedError(base));
      for (const stop of stops) stop.abort(CLOSING);
      await Promise.all(generations);
      const l = await loading?.catch(() => undefined);
      loaded = undefined;
      if (!l) return;
      await l.context.dispose();
      await releaseModel(file, options.gpuLayers);
    })();
    return closed;
  }

  /** The context an answer gets, once the model is loaded: from then on the prompt is fitted to it. */
  async function contextTokens(): Promise<number | undefined> {
    return loaded?.context.contextSize;
  }

  return { name: options.name, kind: "embedded", chat, models, describe, close, contextTokens };
}
