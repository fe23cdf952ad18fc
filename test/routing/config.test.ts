/** The `llm` settings: the env-only setup as before, the providers map, and start-up refusals that name the setting. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { resolveLlmSetup } from "../../src/llm/setup.js";
import { writeConfig } from "./support.js";

function load(llm: Record<string, unknown> | undefined, env: Record<string, string> = {}) {
  const path = writeConfig(llm ? { llm } : {});
  return loadConfig({ PARLEY_CONFIG: path, ...env });
}

function refusal(llm: Record<string, unknown>, env: Record<string, string> = {}): string {
  try {
    load(llm, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("the config was accepted");
}

const twoProviders = {
  providers: {
    local: { kind: "ollama", baseUrl: "http://127.0.0.1:1", models: ["llama3.2", "qwen2.5-coder:7b"], keepAlive: "ssd", maxLoadedModels: 2 },
    groq: {
      kind: "openai",
      baseUrl: "http://127.0.0.1:2/v1",
      apiKeyEnv: "TEST_GROQ_KEY",
      models: ["llama-3.1-8b-instant"],
      prices: { "llama-3.1-8b-instant": { input: 0.05, output: 0.08 } },
    },
  },
  default: "local/llama3.2",
  routes: [
    { pattern: "```|\\bcode\\b", model: "local/qwen2.5-coder:7b" },
    { maxChars: 40, model: "groq/llama-3.1-8b-instant" },
  ],
  fallback: ["groq/llama-3.1-8b-instant"],
};

describe("the env-only setup keeps working as before", () => {
  it("makes one Ollama provider named ollama from OLLAMA_HOST, LLM_MODEL and OLLAMA_KEEP_ALIVE", () => {
    const setup = resolveLlmSetup(load(undefined, { OLLAMA_HOST: "http://10.0.0.5:11434", LLM_MODEL: "mistral", OLLAMA_KEEP_ALIVE: "none" }).llm);
    expect(setup.providers).toEqual([
      expect.objectContaining({ name: "ollama", kind: "ollama", baseUrl: "http://10.0.0.5:11434", models: ["mistral"], keepAlive: 0 }),
    ]);
    expect(setup.defaultTarget).toEqual({ provider: "ollama", model: "mistral" });
    expect(setup.routes).toEqual([]);
    expect(setup.fallback).toEqual([]);
  });

  it("makes one OpenAI-compatible provider named after LLM_PROVIDER with its preset and key", () => {
    const setup = resolveLlmSetup(load(undefined, { LLM_PROVIDER: "groq", GROQ_API_KEY: "gsk_test_key_123456789" }).llm);
    expect(setup.providers).toEqual([
      expect.objectContaining({ name: "groq", kind: "openai", baseUrl: "https://api.groq.com/openai/v1", apiKey: "gsk_test_key_123456789" }),
    ]);
    expect(setup.defaultTarget).toEqual({ provider: "groq", model: "llama-3.1-8b-instant" });
  });

  it("still refuses a hosted provider without its key", () => {
    expect(() => load(undefined, { LLM_PROVIDER: "openai" })).toThrow("LLM_PROVIDER=openai needs an API key in OPENAI_API_KEY");
  });

  it("turns a bare number of seconds into a number, which Ollama's duration parser needs", () => {
    expect(resolveLlmSetup(load(undefined, { OLLAMA_KEEP_ALIVE: "300" }).llm).providers[0]!.keepAlive).toBe(300);
    expect(resolveLlmSetup(load(undefined, { OLLAMA_KEEP_ALIVE: "ram" }).llm).providers[0]!.keepAlive).toBe("30m");
    expect(resolveLlmSetup(load(undefined, { OLLAMA_KEEP_ALIVE: "10m" }).llm).providers[0]!.keepAlive).toBe("10m");
  });
});

describe("several providers from the YAML file", () => {
  it("resolves providers, keys from the named variable, routes, fallback and defaults", () => {
    const config = load(twoProviders, { TEST_GROQ_KEY: "gsk_from_env_0123456789" });
    const setup = resolveLlmSetup(config.llm);
    expect(setup.providers.map((p) => [p.name, p.kind, p.baseUrl, p.keepAlive, p.maxLoadedModels])).toEqual([
      ["local", "ollama", "http://127.0.0.1:1", "2m", 2],
      ["groq", "openai", "http://127.0.0.1:2/v1", undefined, undefined],
    ]);
    expect(setup.providers[1]!.apiKey).toBe("gsk_from_env_0123456789");
    expect(setup.providers[1]!.prices).toEqual({ "llama-3.1-8b-instant": { input: 0.05, output: 0.08 } });
    expect(setup.defaultTarget).toEqual({ provider: "local", model: "llama3.2" });
    expect(setup.routes.map((r) => [r.pattern?.test("show me CODE"), r.maxChars, r.target])).toEqual([
      [true, undefined, { provider: "local", model: "qwen2.5-coder:7b" }],
      [undefined, 40, { provider: "groq", model: "llama-3.1-8b-instant" }],
    ]);
    expect(setup.fallback).toEqual([{ provider: "groq", model: "llama-3.1-8b-instant" }]);
    expect(setup.retry).toEqual({ attempts: 2, baseDelayMs: 250, maxDelayMs: 4000 });
    expect(setup.cooldown).toEqual({ failures: 3, ms: 30_000 });
  });

  it("defaults to the first model of the first provider, and LLM_MODEL overrides the default", () => {
    const { default: _unused, ...noDefault } = twoProviders;
    const env = { TEST_GROQ_KEY: "k" };
    expect(resolveLlmSetup(load(noDefault, env).llm).defaultTarget).toEqual({ provider: "local", model: "llama3.2" });
    expect(resolveLlmSetup(load(twoProviders, { ...env, LLM_MODEL: "groq/llama-3.1-8b-instant" }).llm).defaultTarget).toEqual({
      provider: "groq",
      model: "llama-3.1-8b-instant",
    });
    // A bare model name is a model of the default's provider.
    expect(resolveLlmSetup(load(twoProviders, { ...env, LLM_MODEL: "phi3" }).llm).defaultTarget).toEqual({ provider: "local", model: "phi3" });
  });

  it("gives Ollama providers without baseUrl OLLAMA_HOST, and models referenced by rules are checked too", () => {
    const setup = resolveLlmSetup(
      load({ providers: { a: { kind: "ollama" } }, default: "a/llama3.2", routes: [{ maxChars: 5, model: "a/tiny" }] }, { OLLAMA_HOST: "http://10.1.1.1:11434" }).llm,
    );
    expect(setup.providers[0]!.baseUrl).toBe("http://10.1.1.1:11434");
    expect(setup.providers[0]!.models).toEqual(["llama3.2", "tiny"]);
  });
});

describe("start-up refusals name the setting", () => {
  const env = { TEST_GROQ_KEY: "k" };

  it("a route to an unknown provider", () => {
    expect(refusal({ ...twoProviders, routes: [{ pattern: "x", model: "groqq/llama" }] }, env)).toBe(
      'llm.routes[0].model: "groqq/llama" must be provider/model naming a configured provider (configured: local, groq).',
    );
  });

  it("a fallback or default naming nothing", () => {
    expect(refusal({ ...twoProviders, fallback: ["groq/x", "openai/gpt-4o"] }, env)).toMatch(/^llm\.fallback\[1\]: "openai\/gpt-4o" must be provider\/model/);
    expect(refusal({ ...twoProviders, default: "llama3.2" }, env)).toMatch(/^llm\.default: "llama3\.2" must be provider\/model/);
  });

  it("a bad regular expression", () => {
    expect(refusal({ ...twoProviders, routes: [{ pattern: "(unclosed", model: "local/llama3.2" }] }, env)).toBe(
      "Invalid setting llm.routes.0.pattern: is not a valid regular expression.",
    );
  });

  it("a route with neither pattern, maxChars nor hasImages", () => {
    expect(refusal({ ...twoProviders, routes: [{ model: "local/llama3.2" }] }, env)).toMatch(/llm\.routes\.0.*needs a pattern, maxChars, hasImages: true, or several of them/);
  });

  it("a key variable that is not set", () => {
    expect(refusal(twoProviders)).toBe("llm.providers.groq.apiKeyEnv: the environment variable TEST_GROQ_KEY is not set.");
  });

  it("a key written in the file, or in place of the variable's name", () => {
    const withKey = { ...twoProviders, providers: { ...twoProviders.providers, groq: { ...twoProviders.providers.groq, apiKey: "gsk_secret" } } };
    const message = refusal(withKey, env);
    expect(message).toMatch(/^llm\.providers\.groq\.apiKey: keys do not belong in the config file/);
    expect(message).not.toContain("gsk_secret");
    const keyAsName = { ...twoProviders, providers: { ...twoProviders.providers, groq: { ...twoProviders.providers.groq, apiKeyEnv: "sk-abc123-secret" } } };
    const second = refusal(keyAsName, env);
    expect(second).toMatch(/llm\.providers\.groq\.apiKeyEnv: must be the name of an environment variable/);
    expect(second).not.toContain("sk-abc123-secret");
  });

  it("Ollama-only settings on an OpenAI-compatible provider, unknown kinds and keys", () => {
    const keepAlive = { ...twoProviders, providers: { ...twoProviders.providers, groq: { ...twoProviders.providers.groq, keepAlive: "ram" } } };
    expect(refusal(keepAlive, env)).toBe("llm.providers.groq.keepAlive: only providers of kind ollama keep models loaded.");
    expect(refusal({ providers: { x: { kind: "bedrock" } } })).toMatch(/^Invalid setting llm\.providers\.x\.kind/);
    expect(refusal({ providers: { x: { kind: "ollama", modle: ["a"] } } })).toBe("Unknown setting in llm.providers.x: modle.");
    expect(refusal({ providers: { "a/b": { kind: "ollama" } } })).toMatch(/^llm\.providers\.a\/b: a provider name is .*\(no '\/'\)/);
  });

  it("a keep-alive that is not a duration, and a default with nothing to default to", () => {
    expect(refusal({ keepAlive: "forever" })).toMatch(/^Invalid setting llm\.keepAlive \(OLLAMA_KEEP_ALIVE\): must be ram, ssd, none, or a duration/);
    expect(refusal({ providers: { a: { kind: "ollama" } } })).toBe("llm.default: name the default model as provider/model, or list models under llm.providers.a.models.");
    expect(refusal({ providers: {} })).toMatch(/^llm\.providers: name at least one provider/);
  });
});
