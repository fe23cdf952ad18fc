/**
 * Turns what goes wrong with the embedded model into `ParleyError`, in one
 * place: a model file that is missing, unreadable or corrupt, a runtime that
 * cannot start, a busy model, silence, an answer cut short. The codes are
 * the ones the other providers use, so the router retries and falls back
 * alike. User messages name the provider's model, and the file where the
 * file is the problem; the native library's own words go to the detail.
 */
import { ParleyError } from "../core/errors.js";
import type { BusyReason } from "./embedded-queue.js";

/** What the failed call was, for the messages. */
export interface EmbeddedCallContext {
  /** The configured provider name. */
  provider: string;
  /** The model's name (its file name without `.gguf`). */
  model: string;
  /** The model file as configured. */
  file: string;
  /** Some answer text already went to the consumer. */
  textYielded?: boolean;
}

const NATIVE_MESSAGE_MAX_CHARS = 300;

function detail(ctx: EmbeddedCallContext, what: string): string {
  return `${ctx.provider} (${ctx.model}): ${what}`;
}

function nativeWords(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, NATIVE_MESSAGE_MAX_CHARS);
}

function fsCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** `stat` or `open` of the model file failed. */
export function fileError(ctx: EmbeddedCallContext, e: unknown): ParleyError {
  const code = fsCode(e);
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new ParleyError("model_not_found", `The embedded model file ${ctx.file} does not exist.`, {
      cause: e,
      detail: detail(ctx, `no file at ${ctx.file}`),
    });
  }
  return new ParleyError("provider_unavailable", `The embedded model file ${ctx.file} cannot be read${code ? ` (${code})` : ""}.`, {
    cause: e,
    detail: detail(ctx, `cannot read ${ctx.file}: ${nativeWords(e)}`),
  });
}

/** The path names something that is not a regular file (a folder, a device). */
export function notAFileError(ctx: EmbeddedCallContext): ParleyError {
  return new ParleyError("model_not_found", `The embedded model file ${ctx.file} is not a file.`, {
    detail: detail(ctx, `${ctx.file} is not a regular file`),
  });
}

/**
 * `loadModel` or `createContext` failed: too little memory (node-llama-cpp's
 * `InsufficientMemoryError`, told by the caller, which holds the class), or a
 * corrupt or truncated file.
 */
export function loadError(ctx: EmbeddedCallContext, e: unknown, outOfMemory: boolean): ParleyError {
  if (outOfMemory) {
    return new ParleyError("provider_error", `There is not enough memory to load the embedded model ${ctx.file}.`, {
      cause: e,
      detail: detail(ctx, `insufficient memory: ${nativeWords(e)}`),
    });
  }
  // node-llama-cpp's own GGUF reader (InvalidGgufMagicError and friends), or llama.cpp's
  // loader ("Failed to load model", the reason in its log: data outside the file's bounds...).
  return new ParleyError(
    "provider_bad_response",
    `The embedded model file ${ctx.file} could not be loaded: it is not a valid GGUF model (truncated, corrupt, or an architecture this version does not know).`,
    { cause: e, detail: detail(ctx, `load failed: ${nativeWords(e)}`) },
  );
}

/** node-llama-cpp found no binary that runs here (it is never asked to build one at run time). */
export function runtimeError(ctx: EmbeddedCallContext, e: unknown): ParleyError {
  return new ParleyError("provider_unavailable", "The embedded model runtime (node-llama-cpp) cannot run on this machine.", {
    cause: e,
    detail: detail(ctx, `getLlama failed: ${nativeWords(e)}`),
  });
}

/** Every sequence is answering and the line is too long: busy, so the router asks the next model at once. */
export function busyError(ctx: EmbeddedCallContext, reason: BusyReason): ParleyError {
  const why =
    reason.kind === "queue_full"
      ? `busy: ${reason.queued} calls already waiting`
      : reason.kind === "expected_wait"
        ? `busy: expected wait ${Math.round(reason.expectedWaitMs)} ms, more than maxWaitMs ${reason.maxWaitMs}`
        : `busy: no free sequence within maxWaitMs ${reason.maxWaitMs}`;
  return new ParleyError("provider_unavailable", `The embedded model ${ctx.model} is busy with other answers.`, {
    retryable: true,
    busy: true,
    detail: detail(ctx, why),
  });
}

/** The model was silent longer than `timeoutMs`: before the first token, or between two. */
export function timeoutError(ctx: EmbeddedCallContext, timeoutMs: number, cause?: unknown): ParleyError {
  return new ParleyError("provider_timeout", `The embedded model ${ctx.model} did not answer in time.`, {
    cause,
    retryable: true,
    detail: detail(ctx, `no token within timeoutMs ${timeoutMs}`),
  });
}

/** The conversation does not fit the context, even after node-llama-cpp dropped old turns. */
export function tooLongError(ctx: EmbeddedCallContext, contextTokens: number, cause: unknown): ParleyError {
  return new ParleyError(
    "provider_bad_request",
    `The conversation is too long for the embedded model ${ctx.model} (its context holds ${contextTokens} tokens).`,
    { cause, detail: detail(ctx, `context of ${contextTokens} tokens too small: ${nativeWords(cause)}`) },
  );
}

/** The provider was closed: before any text nobody answered; after some, the answer was cut. */
export function closedError(ctx: EmbeddedCallContext): ParleyError {
  if (ctx.textYielded) return cutError(ctx, undefined, "provider closed while answering");
  return new ParleyError("provider_unavailable", `The embedded model ${ctx.model} is shut down.`, {
    detail: detail(ctx, "provider closed"),
  });
}

/** The answer stopped before its end; retryable only when nothing was shown yet. */
export function cutError(ctx: EmbeddedCallContext, cause: unknown, what: string): ParleyError {
  return new ParleyError("stream_cut", `The answer from the embedded model ${ctx.model} stopped before its end.`, {
    cause,
    retryable: !ctx.textYielded,
    detail: detail(ctx, what),
  });
}

/** Generation failed for a reason of the native side (a decode error, a disposed context). */
export function generationError(ctx: EmbeddedCallContext, cause: unknown): ParleyError {
  if (ctx.textYielded) return cutError(ctx, cause, `generation failed: ${nativeWords(cause)}`);
  return new ParleyError("provider_error", `The embedded model ${ctx.model} failed while answering.`, {
    cause,
    retryable: true,
    detail: detail(ctx, `generation failed: ${nativeWords(cause)}`),
  });
}

/** A request for a model this provider does not run. */
export function otherModelError(ctx: EmbeddedCallContext, asked: string): ParleyError {
  return new ParleyError("model_not_found", `Model ${asked} is not the embedded model of ${ctx.provider}, which runs ${ctx.model}.`, {
    detail: detail(ctx, `asked for model ${asked}`),
  });
}

/** node-llama-cpp's words when the context cannot hold the conversation. */
export function isContextTooSmall(e: unknown): boolean {
  return e instanceof Error && /context size is too small/i.test(e.message);
}
