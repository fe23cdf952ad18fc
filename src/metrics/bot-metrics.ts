/**
 * Everything `/metrics` shows, on a registry of its own: one per app, so
 * several apps in one process (tests, a ShardingManager's children are
 * processes anyway) never register a metric twice.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ErrorCode } from "../core/errors.js";
import type { Platform } from "../core/types.js";
import type { LimitKind, LimitWindow } from "../ratelimit/user-limits.js";
import { countMessage, type CountedMessage } from "./messages.js";
import { metricNames } from "./names.js";
import type { ModelMetrics, ModelAnswer } from "./model-metrics.js";

/** Seconds to a model's first token: a warm local model answers in a fraction of one, a cold load takes tens. */
const FIRST_TOKEN_BUCKETS_SEC = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];
/** Seconds of a whole answer, up to the default `llm.maxAnswerMs` and beyond. */
const ANSWER_BUCKETS_SEC = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300];

/** The app's metrics: what the dispatcher, the router and the adapters report, and the registry `/metrics` reads. */
export class BotMetrics implements ModelMetrics {
  readonly registry = new Registry();
  readonly #messages: Counter;
  readonly #errors: Counter;
  readonly #limitRefusals: Counter;
  readonly #platformRateLimited: Counter;
  readonly #firstToken: Histogram;
  readonly #answer: Histogram;
  readonly #tokens: Counter;
  readonly #cost: Counter;
  readonly #modelFailures: Counter;
  readonly #streaming: Gauge;

  /** @param options.defaultMetrics Also export Node's process metrics (CPU, memory, event loop, GC). @defaultValue true */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.#messages = new Counter({
      name: metricNames.messages,
      help: "Messages addressed to the bot, by platform, command and outcome",
      labelNames: ["platform", "command", "outcome"],
      registers,
    });
    this.#errors = new Counter({ name: metricNames.errors, help: "Messages answered with an error, by error code", labelNames: ["platform", "command", "code"], registers });
    this.#limitRefusals = new Counter({
      name: metricNames.limitRefusals,
      help: "Requests refused by a user's rate limit, by kind (model, command) and window",
      labelNames: ["platform", "kind", "window"],
      registers,
    });
    this.#platformRateLimited = new Counter({
      name: metricNames.platformRateLimited,
      help: "Calls the platform answered with 429 Too Many Requests",
      labelNames: ["platform"],
      registers,
    });
    this.#firstToken = new Histogram({
      name: metricNames.firstToken,
      help: "Seconds from calling a model to its first text, for answers that completed",
      labelNames: ["provider", "model"],
      buckets: FIRST_TOKEN_BUCKETS_SEC,
      registers,
    });
    this.#answer = new Histogram({
      name: metricNames.answer,
      help: "Seconds from calling a model to the end of its answer, for answers that completed",
      labelNames: ["provider", "model"],
      buckets: ANSWER_BUCKETS_SEC,
      registers,
    });
    this.#tokens = new Counter({
      name: metricNames.tokens,
      help: "Tokens as the model server reported them, by kind (prompt, completion)",
      labelNames: ["provider", "model", "kind"],
      registers,
    });
    this.#cost = new Counter({ name: metricNames.cost, help: "Cost of the answers at the configured prices", labelNames: ["provider", "model", "currency"], registers });
    this.#modelFailures = new Counter({
      name: metricNames.modelFailures,
      help: "Model calls that failed (each retry and fallback counts), by error code",
      labelNames: ["provider", "model", "code"],
      registers,
    });
    this.#streaming = new Gauge({ name: metricNames.streaming, help: "Model answers in progress now", registers });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Starts counting a message addressed to the bot. */
  messageReceived(platform: Platform): CountedMessage {
    return countMessage(platform, { messages: this.#messages, errors: this.#errors });
  }

  /** A user's request refused by their rate limit. */
  limitRefused(platform: Platform, kind: LimitKind, window: LimitWindow): void {
    this.#limitRefusals.inc({ platform, kind, window });
  }

  /** The platform answered one of our calls with 429. */
  platformRateLimited(platform: Platform): void {
    this.#platformRateLimited.inc({ platform });
  }

  answered({ provider, model, firstTokenMs, totalMs, usage, cost, currency }: ModelAnswer): void {
    const labels = { provider, model };
    if (firstTokenMs !== undefined) this.#firstToken.observe(labels, firstTokenMs / 1000);
    this.#answer.observe(labels, totalMs / 1000);
    if (usage) {
      this.#tokens.inc({ ...labels, kind: "prompt" }, usage.promptTokens);
      this.#tokens.inc({ ...labels, kind: "completion" }, usage.completionTokens);
    }
    if (cost > 0) this.#cost.inc({ ...labels, currency }, cost);
  }

  callFailed(provider: string, model: string, code: ErrorCode): void {
    this.#modelFailures.inc({ provider, model, code });
  }

  streaming(change: 1 | -1): void {
    this.#streaming.inc(change);
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
