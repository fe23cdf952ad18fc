/**
 * Voice to text through an OpenAI-compatible `/v1/audio/transcriptions`
 * endpoint (OpenAI's whisper-1 or gpt-4o-transcribe, Groq's whisper models,
 * a local whisper server), named by `llm.transcription` as `provider/model`
 * of a provider of kind `openai`.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, toFile } from "openai";
import { ParleyError } from "../core/errors.js";
import { statusError, timeoutError, transportError, unavailableError, type CallContext } from "./convert-error.js";
import { parseTarget, transcriptionProblem, type LlmSetup } from "./setup.js";

export interface Transcriber {
  /** `provider/model`, for logs. */
  readonly target: string;
  /** The words of `audio`; rejects with a ParleyError saying what went wrong. */
  transcribe(audio: Buffer, name: string, signal?: AbortSignal): Promise<string>;
}

/** Voice messages longer than this take long to send; a transcription waits this long at most, in milliseconds. */
const TRANSCRIPTION_TIMEOUT_MS = 120_000;

/**
 * The transcriber `ref` names, or a reason it cannot be made (a provider
 * that is not OpenAI-compatible, or none of that name).
 */
export function createTranscriber(ref: string, setup: LlmSetup): Transcriber | { problem: string } {
  const problem = transcriptionProblem(ref, setup);
  if (problem) return { problem };
  const target = parseTarget(ref, new Set(setup.providers.map((p) => p.name)))!;
  const provider = setup.providers.find((p) => p.name === target.provider)!;
  const client = new OpenAI({
    baseURL: provider.baseUrl,
    apiKey: provider.apiKey || "not-needed",
    maxRetries: 1,
    timeout: TRANSCRIPTION_TIMEOUT_MS,
    logLevel: "off",
  });
  const ctx: CallContext = { provider: provider.name, kind: "openai", model: target.model, address: provider.baseUrl };
  return {
    target: `${target.provider}/${target.model}`,
    async transcribe(audio, name, signal) {
      try {
        const result = await client.audio.transcriptions.create({ file: await toFile(audio, name), model: target.model }, { signal });
        return result.text.trim();
      } catch (e) {
        throw convert(e, ctx, signal);
      }
    },
  };
}

function convert(e: unknown, ctx: CallContext, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? e;
  if (e instanceof ParleyError) return e;
  if (e instanceof APIConnectionTimeoutError) return timeoutError(ctx, e);
  if (e instanceof APIConnectionError) return transportError(e.cause, ctx) ?? unavailableError(ctx, e);
  if (e instanceof APIError && typeof e.status === "number") {
    return statusError(ctx, { status: e.status, serverMessage: e.message, modelMissing: e.status === 404, cause: e });
  }
  return transportError(e, ctx) ?? unavailableError(ctx, e);
}
