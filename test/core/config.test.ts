/** Settings as users write them: addresses the way Ollama reads them, durations, lists, and refusals that name the setting. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { resolveLlmSetup } from "../../src/llm/setup.js";

const dir = mkdtempSync(join(tmpdir(), "parley-config-"));
let files = 0;

/** Loads `yaml` (as a user would write it) with `env` on top. */
function load(yaml: string, env: Record<string, string> = {}) {
  const path = join(dir, `parley-${++files}.yaml`);
  writeFileSync(path, yaml);
  return loadConfig({ PARLEY_CONFIG: path, ...env });
}

function refusal(yaml: string, env: Record<string, string> = {}): string {
  try {
    load(yaml, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("the config was accepted");
}

describe("OLLAMA_HOST is read as Ollama reads it", () => {
  it.each([
    ["0.0.0.0", "http://0.0.0.0:11434"],
    ["127.0.0.1:11500", "http://127.0.0.1:11500"],
    [":11434", "http://127.0.0.1:11434"],
    ["gpu-box", "http://gpu-box:11434"],
    ["[::1]", "http://[::1]:11434"],
    ["http://10.0.0.5:11434", "http://10.0.0.5:11434"],
    ["https://ollama.example.com", "https://ollama.example.com"],
  ])("%s → %s", (host, url) => {
    const setup = resolveLlmSetup(load("", { OLLAMA_HOST: host }).llm);
    expect(new URL(setup.providers[0]!.baseUrl).href).toBe(new URL(url).href);
  });

  it("adds http:// to an OpenAI-compatible address written without it, and refuses other schemes", () => {
    expect(load("", { LLM_PROVIDER: "openai", OPENAI_BASE_URL: "127.0.0.1:1234/v1" }).llm.openaiBaseUrl).toBe("http://127.0.0.1:1234/v1");
    expect(refusal("llm:\n  ollamaHost: ftp://files.example.com\n")).toBe(
      "Invalid setting llm.ollamaHost (OLLAMA_HOST): must be an http:// or https:// address.",
    );
  });
});

describe("API keys of the single-provider setup", () => {
  it("never sends an OpenAI key to Groq or OpenRouter, but takes their own keys from OPENAI_API_KEY", () => {
    expect(() => load("", { LLM_PROVIDER: "groq", OPENAI_API_KEY: "sk-proj-openai-key" })).toThrow("needs an API key in GROQ_API_KEY");
    expect(() => load("", { LLM_PROVIDER: "openrouter", OPENAI_API_KEY: "sk-proj-openai-key" })).toThrow("needs an API key in OPENROUTER_API_KEY");
    expect(load("", { LLM_PROVIDER: "groq", OPENAI_API_KEY: "gsk_groq_key" }).llm.apiKey).toBe("gsk_groq_key");
    expect(load("", { LLM_PROVIDER: "openrouter", OPENAI_API_KEY: "sk-or-v1-abc" }).llm.apiKey).toBe("sk-or-v1-abc");
    expect(load("", { LLM_PROVIDER: "groq", GROQ_API_KEY: "gsk_own", OPENAI_API_KEY: "sk-proj-x" }).llm.apiKey).toBe("gsk_own");
  });
});

describe("values written the way people write them", () => {
  it("takes compound Go durations for keep-alive, as Ollama's own OLLAMA_KEEP_ALIVE does", () => {
    for (const value of ["1h30m", "5m0s", "-1", "24h", "0"]) {
      expect(load("", { OLLAMA_KEEP_ALIVE: value }).llm.keepAlive).toBe(value);
    }
    expect(refusal("llm:\n  keepAlive: forever\n")).toContain("llm.keepAlive");
  });

  it("reads an empty PARLEY_CONFIG as no file, like every other empty variable", () => {
    const config = loadConfig({ PARLEY_CONFIG: "", PARLEY_SHUTDOWN_GRACE_MS: "5000" });
    expect(config.shutdownGraceMs).toBe(5000);
    expect(loadConfig({ PARLEY_CONFIG: "  " }).shutdownGraceMs).toBe(20_000);
  });

  it("takes one prefix written as a string", () => {
    expect(load('prefixes: "!"\n').prefixes).toEqual(["!"]);
    expect(load('prefixes: "/ !"\n').prefixes).toEqual(["/", "!"]);
  });

  it("refuses a persona folder that does not exist, naming the setting", () => {
    const missing = join(dir, "no-such-folder");
    expect(refusal("", { PARLEY_PERSONA_DIR: missing })).toBe(`Invalid setting personaDir (PARLEY_PERSONA_DIR): ${missing} is not a folder.`);
    expect(load("", { PARLEY_PERSONA_DIR: dir }).personaDir).toBe(dir);
  });

  it("says where a YAML file is broken, in one sentence", () => {
    expect(refusal("limits: { perMinute: 5\n")).toMatch(/is not valid YAML: .+ at line \d+, column \d+\.$/);
  });

  it("names the setting of a bad value, and the unknown one", () => {
    expect(refusal("limits:\n  perMinute: ten\n")).toBe(
      "Invalid setting limits.perMinute (RATE_LIMIT_PER_MINUTE): Invalid input: expected number, received string.",
    );
    expect(refusal("limit:\n  perMinute: 5\n")).toBe("Unknown setting: limit.");
  });
});
