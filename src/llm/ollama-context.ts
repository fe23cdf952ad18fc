/**
 * The context window Parley asks of Ollama for each model (`num_ctx`).
 * Without it Ollama uses its own default (2048 or 4096 tokens, by version)
 * and silently drops the start of a longer prompt. The window is the
 * configured one, else the model's own trained length from `/api/show`,
 * capped, because every token of window costs memory on the Ollama machine.
 */
import type { Logger } from "pino";

export interface ContextWindowOptions {
  /** Configured windows by model name, in tokens (`contextTokens` of the provider). */
  configured: Record<string, number>;
  /** The largest window asked for a model that is not configured, in tokens (`llm.maxContextTokens`). */
  maxTokens: number;
  /** Asks the server about a model (`/api/show`); bounded by its own timeout, throws on any failure. */
  show(model: string, signal?: AbortSignal): Promise<unknown>;
  log?: Logger;
}

/** Looks up a model's window; resolves undefined when it is not known (leave `num_ctx` unset). Never throws. */
export type ContextWindows = (model: string, signal?: AbortSignal) => Promise<number | undefined>;

/** `llama3.2` and `llama3.2:latest` are one model to Ollama. */
function sameModelNames(model: string): string[] {
  return model.endsWith(":latest") ? [model, model.slice(0, -":latest".length)] : [model, `${model}:latest`];
}

/**
 * The window the model file sets itself (`PARAMETER num_ctx` in a
 * Modelfile), else its trained length (`<architecture>.context_length` in
 * `model_info`); undefined when the answer has neither.
 */
export function windowFromShow(show: unknown): { tokens: number; from: "modelfile" | "model" } | undefined {
  if (typeof show !== "object" || show === null) return undefined;
  const { parameters, model_info: info } = show as { parameters?: unknown; model_info?: unknown };
  const set = typeof parameters === "string" ? /^\s*num_ctx\s+(\d+)\s*$/m.exec(parameters) : null;
  if (set && Number(set[1]) > 0) return { tokens: Number(set[1]), from: "modelfile" };
  if (typeof info !== "object" || info === null) return undefined;
  const fields = info as Record<string, unknown>;
  const arch = fields["general.architecture"];
  const length = typeof arch === "string" ? fields[`${arch}.context_length`] : undefined;
  return typeof length === "number" && Number.isInteger(length) && length > 0 ? { tokens: length, from: "model" } : undefined;
}

/**
 * One lookup per model for the life of the provider: answers (even ones
 * without a length) are kept; a failed request is logged at debug and
 * forgotten, so the next call asks again rather than going without a
 * window for good because the server was briefly down.
 */
export function createContextWindows(opts: ContextWindowOptions): ContextWindows {
  const known = new Map<string, Promise<number | undefined>>();

  async function lookUp(model: string, signal?: AbortSignal): Promise<number | undefined> {
    let show: unknown;
    try {
      show = await opts.show(model, signal);
    } catch (error) {
      known.delete(model);
      opts.log?.debug({ model, err: error }, "ollama: could not read the model's context length; num_ctx left to the server");
      return undefined;
    }
    const window = windowFromShow(show);
    if (!window) {
      opts.log?.debug({ model }, "ollama: the server gave no context length for the model; num_ctx left to the server");
      return undefined;
    }
    // A window the model file sets is the owner's choice; the trained length is only an upper bound.
    return window.from === "modelfile" ? window.tokens : Math.min(window.tokens, opts.maxTokens);
  }

  return (model, signal) => {
    const configured = sameModelNames(model)
      .map((name) => opts.configured[name])
      .find((tokens) => tokens !== undefined);
    if (configured !== undefined) return Promise.resolve(configured);
    let window = known.get(model);
    if (!window) {
      window = lookUp(model, signal);
      known.set(model, window);
    }
    return window;
  };
}
