/**
 * Builds the model clients and the router from the configuration: what the
 * bot, `parley doctor` and `parley models` all start from.
 */
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import { createEmbeddedProvider } from "./embedded.js";
import { embeddedModelFile } from "./embedded-setup.js";
import { checkProviders, type ProviderCheck } from "./availability.js";
import { createOllamaProvider } from "./ollama.js";
import { lazyProvider } from "./lazy-provider.js";
import type { ModelMetrics } from "../metrics/model-metrics.js";
import { ModelRouter } from "./router.js";
import { defaultAnthropicMaxTokens, resolveLlmSetup, type LlmSetup, type ProviderSetup } from "./setup.js";
import type { LlmProvider } from "./types.js";

/** A client and the settings it was built from. */
interface BuiltProvider {
  provider: LlmProvider;
  setup: ProviderSetup;
}

/** The client for one provider's settings. */
function createProvider(setup: ProviderSetup, log?: Logger, env: Record<string, string | undefined> = process.env): LlmProvider {
  if (setup.kind === "ollama") {
    return createOllamaProvider({
      name: setup.name,
      host: setup.baseUrl,
      timeoutMs: setup.timeoutMs,
      keepAlive: setup.keepAlive,
      contextTokens: setup.contextTokens,
      maxContextTokens: setup.maxContextTokens,
      log,
    });
  }
  if (setup.kind === "embedded") {
    const ref = setup.modelRef!;
    return createEmbeddedProvider({
      name: setup.name,
      // Not downloaded yet (`parley models`, `parley doctor`): the call says the file is missing.
      file: embeddedModelFile(ref, env) ?? ref,
      model: setup.models[0],
      timeoutMs: setup.timeoutMs,
      maxTokens: setup.maxTokens,
      threads: setup.embedded?.threads,
      sequences: setup.embedded?.sequences,
      maxWaitMs: setup.embedded?.maxWaitMs,
      // A model's own length can be far more than memory allows: at most llm.maxContextTokens unless set.
      contextTokens: setup.embedded?.contextTokens ?? setup.maxContextTokens,
      log,
    });
  }
  // The hosted clients are imported at the first call (see lazy-provider.ts).
  if (setup.kind === "anthropic") {
    return lazyProvider(setup.name, "anthropic", async () =>
      (await import("./anthropic.js")).createAnthropicProvider({
        name: setup.name,
        baseURL: setup.baseUrl,
        apiKey: setup.apiKey,
        timeoutMs: setup.timeoutMs,
        maxTokens: setup.maxTokens ?? defaultAnthropicMaxTokens,
        log,
      }),
    );
  }
  return lazyProvider(setup.name, "openai", async () =>
    (await import("./openai.js")).createOpenAiProvider({
      name: setup.name,
      baseURL: setup.baseUrl,
      apiKey: setup.apiKey,
      timeoutMs: setup.timeoutMs,
      sendStreamOptions: setup.streamUsage,
      log,
    }),
  );
}

/**
 * Every configured provider with its client, in config order. Throws
 * `LlmSetupError` on settings `loadConfig` would have refused.
 */
function buildProviders(config: Config, log?: Logger): { setup: LlmSetup; providers: BuiltProvider[] } {
  const setup = resolveLlmSetup(config.llm, config.embedded);
  return { setup, providers: setup.providers.map((p) => ({ provider: createProvider(p, log), setup: p })) };
}

/**
 * Asks every configured provider for its models, each bounded by
 * `timeoutMs`: reachable or not, what it lists, which configured models it
 * lacks and how to get them, how long it took. Never throws.
 */
export function checkConfiguredProviders(config: Config, timeoutMs = 5000, log?: Logger): Promise<ProviderCheck[]> {
  return checkProviders(buildProviders(config, log).providers, timeoutMs);
}

/**
 * Builds the providers and the router in front of them, and starts the
 * availability check in the background: its warnings land in the log while
 * the bot already answers on what works.
 */
export function createRouter(config: Config, log: Logger, options: { checkAtStart?: boolean; metrics?: ModelMetrics } = {}): ModelRouter {
  const { setup, providers } = buildProviders(config, log);
  const router = new ModelRouter({ setup, providers: new Map(providers.map((p) => [p.setup.name, p.provider])), log, metrics: options.metrics });
  if (options.checkAtStart ?? true) void router.checkAvailability();
  return router;
}
