import type { Logger } from "pino";
import type { Config, ProviderKind } from "../config/schema.js";
import { createOllamaProvider } from "./ollama.js";
import { createOpenAiProvider } from "./openai.js";
import { keepAliveFor, ModelRouter } from "./router.js";
import type { LlmProvider } from "./types.js";

/** Where each hosted provider lives and which model it answers with by default. */
const hosted: Record<Exclude<ProviderKind, "ollama">, { baseURL: string; model: string }> = {
  openai: { baseURL: "https://api.openai.com/v1", model: "gpt-4o-mini" },
  openrouter: { baseURL: "https://openrouter.ai/api/v1", model: "openai/gpt-4o-mini" },
  groq: { baseURL: "https://api.groq.com/openai/v1", model: "llama-3.1-8b-instant" },
};

/** The default Ollama model: small enough for a laptop. */
export const defaultOllamaModel = "llama3.2";

/** Builds the configured provider and the router in front of it. */
export function createRouter(config: Config, log: Logger): ModelRouter {
  const { llm } = config;
  let provider: LlmProvider;
  let model: string;
  if (llm.provider === "ollama") {
    provider = createOllamaProvider({ name: "ollama", host: llm.ollamaHost, timeoutMs: llm.timeoutMs, log });
    model = llm.model ?? defaultOllamaModel;
  } else {
    const preset = hosted[llm.provider];
    provider = createOpenAiProvider({
      name: llm.provider,
      baseURL: llm.openaiBaseUrl ?? preset.baseURL,
      apiKey: llm.apiKey,
      timeoutMs: llm.timeoutMs,
      log,
    });
    model = llm.model ?? preset.model;
  }
  return new ModelRouter({
    providers: new Map([[provider.name, provider]]),
    defaultProvider: provider.name,
    defaultModel: model,
    keepAlive: keepAliveFor(llm.keepAlive),
    temperature: llm.temperature,
    log,
  });
}
