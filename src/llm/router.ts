import type { Logger } from "pino";
import type { Persona } from "../personas/catalog.js";
import type { ChatDelta, ChatMessage, LlmProvider } from "./types.js";

/** Which provider and model answer one message. */
export interface ModelChoice {
  provider: LlmProvider;
  model: string;
}

export interface RouterOptions {
  /** Configured providers by name; the first is the default. */
  providers: ReadonlyMap<string, LlmProvider>;
  defaultProvider: string;
  defaultModel: string;
  /** Ollama `keep_alive` sent with every call to an Ollama provider. */
  keepAlive?: string | number;
  temperature?: number;
  log: Logger;
}

/** What `status` shows of a provider. */
export interface ProviderHealth {
  name: string;
  ok: boolean;
  models: string[];
  /** A short, user-safe reason when not ok. */
  problem?: string;
}

/**
 * Chooses a model for a message and streams its answer. A persona's `model`
 * is either a model of the default provider or `provider/model` naming a
 * configured provider.
 */
export class ModelRouter {
  constructor(private readonly options: RouterOptions) {}

  get defaultChoice(): ModelChoice {
    return { provider: this.provider(this.options.defaultProvider), model: this.options.defaultModel };
  }

  choose(persona?: Persona): ModelChoice {
    const wanted = persona?.model;
    if (!wanted) return this.defaultChoice;
    const slash = wanted.indexOf("/");
    if (slash > 0) {
      const named = this.options.providers.get(wanted.slice(0, slash));
      if (named) return { provider: named, model: wanted.slice(slash + 1) };
    }
    return { provider: this.provider(this.options.defaultProvider), model: wanted };
  }

  /** Streams the answer of the chosen model; errors are `ParleyError`s from the provider. */
  chat(choice: ModelChoice, messages: ChatMessage[], opts: { temperature?: number; signal?: AbortSignal } = {}): AsyncIterable<ChatDelta> {
    return choice.provider.chat(
      {
        model: choice.model,
        messages,
        temperature: opts.temperature ?? this.options.temperature,
        keepAlive: choice.provider.kind === "ollama" ? this.options.keepAlive : undefined,
      },
      opts.signal,
    );
  }

  /** Asks every provider for its models, bounded by `timeoutMs`. */
  async health(timeoutMs = 3000): Promise<ProviderHealth[]> {
    return Promise.all(
      [...this.options.providers.values()].map(async (provider) => {
        try {
          const models = await provider.models(AbortSignal.timeout(timeoutMs));
          return { name: provider.name, ok: true, models };
        } catch (e) {
          this.options.log.warn({ err: e, provider: provider.name }, "provider health check failed");
          const problem = (e as { userMessage?: string }).userMessage ?? "it did not answer";
          return { name: provider.name, ok: false, models: [], problem };
        }
      }),
    );
  }

  private provider(name: string): LlmProvider {
    const provider = this.options.providers.get(name);
    if (!provider) throw new Error(`provider ${name} is not configured`);
    return provider;
  }
}

/** `ram` keeps a model loaded 30 minutes, `ssd` 2 minutes, `none` unloads it at once. */
export function keepAliveFor(strategy: string): string | number {
  switch (strategy) {
    case "ram":
      return "30m";
    case "ssd":
      return "2m";
    case "none":
      return 0;
    default:
      return strategy;
  }
}
