import type { Adapter } from "../core/adapter.js";
import type { ModelRouter } from "../llm/router.js";
import type { KeyValueStore } from "../store/kv.js";
import type { ReadinessChecks } from "./health.js";

/** How long `/readyz` waits for a model server's list of models, in milliseconds. */
const modelListTimeoutMs = 2_000;

/**
 * What `/readyz` asks of the running bot: the store answers (not marked
 * away, and a PING comes back), every adapter has started and says it is
 * connected (one without `ready()` counts as connected once started), and
 * some model provider lists its models (no model is run).
 */
export function appReadiness(parts: { kv: KeyValueStore; llm: ModelRouter; adapters: readonly Adapter[]; started: readonly Adapter[] }): ReadinessChecks {
  return {
    store: async () => parts.kv.reachable && (await parts.kv.ping()),
    adaptersNotReady: () => parts.adapters.filter((a) => !parts.started.includes(a) || a.ready?.() === false).map((a) => a.platform),
    models: async () => (await parts.llm.health(modelListTimeoutMs)).some((check) => check.ok),
  };
}
