/**
 * The embedded provider through the whole bot: a tiny GGUF model written by
 * the test, run by the real node-llama-cpp, configured like any provider
 * (`kind: embedded`, `LLM_PROVIDER=embedded`), in the fallback chain, in
 * hybrid routing, and in `/status`.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { formatBytes } from "../../src/llm/model-files.js";
import { embeddedModelName } from "../../src/llm/setup.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";
import { writeTinyGguf } from "../support/tiny-gguf.js";
import { chatCalls, modelsAsked, startRouted, writeConfig } from "./support.js";

let ollama: FakeOllama;
let bot: TestApp | undefined;
let modelFile: string;
let modelBytes: number;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2"] });
  modelFile = join(mkdtempSync(join(tmpdir(), "parley-embedded-")), "tiny.gguf");
  modelBytes = await writeTinyGguf(modelFile);
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.setResponder(null);
  ollama.requests.length = 0;
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** Generous: loading the model on a busy machine takes a second or two, and these tests are not about time. */
const slow = { timeoutMs: 60_000 };
/** One thread: test files run side by side on two cores, and llama.cpp's spinning threads crowd each other out. */
const oneThread = { embedded: { threads: 1 } };

describe("the embedded provider in the bot", () => {
  it("answers with LLM_PROVIDER=embedded and EMBEDDED_MODEL, records its own token counts, and shows itself in status", async () => {
    bot = await startTestApp({ PARLEY_CONFIG: "", LLM_PROVIDER: "embedded", EMBEDDED_MODEL: modelFile, EMBEDDED_MAX_TOKENS: "12", EMBEDDED_THREADS: "1", LLM_TIMEOUT_MS: "60000", TOKENS_PER_DAY: "0" });
    const answer = await bot.say("hello there", { user: "1" });
    expect(answer.trim().length).toBeGreaterThan(0);
    expect(answer).not.toMatch(/couldn't|could not|error/i);

    const usage = await bot.app.services.usage.modelsToday();
    expect(usage).toHaveLength(1);
    expect(usage[0]!.model).toBe("embedded/tiny");
    // The model's own tokenizer counted them: the answer is capped at 12 tokens (maybe one more for the end of turn).
    expect(usage[0]!.usage.completionTokens).toBeGreaterThan(0);
    expect(usage[0]!.usage.completionTokens).toBeLessThanOrEqual(13);
    expect(usage[0]!.usage.promptTokens).toBeGreaterThan(10);

    const status = await bot.say("/status", { user: "1" });
    expect(status).toContain("Default: embedded/tiny");
    // Its context is the model's own length (1,024), less than llm.maxContextTokens.
    const shown = `runs tiny.gguf (${formatBytes(modelBytes)}) in the bot, context 1,024 tokens, 1 answer, median `;
    expect(status).toMatch(/^embedded: answering \(1 model\); .*; runs tiny\.gguf/m);
    expect(status).toContain(shown);
  });

  it("is one provider among others: a route sends short messages to it, the rest go to Ollama", async () => {
    bot = await startRouted({
      ...slow,
      providers: {
        inside: { kind: "embedded", model: modelFile, maxTokens: 8 },
        local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
      },
      default: "local/llama3.2",
      routes: [{ maxChars: 10, model: "inside/tiny" }],
    }, {}, oneThread);
    expect((await bot.say("hi", { user: "1" })).trim().length).toBeGreaterThan(0);
    expect(chatCalls(ollama.requests)).toHaveLength(0);
    expect(await bot.say("a longer question than ten characters", { user: "1" })).toMatch(/^Echo: /);
    expect(modelsAsked(ollama.requests)).toEqual(["llama3.2"]);
  });

  it("sends a message to the next model of the chain at once when the embedded model is busy", async () => {
    bot = await startRouted(
      {
        ...slow,
        providers: {
          inside: { kind: "embedded", model: modelFile, maxTokens: 1000 },
          local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
        },
        default: "inside/tiny",
        fallback: ["local/llama3.2"],
      },
      {},
      { embedded: { threads: 1, sequences: 1, maxWaitMs: 0 } },
    );
    // Loaded once, so both calls below meet a model that is ready.
    await bot.say("warm up", { user: "1", channel: "-1001" });
    const [first, second] = await Promise.all([
      bot.say("write a long answer", { user: "1", channel: "-1001" }),
      bot.say("and one for me", { user: "2", channel: "-1002" }),
    ]);
    const answers = [first, second];
    const spilled = answers.filter((a) => a.startsWith("Echo: "));
    expect(spilled).toHaveLength(1);
    expect(spilled[0]).toMatch(/\(answered by local\/llama3\.2 because inside\/tiny was busy with other answers\)\*$/);
    expect(chatCalls(ollama.requests)).toHaveLength(1);
    // Busy is not broken: the next message is the embedded model's again.
    const after = await bot.say("and now?", { user: "3", channel: "-1003" });
    expect(after.startsWith("Echo: ")).toBe(false);
  });

  it("takes the simple messages of hybrid routing, the complex ones going to Ollama", async () => {
    bot = await startRouted({
      ...slow,
      providers: {
        inside: { kind: "embedded", model: modelFile, maxTokens: 8 },
        local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
      },
      default: "local/llama3.2",
      hybrid: { simple: "inside/tiny", complex: "local/llama3.2" },
    }, {}, oneThread);
    expect(await bot.say("hello!", { user: "1" })).not.toMatch(/^Echo: /);
    expect(await bot.say("explain step by step why the sky is blue", { user: "1" })).toMatch(/^Echo: /);
    expect(modelsAsked(ollama.requests)).toEqual(["llama3.2"]);
  });
});

describe("embedded settings", () => {
  it("name the model after its file, and refuse what an embedded model cannot have", () => {
    expect(embeddedModelName("/models/Qwen2.5-1.5B-Instruct-Q4_K_M.gguf")).toBe("Qwen2.5-1.5B-Instruct-Q4_K_M");
    expect(embeddedModelName("hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M")).toBe("Llama-3.2-1B-Instruct-GGUF-Q4_K_M");
    expect(embeddedModelName("https://example.com/files/small.gguf?download=true")).toBe("small");
    const refused = (provider: Record<string, unknown>) => () => loadConfig({ PARLEY_CONFIG: writeConfig({ llm: { providers: { x: provider }, default: "x/a" } }) });
    expect(refused({ kind: "embedded", model: modelFile, baseUrl: "http://127.0.0.1:1" })).toThrow(/llm\.providers\.x: an embedded model runs in the bot: it has no baseUrl or key/);
    expect(refused({ kind: "embedded", models: ["a"] })).toThrow(/llm\.providers\.x\.models: an embedded provider runs one model/);
    expect(refused({ kind: "ollama", model: "llama3.2" })).toThrow(/llm\.providers\.x\.model: only embedded providers take a model file/);
  });

  it("read EMBEDDED_* variables, with sensible defaults", () => {
    const defaults = loadConfig({ PARLEY_CONFIG: "" }).embedded;
    expect(defaults).toEqual({ maxTokens: 512, sequences: 1, maxWaitMs: 30_000 });
    const set = loadConfig({ PARLEY_CONFIG: "", EMBEDDED_THREADS: "2", EMBEDDED_MAX_TOKENS: "64", EMBEDDED_SEQUENCES: "2", EMBEDDED_MAX_WAIT_MS: "500", EMBEDDED_CONTEXT_TOKENS: "2048" });
    expect(set.embedded).toEqual({ threads: 2, maxTokens: 64, sequences: 2, maxWaitMs: 500, contextTokens: 2048 });
    expect(() => loadConfig({ PARLEY_CONFIG: "", EMBEDDED_MAX_TOKENS: "lots" })).toThrow(/EMBEDDED_MAX_TOKENS must be a number/);
  });
});
