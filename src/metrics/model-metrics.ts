/** The narrow face of the metrics that the model router reports to, so `src/llm/` needs no prom-client. */
import type { ErrorCode } from "../core/errors.js";
import type { TokenUsage } from "../llm/types.js";

/** One model answer that completed, as the router saw it. */
export interface ModelAnswer {
  /** The provider's configured name. */
  provider: string;
  /** The model as configured (not as the server renamed it), so a dashboard's series match the config. */
  model: string;
  /** Milliseconds from the call to its first text; undefined when the answer had none. */
  firstTokenMs?: number;
  /** Milliseconds from the call to its end. */
  totalMs: number;
  /** As the server reported it; undefined when it reported none. */
  usage?: TokenUsage;
  /** At the configured prices; 0 without a price. */
  cost: number;
  currency: string;
}

/** What the model router reports; the router runs without it (doctor, models). */
export interface ModelMetrics {
  answered(answer: ModelAnswer): void;
  /** One call to one model failed (a retry or a fallback may still answer). */
  callFailed(provider: string, model: string, code: ErrorCode): void;
  /** An answer started (+1) or ended (-1), however it ended. */
  streaming(change: 1 | -1): void;
}
