/**
 * Turns the `llm` settings into the providers, routes and fallback chain the
 * router runs on, checking every cross-reference (a route to an unknown
 * provider, a default that names nothing). Two shapes of config lead here:
 * the single-provider one of environment variables (`LLM_PROVIDER`,
 * `LLM_MODEL`, `OLLAMA_HOST`...), which becomes one provider named after its
 * kind, and the `providers:` map of the YAML file.
 */
import { providerKinds, type EmbeddedConfig, type LlmConfig, type ProviderConfig, type ProviderKind } from "../config/schema.js";
import { DEFAULT_EMBEDDED_MODEL } from "./model-files.js";
import { compilePatterns, defaultComplexPatterns, defaultSimplePatterns, type ComplexityClass, type ComplexityRules } from "./complexity.js";

/** A model of a configured provider: `provider/model` to users. */
export interface ModelTarget {
  provider: string;
  model: string;
}

/** What one model costs, per million tokens, in `LlmSetup.currency`. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** One provider, every default applied. */
export interface ProviderSetup {
  name: string;
  kind: "ollama" | "openai" | "anthropic" | "embedded";
  baseUrl: string;
  /** Resolved from the environment; never shown or logged. */
  apiKey?: string;
  /** Longest silence of the server, in milliseconds. */
  timeoutMs: number;
  /** Configured models plus those the default, routes and fallback name: what availability checks look for. */
  models: string[];
  /** Ollama: the `keep_alive` sent with each call. */
  keepAlive?: string | number;
  /** Ollama: most models kept loaded at once; unset means no limit. */
  maxLoadedModels?: number;
  /** Ollama: the context window (`num_ctx`) of listed models, in tokens, by model name. */
  contextTokens: Record<string, number>;
  /** Ollama: the largest window asked for a model that is not listed, in tokens (`llm.maxContextTokens`). */
  maxContextTokens: number;
  prices: Record<string, ModelPrice>;
  /** OpenAI-compatible: send `stream_options.include_usage`. */
  streamUsage: boolean;
  /** Anthropic and embedded: the longest answer in tokens (`max_tokens` for Anthropic). */
  maxTokens?: number;
  /** Embedded: the model as configured (a `.gguf` path, a URL or an `hf:` URI); `models` holds its name. */
  modelRef?: string;
  /** Embedded: how the model runs. */
  embedded?: Omit<EmbeddedConfig, "maxTokens">;
  /** Models the config says take images (`vision`); `*` for every model of the provider (`vision: true`). */
  vision: string[];
}

/** A routing rule, compiled. */
export interface RouteRule {
  /** Position in `llm.routes`, from 0. */
  index: number;
  pattern?: RegExp;
  maxChars?: number;
  /** Matches only messages with images. */
  hasImages: boolean;
  target: ModelTarget;
}

export interface RetrySetup {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface CooldownSetup {
  failures: number;
  ms: number;
}

/** Hybrid routing, compiled: a target per class and the rules that classify. */
export interface HybridSetup extends ComplexityRules {
  targets: Record<ComplexityClass, ModelTarget>;
  /** Whether `medium` was configured (else medium messages go to the simple target). */
  hasMedium: boolean;
}

/** Everything the router needs, validated. */
export interface LlmSetup {
  providers: ProviderSetup[];
  defaultTarget: ModelTarget;
  routes: RouteRule[];
  fallback: ModelTarget[];
  retry: RetrySetup;
  cooldown: CooldownSetup;
  /** Longest wait for one message's answer, all tries and fallbacks together, in milliseconds. */
  maxAnswerMs: number;
  temperature?: number;
  currency: string;
  /** Hybrid routing by complexity; undefined when off. */
  hybrid?: HybridSetup;
  /** `llm.visionModel`: answers messages with images the chosen model cannot see. */
  visionTarget?: ModelTarget;
}

/** A setting of `llm` that cannot work; the message names it. */
export class LlmSetupError extends Error {
  override readonly name = "LlmSetupError";
}

/** Where each hosted provider of the single-provider setup lives, and its default model. */
const hostedPresets: Record<Exclude<ProviderKind, "ollama" | "embedded">, { baseUrl: string; model: string }> = {
  openai: { baseUrl: "https://api.openai.com/v1", model: "gpt-4o-mini" },
  openrouter: { baseUrl: "https://openrouter.ai/api/v1", model: "openai/gpt-4o-mini" },
  groq: { baseUrl: "https://api.groq.com/openai/v1", model: "llama-3.1-8b-instant" },
  // No /v1: the Anthropic client adds it to every path.
  anthropic: { baseUrl: "https://api.anthropic.com", model: "claude-haiku-5-5" },
};

/** The default Ollama model: small enough for a laptop. */
export const defaultOllamaModel = "llama3.2";

/**
 * `max_tokens` of Anthropic calls when the provider sets none: Anthropic
 * requires one. About 750 words, more than a chat message wants.
 */
export const defaultAnthropicMaxTokens = 1024;

/**
 * The `keep_alive` sent to Ollama: `ram` keeps a model loaded 30 minutes,
 * `ssd` 2 minutes, `none` unloads it at once; anything else is a duration
 * passed on as is, except bare numbers, which Ollama wants as numbers
 * (seconds) because its duration parser refuses a string without a unit.
 */
export function keepAliveFor(strategy: string | number): string | number {
  if (typeof strategy === "number") return strategy;
  switch (strategy) {
    case "ram":
      return "30m";
    case "ssd":
      return "2m";
    case "none":
      return 0;
    default:
      return /^-?\d+$/.test(strategy) ? Number(strategy) : strategy;
  }
}

/** `0`, `"0"`, `"0s"`...: the model is unloaded after each call. */
export function unloadsAtOnce(keepAlive: string | number | undefined): boolean {
  if (keepAlive === undefined) return false;
  return Number.parseFloat(String(keepAlive)) === 0;
}

/** `provider/model`, as users and the config write a target. */
export function targetName(target: ModelTarget): string {
  return `${target.provider}/${target.model}`;
}

/**
 * Reads `provider/model` (split at the first `/`, so OpenRouter's
 * `openrouter/meta-llama/llama-3.1-8b` works). When the part before the
 * slash names no configured provider, the whole text is a model of
 * `defaultProvider` if one is given, else undefined.
 */
export function parseTarget(ref: string, providers: ReadonlySet<string>, defaultProvider?: string): ModelTarget | undefined {
  const slash = ref.indexOf("/");
  if (slash > 0 && slash < ref.length - 1 && providers.has(ref.slice(0, slash))) {
    return { provider: ref.slice(0, slash), model: ref.slice(slash + 1) };
  }
  return defaultProvider ? { provider: defaultProvider, model: ref } : undefined;
}

/** Builds and checks the setup; throws {@link LlmSetupError} naming the first bad setting. */
export function resolveLlmSetup(llm: LlmConfig, embedded: EmbeddedConfig = { maxTokens: 512, sequences: 1, maxWaitMs: 30_000 }): LlmSetup {
  const providers = llm.providers ? fromProviderMap(llm, embedded) : [singleProvider(llm, embedded)];
  const names = new Set(providers.map((p) => p.name));
  const have = `configured: ${[...names].join(", ")}`;
  const strict = (ref: string, setting: string): ModelTarget => {
    const target = parseTarget(ref, names);
    if (!target) {
      throw new LlmSetupError(`${setting}: "${ref}" must be provider/model naming a configured provider (${have}).`);
    }
    return target;
  };

  let defaultTarget: ModelTarget;
  if (llm.providers) {
    const first = providers[0]!;
    if (llm.default) defaultTarget = strict(llm.default, "llm.default");
    else if (first.models[0]) defaultTarget = { provider: first.name, model: first.models[0] };
    else throw new LlmSetupError(`llm.default: name the default model as provider/model, or list models under llm.providers.${first.name}.models.`);
    // The environment (LLM_MODEL) wins over the file, as everywhere else.
    if (llm.model) defaultTarget = parseTarget(llm.model, names, defaultTarget.provider)!;
  } else {
    const only = providers[0]!;
    defaultTarget = { provider: only.name, model: only.models[0]! };
  }

  const routes = llm.routes.map((route, index): RouteRule => ({
    index,
    pattern: route.pattern !== undefined ? new RegExp(route.pattern, "iu") : undefined,
    maxChars: route.maxChars,
    hasImages: route.hasImages === true,
    target: strict(route.model, `llm.routes[${index}].model`),
  }));
  const fallback = llm.fallback.map((ref, i) => strict(ref, `llm.fallback[${i}]`));
  let hybrid: HybridSetup | undefined;
  if (llm.hybrid) {
    const h = llm.hybrid;
    const simple = strict(h.simple, "llm.hybrid.simple");
    hybrid = {
      targets: {
        simple,
        medium: h.medium !== undefined ? strict(h.medium, "llm.hybrid.medium") : simple,
        complex: strict(h.complex, "llm.hybrid.complex"),
      },
      hasMedium: h.medium !== undefined,
      simpleMaxTokens: h.simpleMaxTokens,
      complexMinTokens: h.complexMinTokens,
      historyWeight: h.historyWeight,
      simplePatterns: compilePatterns(h.simplePatterns ?? defaultSimplePatterns),
      complexPatterns: compilePatterns(h.complexPatterns ?? defaultComplexPatterns),
    };
  }

  let visionTarget: ModelTarget | undefined;
  if (llm.visionModel !== undefined) {
    visionTarget = llm.providers ? strict(llm.visionModel, "llm.visionModel") : visionTargetOf(llm.visionModel, providers, defaultTarget);
    if (providers.find((p) => p.name === visionTarget!.provider)!.kind === "embedded") {
      throw new LlmSetupError(`llm.visionModel: "${llm.visionModel}" is an embedded model, which takes text only here.`);
    }
  }

  // Every model the config points at is one the availability check looks for.
  const pointedAt = [defaultTarget, ...routes.map((r) => r.target), ...fallback, ...Object.values(hybrid?.targets ?? {}), ...(visionTarget ? [visionTarget] : [])];
  for (const target of pointedAt) {
    const provider = providers.find((p) => p.name === target.provider)!;
    if (!provider.models.includes(target.model)) provider.models.push(target.model);
  }

  return {
    providers,
    defaultTarget,
    routes,
    fallback,
    retry: llm.retry,
    cooldown: llm.cooldown,
    maxAnswerMs: llm.maxAnswerMs,
    temperature: llm.temperature,
    currency: llm.currency,
    hybrid,
    visionTarget,
  };
}

/**
 * `llm.visionModel` of the single-provider setup: `provider/model` or a
 * model of that provider, so `LLM_VISION_MODEL=llava` works. Naming a
 * provider kind that is not configured is refused rather than read as a
 * model called `openai/gpt-4o-mini` (OpenRouter's own names have slashes).
 */
function visionTargetOf(ref: string, providers: readonly ProviderSetup[], defaultTarget: ModelTarget): ModelTarget {
  const names = new Set(providers.map((p) => p.name));
  const target = parseTarget(ref, names, defaultTarget.provider)!;
  const named = ref.slice(0, ref.indexOf("/"));
  if (target.provider === defaultTarget.provider && target.model === ref && providerKinds.includes(named as ProviderKind)) {
    throw new LlmSetupError(
      `llm.visionModel: "${ref}" names provider ${named}, which is not configured (configured: ${[...names].join(", ")}); configure it under llm.providers, or name a model of ${defaultTarget.provider}.`,
    );
  }
  return target;
}

/** `LLM_PROVIDER` and friends: one provider, named after its kind. */
function singleProvider(llm: LlmConfig, embedded: EmbeddedConfig): ProviderSetup {
  if (llm.provider === "embedded") {
    // LLM_MODEL names the model too, as for every other provider, when EMBEDDED_MODEL does not.
    return embeddedProvider("embedded", llm.embeddedModel ?? llm.model ?? DEFAULT_EMBEDDED_MODEL, undefined, llm, embedded);
  }
  if (llm.provider === "ollama") {
    return {
      name: "ollama",
      kind: "ollama",
      baseUrl: llm.ollamaHost,
      timeoutMs: llm.timeoutMs,
      models: [llm.model ?? defaultOllamaModel],
      keepAlive: keepAliveFor(llm.keepAlive),
      contextTokens: {},
      maxContextTokens: llm.maxContextTokens,
      prices: {},
      streamUsage: true,
      vision: [],
    };
  }
  const preset = hostedPresets[llm.provider];
  const anthropic = llm.provider === "anthropic";
  return {
    name: llm.provider,
    kind: anthropic ? "anthropic" : "openai",
    baseUrl: (anthropic ? llm.anthropicBaseUrl : llm.openaiBaseUrl) ?? preset.baseUrl,
    apiKey: llm.apiKey,
    timeoutMs: llm.timeoutMs,
    models: [llm.model ?? preset.model],
    contextTokens: {},
    maxContextTokens: llm.maxContextTokens,
    prices: {},
    streamUsage: true,
    maxTokens: anthropic ? defaultAnthropicMaxTokens : undefined,
    vision: [],
  };
}

function fromProviderMap(llm: LlmConfig, embedded: EmbeddedConfig): ProviderSetup[] {
  const entries = Object.entries(llm.providers ?? {});
  if (entries.length === 0) throw new LlmSetupError("llm.providers: name at least one provider, or remove the empty map.");
  return entries.map(([name, p]) => providerFrom(name, p, llm, embedded));
}

/**
 * A model run in the bot: one model per provider, named after its file
 * (`Qwen2.5-1.5B-Instruct-Q4_K_M` for `…/Qwen2.5-1.5B-Instruct-Q4_K_M.gguf`),
 * which is how routes, personas and the fallback chain name it.
 */
function embeddedProvider(name: string, ref: string, p: ProviderConfig | undefined, llm: LlmConfig, embedded: EmbeddedConfig): ProviderSetup {
  const { maxTokens, ...running } = embedded;
  return {
    name,
    kind: "embedded",
    baseUrl: "",
    timeoutMs: p?.timeoutMs ?? llm.timeoutMs,
    models: [embeddedModelName(ref)],
    modelRef: ref,
    contextTokens: {},
    maxContextTokens: llm.maxContextTokens,
    prices: p?.prices ?? {},
    streamUsage: false,
    maxTokens: p?.maxTokens ?? maxTokens,
    embedded: running,
    vision: [],
  };
}

/** The name of the model `ref` points at: its file name without `.gguf` (`hf:user/repo:Q4_K_M` → `repo-Q4_K_M`). */
export function embeddedModelName(ref: string): string {
  const withoutQuery = ref.trim().replace(/[?#].*$/, "");
  const last = withoutQuery.split(/[\\/]/).filter(Boolean).at(-1) ?? withoutQuery;
  const name = last.replace(/^hf:/i, "").replace(/\.gguf$/i, "").replace(/:/g, "-");
  return name || "model";
}

/** Provider names appear in `provider/model` references, so they hold no slash. */
const PROVIDER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

function providerFrom(name: string, p: ProviderConfig, llm: LlmConfig, embedded: EmbeddedConfig): ProviderSetup {
  const at = `llm.providers.${name}`;
  if (!PROVIDER_NAME.test(name)) {
    throw new LlmSetupError(`${at}: a provider name is up to 32 letters, digits, '.', '_' or '-' (no '/'), starting with a letter or digit.`);
  }
  if (p.kind === "embedded") {
    if (p.baseUrl !== undefined || p.apiKeyEnv !== undefined) throw new LlmSetupError(`${at}: an embedded model runs in the bot: it has no baseUrl or key; name its file, URL or hf: URI in model.`);
    if (p.models.length > 0) throw new LlmSetupError(`${at}.models: an embedded provider runs one model; name its file, URL or hf: URI in model.`);
    if (p.vision === true || (Array.isArray(p.vision) && p.vision.length > 0)) throw new LlmSetupError(`${at}.vision: embedded models take text only here; name a model of an ollama, openai or anthropic provider.`);
    return embeddedProvider(name, p.model ?? llm.embeddedModel ?? DEFAULT_EMBEDDED_MODEL, p, llm, embedded);
  }
  if (p.model !== undefined) throw new LlmSetupError(`${at}.model: only embedded providers take a model file; list the models of this provider in models.`);
  if (p.kind !== "anthropic" && p.maxTokens !== undefined) {
    throw new LlmSetupError(`${at}.maxTokens: only providers of kind anthropic or embedded are told the longest answer.`);
  }
  if (p.kind !== "ollama") {
    if (p.keepAlive !== undefined) throw new LlmSetupError(`${at}.keepAlive: only providers of kind ollama keep models loaded.`);
    if (p.maxLoadedModels !== undefined) throw new LlmSetupError(`${at}.maxLoadedModels: only providers of kind ollama keep models loaded.`);
    if (Object.keys(p.contextTokens).length > 0) throw new LlmSetupError(`${at}.contextTokens: only providers of kind ollama are told a context window.`);
  }
  return {
    name,
    kind: p.kind,
    baseUrl: p.baseUrl ?? defaultBaseUrl(p.kind, llm),
    apiKey: p.apiKey,
    timeoutMs: p.timeoutMs ?? llm.timeoutMs,
    models: [...p.models],
    keepAlive: p.kind === "ollama" ? keepAliveFor(p.keepAlive ?? llm.keepAlive) : undefined,
    maxLoadedModels: p.maxLoadedModels,
    contextTokens: p.contextTokens,
    maxContextTokens: llm.maxContextTokens,
    prices: p.prices,
    streamUsage: p.streamUsage,
    maxTokens: p.kind === "anthropic" ? (p.maxTokens ?? defaultAnthropicMaxTokens) : undefined,
    // `vision: true`: every model of the provider, written as `*`.
    vision: p.vision === true ? ["*"] : p.vision === false ? [] : [...p.vision],
  };
}

/** Where a provider of the map without `baseUrl` is: the single-provider setting of its kind, or the preset. */
function defaultBaseUrl(kind: ProviderConfig["kind"], llm: LlmConfig): string {
  if (kind === "ollama") return llm.ollamaHost;
  if (kind === "anthropic") return llm.anthropicBaseUrl ?? hostedPresets.anthropic.baseUrl;
  return llm.openaiBaseUrl ?? hostedPresets.openai.baseUrl;
}

/** Why `llm.transcription` cannot work with these providers, or undefined when it can (see transcription.ts). */
export function transcriptionProblem(ref: string, setup: LlmSetup): string | undefined {
  const names = new Set(setup.providers.map((p) => p.name));
  const target = parseTarget(ref, names);
  const provider = target && setup.providers.find((p) => p.name === target.provider);
  if (!target || !provider) return `llm.transcription: "${ref}" must be provider/model naming a configured provider (configured: ${[...names].join(", ")}).`;
  if (provider.kind !== "openai") return `llm.transcription: ${provider.name} is of kind ${provider.kind}; transcription needs an OpenAI-compatible provider (kind: openai).`;
  return undefined;
}
