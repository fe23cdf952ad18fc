/**
 * Asks each provider which models it has and compares them with the ones
 * the config points at: what start-up logs, `status` shows and `parley
 * doctor` prints.
 */
import { isParleyError } from "../core/errors.js";
import type { ProviderSetup } from "./setup.js";
import type { LlmProvider } from "./types.js";

/** A configured model the server does not have. */
export interface MissingModel {
  model: string;
  /** What to do about it, e.g. `ollama pull llama3.2`. */
  fix: string;
}

/** One provider's answer to "which models do you have?". */
export interface ProviderCheck {
  name: string;
  kind: LlmProvider["kind"];
  /** The server answered with a model list. */
  ok: boolean;
  /** What the server lists (empty when it did not answer). */
  models: string[];
  /** Configured models missing from that list (empty when the server did not answer). */
  missing: MissingModel[];
  /** A short, user-safe reason when not ok. */
  problem?: string;
  /** How long the check took, in milliseconds. */
  latencyMs: number;
}

/**
 * Ollama lists `llama3.2:latest` for a model asked for as `llama3.2`;
 * Anthropic lists `claude-haiku-4-5-20251001` for its alias `claude-haiku-4-5`.
 */
function hasModel(listed: readonly string[], wanted: string, kind: ProviderCheck["kind"]): boolean {
  if (listed.includes(wanted)) return true;
  if (kind === "anthropic") return listed.some((id) => id.startsWith(`${wanted}-`) && /^\d{8}$/.test(id.slice(wanted.length + 1)));
  return kind === "ollama" && !wanted.includes(":") && listed.includes(`${wanted}:latest`);
}

function fixFor(setup: ProviderSetup, model: string): string {
  // Not `llm.providers.<name>`: a provider set up by LLM_PROVIDER / LLM_MODEL has no such section.
  return setup.kind === "ollama" ? `ollama pull ${model}` : "check the model name; npx parley models lists what the server has";
}

/** Checks one provider, bounded by `timeoutMs`; never throws. */
async function checkProvider(provider: LlmProvider, setup: ProviderSetup, timeoutMs: number): Promise<ProviderCheck> {
  const started = performance.now();
  const base = { name: provider.name, kind: provider.kind };
  try {
    const models = await provider.models(AbortSignal.timeout(timeoutMs));
    const missing = setup.models.filter((m) => !hasModel(models, m, setup.kind)).map((model) => ({ model, fix: fixFor(setup, model) }));
    return { ...base, ok: true, models, missing, latencyMs: performance.now() - started };
  } catch (e) {
    const problem = isParleyError(e) ? e.userMessage : "it did not answer";
    return { ...base, ok: false, models: [], missing: [], problem, latencyMs: performance.now() - started };
  }
}

/** Checks every provider at once. */
export function checkProviders(
  providers: ReadonlyArray<{ provider: LlmProvider; setup: ProviderSetup }>,
  timeoutMs: number,
): Promise<ProviderCheck[]> {
  return Promise.all(providers.map(({ provider, setup }) => checkProvider(provider, setup, timeoutMs)));
}
