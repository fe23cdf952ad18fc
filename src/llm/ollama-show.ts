/**
 * Ollama's `/api/show`, asked once per model and shared by what reads it:
 * the context window (`ollama-context.ts`) and whether the model can see
 * images (`capabilities`).
 */

/** Asks the server about a model; bounded by its own timeout, throws on any failure. */
export type ShowModel = (model: string, signal?: AbortSignal) => Promise<unknown>;

/**
 * Keeps each answer for the life of the provider; a failed request is
 * forgotten, so the next call asks again rather than going without for good
 * because the server was briefly down.
 */
export function showOncePerModel(show: ShowModel): ShowModel {
  const answers = new Map<string, Promise<unknown>>();
  return (model, signal) => {
    let answer = answers.get(model);
    if (!answer) {
      answer = show(model, signal);
      answers.set(model, answer);
      const asked = answer;
      asked.catch(() => {
        if (answers.get(model) === asked) answers.delete(model);
      });
    }
    return answer;
  };
}

/**
 * Whether the model takes images: Ollama (0.6 and later) lists `vision` in
 * `capabilities`. Undefined when the answer has no capabilities (an older
 * server): then only the config's `vision` list can say.
 */
export function visionFromShow(show: unknown): boolean | undefined {
  if (typeof show !== "object" || show === null) return undefined;
  const { capabilities } = show as { capabilities?: unknown };
  return Array.isArray(capabilities) ? capabilities.includes("vision") : undefined;
}
