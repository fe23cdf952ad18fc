import type { Logger } from "pino";
import { isParleyError, ParleyError, type ErrorCode } from "../core/errors.js";
import type { Persona } from "../personas/catalog.js";
import { checkProviders, type ProviderCheck } from "./availability.js";
import { backoffMs, sleep } from "./backoff.js";
import { CircuitBreaker } from "./breaker.js";
import { cannotSee, coolingDown, giveUp, noteFor, type Failure } from "./chain-failures.js";
import { LatencyWindow } from "./latency.js";
import type { ModelMetrics } from "../metrics/model-metrics.js";
import { classify, type Complexity } from "./complexity.js";
import type { EmbeddedModelInfo, EmbeddedProvider } from "./embedded.js";
import { costOf } from "./prices.js";
import { parseTarget, targetName, unloadsAtOnce, type LlmSetup, type ModelTarget, type ProviderSetup } from "./setup.js";
import type { ChatDelta, ChatMessage, LlmProvider, TokenUsage } from "./types.js";
import { WarmModels } from "./warm-models.js";

/** Which provider and model answer one message, and why. */
export interface ModelChoice {
  provider: LlmProvider;
  model: string;
  /**
   * The persona's `model`, a routing rule, hybrid routing by complexity, the
   * default, or `llm.visionModel` for images the chosen model cannot see.
   */
  reason: "persona" | "route" | "hybrid" | "default" | "vision";
  /** Position of the routing rule in `llm.routes` (from 0) when `reason` is `route`. */
  rule?: number;
  /** How the message was classified, when `reason` is `hybrid`. */
  complexity?: Complexity;
}

export interface RouterOptions {
  setup: LlmSetup;
  /** A client for every provider of `setup`, by name. */
  providers: ReadonlyMap<string, LlmProvider>;
  log: Logger;
  /** Jitter source, for tests. @defaultValue Math.random */
  random?: () => number;
  /** Where latencies, tokens and failures are reported (`/metrics`); none when absent. */
  metrics?: ModelMetrics;
}

/** What `status` shows of a provider: its model list and how it has been doing. */
export interface ProviderHealth extends ProviderCheck {
  /** Median time to the first token of recent answers, in milliseconds; undefined before the first. */
  medianLatencyMs?: number;
  /** Answers the median is taken over (at most the last 50). */
  latencySamples: number;
  /** Milliseconds the provider is still skipped after repeated failures; 0 when it is called. */
  coolingDownMs: number;
  /** Ollama with `maxLoadedModels`: the models we keep loaded, least recently used first. */
  loadedModels?: string[];
  /** Embedded: the model file, its size and context, and its answers so far. */
  embedded?: EmbeddedModelInfo;
}

/** A routing rule as `status` shows it. */
export interface RouteDescription {
  /** E.g. `/\b(code|bug)\b/ and at most 80 characters`. */
  when: string;
  /** `provider/model`. */
  target: string;
}

/**
 * The signal of one message's whole answer: the caller's, or the end of
 * `maxAnswerMs`, so a hung server cannot hold a channel past it.
 */
function answerDeadline(maxAnswerMs: number, callerSignal?: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const timeUp = new AbortController();
  const timer = setTimeout(() => {
    const seconds = Math.round(maxAnswerMs / 1000);
    timeUp.abort(new ParleyError("provider_timeout", `The model took longer than ${seconds} s to answer, so I stopped waiting.`, { detail: `no answer within llm.maxAnswerMs (${maxAnswerMs} ms)` }));
  }, maxAnswerMs);
  timer.unref();
  return {
    signal: callerSignal ? AbortSignal.any([callerSignal, timeUp.signal]) : timeUp.signal,
    dispose: () => clearTimeout(timer),
  };
}

/** `llava` and `llava:latest` are one model to Ollama; other servers have no `:latest` names. */
function sameModel(a: string, b: string): boolean {
  return a === b || a.replace(/:latest$/, "") === b.replace(/:latest$/, "");
}

/** Failures that say the server is in trouble (as opposed to our request or config). */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["provider_unavailable", "provider_timeout", "provider_error", "provider_rate_limited", "stream_cut"]);

interface Slot {
  provider: LlmProvider;
  setup: ProviderSetup;
  breaker: CircuitBreaker;
  latency: LatencyWindow;
  warm?: WarmModels;
  /** The last failure, to say why a provider on cool-down is skipped. */
  lastProblem?: ParleyError;
}

/**
 * Chooses a model for each message and streams its answer, retrying and
 * falling back while nothing has been shown yet.
 *
 * Choice: the persona's `model` (`provider/model`, or a model of the
 * default provider), else the first routing rule that matches the text,
 * else the default. Failures: retryable ones (refused, timeout, 5xx, 429)
 * are retried with backoff up to `retry.attempts` tries, the others go
 * straight to the next model of the fallback chain; a provider failing
 * `cooldown.failures` times in a row is skipped for `cooldown.ms`.
 */
export class ModelRouter {
  readonly #setup: LlmSetup;
  readonly #slots = new Map<string, Slot>();
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #metrics?: ModelMetrics;

  constructor(options: RouterOptions) {
    this.#setup = options.setup;
    this.#log = options.log;
    this.#random = options.random ?? Math.random;
    this.#metrics = options.metrics;
    for (const setup of options.setup.providers) {
      const provider = options.providers.get(setup.name);
      if (!provider) throw new Error(`no client for provider ${setup.name}`);
      const keepsWarm = setup.kind === "ollama" && setup.maxLoadedModels !== undefined && !unloadsAtOnce(setup.keepAlive);
      this.#slots.set(setup.name, {
        provider,
        setup,
        breaker: new CircuitBreaker(options.setup.cooldown.failures, options.setup.cooldown.ms),
        latency: new LatencyWindow(),
        warm: keepsWarm ? new WarmModels(setup.maxLoadedModels!) : undefined,
      });
    }
  }

  /** The model answering when no persona model or route applies. */
  get defaultChoice(): ModelChoice {
    return { ...this.#resolve(this.#setup.defaultTarget), reason: "default" };
  }

  /** The currency prices are in, for display. */
  get currency(): string {
    return this.#setup.currency;
  }

  /** Some model has a price: costs are worth showing. */
  get hasPrices(): boolean {
    return this.#setup.providers.some((p) => Object.keys(p.prices).length > 0);
  }

  /**
   * Persona model > first matching routing rule > hybrid routing (the
   * message's class, counting `historyTokens` of history sent with it) > default.
   * A rule with `hasImages` matches only when `message.hasImages`; whether
   * the choice can see them is {@link visionChoice}'s question.
   */
  choose(persona?: Persona, text?: string, historyTokens = 0, message: { hasImages?: boolean } = {}): ModelChoice {
    const personal = this.personaTarget(persona);
    if (personal) return { ...this.#resolve(personal), reason: "persona" };
    if (text !== undefined) {
      const hasImages = message.hasImages === true;
      const rule = this.#setup.routes.find(
        (r) => (!r.hasImages || hasImages) && (!r.pattern || r.pattern.test(text)) && (r.maxChars === undefined || text.length <= r.maxChars),
      );
      if (rule) return { ...this.#resolve(rule.target), reason: "route", rule: rule.index };
      const hybrid = this.#setup.hybrid;
      if (hybrid) {
        const complexity = classify(text, historyTokens, hybrid);
        return { ...this.#resolve(hybrid.targets[complexity.class]), reason: "hybrid", complexity };
      }
    }
    return this.defaultChoice;
  }

  /**
   * Whether `choice` takes images: the config says so (the provider's
   * `vision`, `llm.visionModel`, a route with `hasImages`), else the provider
   * does (Ollama's `/api/show`, well-known hosted names). Not known counts
   * as cannot: a model is never sent images it may not take.
   */
  async canSee(choice: Pick<ModelChoice, "provider" | "model">, signal?: AbortSignal): Promise<boolean> {
    return this.#canSee({ provider: choice.provider.name, model: choice.model }, signal);
  }

  /**
   * The model for a message with images: `choice` when it can see them, else
   * `llm.visionModel`, else the model of a route with only `hasImages: true`;
   * with none, one sentence for the user saying what to configure.
   */
  async visionChoice(choice: ModelChoice, signal?: AbortSignal): Promise<{ choice: ModelChoice } | { refuse: string }> {
    if (await this.canSee(choice, signal)) return { choice };
    const vision = this.#setup.visionTarget;
    if (vision) return { choice: { ...this.#resolve(vision), reason: "vision" } };
    // A rule with a pattern or maxChars was already tried by choose() against the text; one with only hasImages takes every image.
    const rule = this.#setup.routes.find((r) => r.hasImages && !r.pattern && r.maxChars === undefined);
    if (rule) return { choice: { ...this.#resolve(rule.target), reason: "route", rule: rule.index } };
    const name = targetName({ provider: choice.provider.name, model: choice.model });
    return {
      refuse: `The model ${name} cannot see images; to have them answered, set llm.visionModel (LLM_VISION_MODEL) to one that can, such as ollama/llava or openai/gpt-4o-mini.`,
    };
  }

  async #canSee(target: ModelTarget, signal?: AbortSignal): Promise<boolean> {
    const slot = this.#slots.get(target.provider);
    if (!slot) return false;
    const declared = [
      ...slot.setup.vision.map((model) => ({ provider: slot.setup.name, model })),
      ...(this.#setup.visionTarget ? [this.#setup.visionTarget] : []),
      ...this.#setup.routes.filter((r) => r.hasImages).map((r) => r.target),
    ];
    if (declared.some((t) => t.provider === target.provider && (t.model === "*" || sameModel(t.model, target.model)))) return true;
    return (await slot.provider.canSee?.(target.model, signal)) === true;
  }

  /** Hybrid routing's targets as `provider/model` by class, or undefined when it is off. */
  get hybridTargets(): { simple: string; medium?: string; complex: string } | undefined {
    const hybrid = this.#setup.hybrid;
    if (!hybrid) return undefined;
    const { simple, medium, complex } = hybrid.targets;
    return { simple: targetName(simple), ...(hybrid.hasMedium ? { medium: targetName(medium) } : {}), complex: targetName(complex) };
  }

  /** Hybrid routing's simple target: what a message of another class gets when the bot's budget is spent. */
  hybridSimple(complexity: Complexity): ModelChoice | undefined {
    const hybrid = this.#setup.hybrid;
    return hybrid && { ...this.#resolve(hybrid.targets.simple), reason: "hybrid", complexity };
  }

  /** A model named outside the routing (`provider/model`, or a model of the default provider): the budgets' free model. */
  named(ref: string): ModelChoice {
    const target = parseTarget(ref, new Set(this.#slots.keys()), this.#setup.defaultTarget.provider)!;
    return { ...this.#resolve(target), reason: "default" };
  }

  /** The persona's own model as `provider/model`, or undefined when it names none. */
  personaTarget(persona?: Persona): ModelTarget | undefined {
    if (!persona?.model) return undefined;
    return parseTarget(persona.model, new Set(this.#slots.keys()), this.#setup.defaultTarget.provider);
  }

  /** The routing rules, in order, for `status`. */
  describeRoutes(): RouteDescription[] {
    return this.#setup.routes.map((r) => {
      const parts: string[] = [];
      if (r.pattern) parts.push(`/${r.pattern.source}/`);
      if (r.maxChars !== undefined) parts.push(`at most ${r.maxChars} characters`);
      if (r.hasImages) parts.push("with images");
      return { when: parts.join(" and "), target: targetName(r.target) };
    });
  }

  /** The fallback chain as `provider/model`s. */
  fallbackChain(): string[] {
    return this.#setup.fallback.map(targetName);
  }

  /** Cost of an answer of `target` (`provider/model`) with the configured prices; 0 without a price. */
  costOf(target: string, usage: TokenUsage): number {
    const parsed = parseTarget(target, new Set(this.#slots.keys()));
    if (!parsed) return 0;
    return costOf(this.#slots.get(parsed.provider)?.setup.prices[parsed.model], usage);
  }

  /**
   * Streams the answer of `choice`, or of the fallback chain after it.
   * Retries and fallbacks happen only before the first text: once text has
   * been yielded, a failure is rethrown as is (the caller shows a cut
   * answer). The final `done` names the model that answered (`target`) and,
   * when it was not `choice`, why (`fallback`). Throws `ParleyError` when no
   * model could answer. When the messages carry images, models of the chain
   * that cannot see them are skipped, never sent them.
   */
  async *chat(
    choice: Pick<ModelChoice, "provider" | "model">,
    messages: ChatMessage[],
    opts: { temperature?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<ChatDelta> {
    const first: ModelTarget = { provider: choice.provider.name, model: choice.model };
    const chain = [first, ...this.#setup.fallback.filter((t) => targetName(t) !== targetName(first))];
    const failures: Failure[] = [];
    const temperature = opts.temperature ?? this.#setup.temperature;
    const deadline = answerDeadline(this.#setup.maxAnswerMs, opts.signal);
    const signal = deadline.signal;
    // A model on cool-down is skipped only while another could still answer: with none left, one is tried
    // anyway (a refused connection costs nothing, and the server may be back). A server that asked us to stay
    // away (a long retry-after) is left alone all the same.
    const tried = new Set<string>();
    const untriedCallable = () => chain.some((t) => !tried.has(targetName(t)) && this.#slots.get(t.provider)?.breaker.waitMs() === 0);
    let lastHopeTried = false;
    const carriesImages = messages.some((m) => (m.images?.length ?? 0) > 0);

    this.#metrics?.streaming(1);
    try {
      for (const target of chain) {
        const slot = this.#slots.get(target.provider);
        if (!slot) {
          // A persona naming a provider the router does not have: the choice was made elsewhere.
          failures.push({ target, error: new ParleyError("bad_input", `There is no provider named ${target.provider}.`) });
          continue;
        }
        if (carriesImages && !(await this.#canSee(target, signal))) {
          failures.push(cannotSee(target));
          continue;
        }
        let lastHope = false;
        for (let attempt = 1; ; attempt++) {
          const waitMs = slot.breaker.waitMs();
          if (waitMs > 0 && !lastHope) {
            const mayTry = attempt === 1 && !lastHopeTried && slot.breaker.askedToWaitMs() === 0 && !untriedCallable();
            if (!mayTry) {
              failures.push({ target, error: coolingDown(slot.setup.name, slot.lastProblem, waitMs) });
              break;
            }
            lastHope = lastHopeTried = true;
          }
          const shown = { text: false };
          tried.add(targetName(target));
          try {
            const done = yield* this.#attempt(slot, target, messages, temperature, shown, signal);
            // A retry of the same model that succeeds is no fallback: the note is for another model answering.
            const firstFailure = target === first ? undefined : failures[0];
            yield { ...done, target: targetName(target), ...(firstFailure ? { fallback: noteFor(firstFailure) } : {}) };
            return;
          } catch (e) {
            if (!isParleyError(e)) throw e;
            if (e.code !== "stopped") this.#metrics?.callFailed(target.provider, target.model, e.code);
            if (TRANSIENT.has(e.code) && !e.busy) {
              slot.breaker.failed();
              slot.lastProblem = e;
            }
            if (shown.text || signal.aborted) throw e;
            this.#log.warn({ provider: target.provider, model: target.model, code: e.code, attempt, detail: e.message }, "model call failed");
            failures.push({ target, error: e });
            if (!e.retryable || lastHope || e.busy) break;
            if (e.retryAfterMs !== undefined && e.retryAfterMs > this.#setup.retry.maxDelayMs) {
              // Waiting that long would keep the user waiting: stay away and let the next model answer.
              slot.breaker.holdOff(e.retryAfterMs);
              break;
            }
            if (attempt >= this.#setup.retry.attempts) break;
            if (slot.breaker.waitMs() > 0) break;
            await sleep(backoffMs(attempt, this.#setup.retry, e.retryAfterMs, this.#random), signal);
          }
        }
      }
      throw giveUp(failures);
    } finally {
      this.#metrics?.streaming(-1);
      deadline.dispose();
    }
  }

  /** One call to one model; yields its text, returns its `done`. */
  async *#attempt(
    slot: Slot,
    target: ModelTarget,
    messages: ChatMessage[],
    temperature: number | undefined,
    shown: { text: boolean },
    signal?: AbortSignal,
  ): AsyncGenerator<ChatDelta, Extract<ChatDelta, { type: "done" }>> {
    await this.#makeRoom(slot, target.model, signal);
    const started = performance.now();
    let firstTokenMs: number | undefined;
    try {
      for await (const delta of slot.provider.chat({ model: target.model, messages, temperature, keepAlive: slot.setup.keepAlive }, signal)) {
        if (delta.type === "done") {
          slot.breaker.succeeded();
          if (!shown.text) slot.latency.add(performance.now() - started);
          this.#reportAnswer(slot, target, delta, firstTokenMs, performance.now() - started);
          return delta;
        }
        if (!shown.text) slot.latency.add((firstTokenMs = performance.now() - started));
        shown.text = true;
        yield delta;
      }
    } catch (e) {
      // A model the server does not have, or a server not reached, was not loaded by this call.
      if (isParleyError(e) && (e.code === "model_not_found" || e.code === "provider_unavailable")) slot.warm?.forget(target.model);
      throw e;
    }
    throw new ParleyError("provider_bad_response", `The ${target.provider} model server ended its answer without finishing it.`, {
      detail: `${targetName(target)}: stream ended without done`,
    });
  }

  #reportAnswer(slot: Slot, target: ModelTarget, done: Extract<ChatDelta, { type: "done" }>, firstTokenMs: number | undefined, totalMs: number): void {
    if (!this.#metrics) return;
    const cost = done.usage ? costOf(slot.setup.prices[target.model], done.usage) : 0;
    this.#metrics.answered({ provider: target.provider, model: target.model, firstTokenMs, totalMs, usage: done.usage, cost, currency: this.#setup.currency });
  }

  /** Keeps at most `maxLoadedModels` loaded: unloads the least recently used before loading another. */
  async #makeRoom(slot: Slot, model: string, signal?: AbortSignal): Promise<void> {
    if (!slot.warm || !slot.provider.unload) return;
    for (const evicted of slot.warm.use(model)) {
      try {
        await slot.provider.unload(evicted, signal);
        this.#log.debug({ provider: slot.setup.name, model: evicted }, "unloaded the least recently used model");
      } catch (e) {
        this.#log.warn({ provider: slot.setup.name, model: evicted, err: e }, "could not unload a model");
      }
    }
  }

  /** Asks every provider for its models, and adds how each has been doing. */
  async health(timeoutMs = 3000): Promise<ProviderHealth[]> {
    const checks = await checkProviders(this.#entries(), timeoutMs);
    return Promise.all(
      checks.map(async (check) => {
        const slot = this.#slots.get(check.name)!;
        const provider = slot.provider as Partial<EmbeddedProvider>;
        return {
          ...check,
          medianLatencyMs: slot.latency.median(),
          latencySamples: slot.latency.count,
          coolingDownMs: slot.breaker.waitMs(),
          loadedModels: slot.warm?.list(),
          embedded: provider.kind === "embedded" ? await provider.describe?.() : undefined,
        };
      }),
    );
  }

  /** Frees what providers hold in this process (an embedded model's memory). */
  async close(): Promise<void> {
    await Promise.all([...this.#slots.values()].map((slot) => (slot.provider as Partial<EmbeddedProvider>).close?.()));
  }

  /**
   * The start-up check: logs a warning for each provider that does not
   * answer and each configured model it lacks, with how to get it. Never
   * throws; the bot runs on what works.
   */
  async checkAvailability(timeoutMs = 5000): Promise<ProviderCheck[]> {
    const checks = await checkProviders(this.#entries(), timeoutMs);
    for (const check of checks) {
      if (!check.ok) {
        this.#log.warn({ provider: check.name, problem: check.problem }, `model provider ${check.name} is not answering: ${check.problem}`);
        continue;
      }
      for (const missing of check.missing) {
        this.#log.warn({ provider: check.name, model: missing.model }, `model ${missing.model} is not available on ${check.name}; ${missing.fix}`);
      }
      if (check.missing.length === 0) this.#log.info({ provider: check.name, models: check.models.length }, "model provider ready");
    }
    return checks;
  }

  #entries() {
    return [...this.#slots.values()].map(({ provider, setup }) => ({ provider, setup }));
  }

  #resolve(target: ModelTarget): Pick<ModelChoice, "provider" | "model"> {
    const slot = this.#slots.get(target.provider) ?? this.#slots.get(this.#setup.defaultTarget.provider)!;
    return { provider: slot.provider, model: target.model };
  }
}
