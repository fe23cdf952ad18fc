/**
 * Hybrid routing by complexity: greetings and short questions to the simple
 * target, code, reasoning and long texts or conversations to the complex
 * one; the persona's model and routing rules still win; a spent budget
 * sends complex messages to the simple target; `status` shows the split.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { estimateTokens } from "../../src/chat/tokens.js";
import { classify, compilePatterns, defaultComplexPatterns, defaultSimplePatterns, type ComplexityRules } from "../../src/llm/complexity.js";
import { resolveLlmSetup } from "../../src/llm/setup.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { modelsAsked, startRouted, writeConfig, writePersonas } from "./support.js";

const rules: ComplexityRules = {
  simpleMaxTokens: 64,
  complexMinTokens: 500,
  historyWeight: 0.25,
  simplePatterns: compilePatterns(defaultSimplePatterns),
  complexPatterns: compilePatterns(defaultComplexPatterns),
};

const paragraph = "The harbour town keeps its old stone houses along the water, and every summer more visitors come to walk the quay. ".repeat(6);

describe("classify", () => {
  it.each([
    ["hi!", "simple"],
    ["Good morning everyone", "simple"],
    ["thanks :)", "simple"],
    ["what time is it in Oslo?", "simple"],
    ["```js\nconsole.log(1)\n```\nwhy does this print 1?", "complex"],
    ['Traceback (most recent call last):\n  File "x.py", line 3', "complex"],
    ["Can you explain step by step how a rainbow forms?", "complex"],
    ["write me a function that reverses a list", "complex"],
    ["compare Rust and Go for a small web service", "complex"],
    [paragraph, "medium"],
  ])("%j is %s", (text, expected) => {
    expect(classify(text, 0, rules).class).toBe(expected);
  });

  it("counts the history a message carries at a quarter: a short question deep in a long conversation is complex, a thank-you is not", () => {
    const question = "and what about the second one?";
    const tokens = estimateTokens(question);
    const deep = classify(question, 2_400, rules);
    expect(deep.class).toBe("complex");
    expect(deep.reasons).toEqual([`${tokens} tokens + 2,400 of history × 0.25 = ${tokens + 600}: at least complexMinTokens (500)`]);
    expect(classify(question, 600, rules).class).toBe("medium");
    expect(classify(question, 100, rules).class).toBe("simple");
    expect(classify(question, 2_400, { ...rules, historyWeight: 0 }).class).toBe("simple");
    expect(classify("thanks!", 2_400, rules).class).toBe("simple");
  });

  it("says why, with the thresholds and the pattern that decided", () => {
    expect(classify("hello there", 0, rules).reasons[0]).toMatch(/^matches \/\^\\W\*\(hi\|hello/);
    const short = "is it raining in Bergen today?";
    expect(classify(short, 0, rules).reasons).toEqual([`${estimateTokens(short)} tokens: at most simpleMaxTokens (64)`]);
    expect(classify(paragraph, 0, rules).reasons).toEqual([`${estimateTokens(paragraph)} tokens: between simpleMaxTokens (64) and complexMinTokens (500)`]);
    expect(classify("a pasted report. ".repeat(200), 0, rules).class).toBe("complex");
  });
});

describe("llm.hybrid settings", () => {
  it("needs targets naming configured providers, thresholds in order, and patterns that compile", () => {
    const env = (hybrid: Record<string, unknown>) => ({ PARLEY_CONFIG: writeConfig({ llm: { hybrid } }) });
    const setup = (hybrid: Record<string, unknown>) => resolveLlmSetup(loadConfig(env(hybrid)).llm);
    expect(setup({ simple: "ollama/llama3.2:1b", complex: "ollama/qwen2.5:14b" }).hybrid?.targets).toEqual({
      simple: { provider: "ollama", model: "llama3.2:1b" },
      medium: { provider: "ollama", model: "llama3.2:1b" },
      complex: { provider: "ollama", model: "qwen2.5:14b" },
    });
    expect(() => setup({ simple: "ollama/a", complex: "nowhere/b" })).toThrow(/llm\.hybrid\.complex: "nowhere\/b" must be provider\/model/);
    expect(() => loadConfig(env({ simple: "ollama/a", complex: "ollama/b", simpleMaxTokens: 500, complexMinTokens: 400 }))).toThrow(/complexMinTokens must be more than simpleMaxTokens/);
    expect(() => loadConfig(env({ simple: "ollama/a", complex: "ollama/b", complexPatterns: ["(unclosed"] }))).toThrow(/is not a valid regular expression/);
  });

  it("reads LLM_HYBRID_SIMPLE, LLM_HYBRID_COMPLEX and LLM_SHOW_MODEL from the environment", () => {
    const config = loadConfig({ PARLEY_CONFIG: "", LLM_HYBRID_SIMPLE: "ollama/llama3.2:1b", LLM_HYBRID_COMPLEX: "ollama/qwen2.5:14b", LLM_SHOW_MODEL: "true" });
    expect(config.llm.hybrid).toMatchObject({ simple: "ollama/llama3.2:1b", complex: "ollama/qwen2.5:14b", simpleMaxTokens: 64, complexMinTokens: 500, historyWeight: 0.25 });
    expect(config.llm.showModel).toBe(true);
    expect(() => loadConfig({ PARLEY_CONFIG: "", LLM_HYBRID_SIMPLE: "ollama/a" })).toThrow(/llm\.hybrid\.complex/);
  });
});

let ollama: FakeOllama;
let openai: FakeOpenAi;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:1b", "llama3.2:3b"] });
  openai = await startFakeOpenAi({ models: ["gpt-4o-mini", "gpt-4o"] });
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close()]);
});
beforeEach(() => {
  for (const fake of [ollama, openai]) {
    fake.setResponder(null);
    fake.requests.length = 0;
  }
  ollama.setResponder(() => ({ text: "local answer", promptTokens: 40, completionTokens: 10 }));
  openai.setResponder(() => ({ text: "hosted answer", promptTokens: 300, completionTokens: 100 }));
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** A free local model for simple messages, a paid hosted one for complex ones. */
function start(llm: Record<string, unknown> = {}, env: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  return startRouted(
    {
      providers: {
        local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2:1b"] },
        hosted: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini"], prices: { "gpt-4o-mini": { input: 10, output: 30 } } },
      },
      default: "local/llama3.2:1b",
      hybrid: { simple: "local/llama3.2:1b", complex: "hosted/gpt-4o-mini" },
      ...llm,
    },
    { TOKENS_PER_DAY: "0", ...env },
    extra,
  ).then((b) => (bot = b));
}

describe("hybrid routing through the bot", () => {
  it("answers greetings and short questions locally, code and long texts with the hosted model", async () => {
    const b = await start();
    expect(await b.say("hi there!", { user: "1" })).toBe("local answer");
    expect(await b.say("what's the capital of Norway?", { user: "2" })).toBe("local answer");
    expect(await b.say("```py\nprint(1/0)\n```\nwhy does this crash?", { user: "3" })).toBe("hosted answer");
    expect(await b.say(`Please summarise: ${"A long report about the harbour and its boats. ".repeat(70)}`, { user: "4", channel: "-1002" })).toBe("hosted answer");
    expect(modelsAsked(ollama.requests)).toEqual(["llama3.2:1b", "llama3.2:1b"]);
    expect(modelsAsked(openai.requests)).toEqual(["gpt-4o-mini", "gpt-4o-mini"]);
  });

  it("lets the persona's own model and routing rules win over the message's class", async () => {
    const personas = writePersonas([{ name: "coder", model: "local/llama3.2:3b" }]);
    const b = await start({ routes: [{ pattern: "^translate", model: "hosted/gpt-4o" }] }, { PARLEY_PERSONA_DIR: personas });
    expect(await b.say("translate hello into French", { user: "1" })).toBe("hosted answer");
    expect(modelsAsked(openai.requests)).toEqual(["gpt-4o"]);
    const own = { user: "1", channel: "1", private: true };
    await b.say("/persona coder", own);
    expect(await b.say("write me a function that parses dates", own)).toBe("local answer");
    expect(modelsAsked(ollama.requests)).toEqual(["llama3.2:3b"]);
  });

  it("sends complex messages to the simple target once the bot's money is spent, saying so", async () => {
    // 300 × 10 + 100 × 30 per million = 0.006: the first hosted answer spends the day's money.
    const b = await start({}, {}, { budgets: { dailyCost: 0.006 } });
    expect(await b.say("write a script that renames files", { user: "1" })).toBe("hosted answer");
    const after = await b.say("write a script that deletes old logs", { user: "2" });
    expect(after).toBe("local answer\n\n*(answered by local/llama3.2:1b: the bot has spent all it may spend on models today)*");
    expect(await b.say("hello!", { user: "3" })).toBe("local answer");
    expect(modelsAsked(openai.requests)).toEqual(["gpt-4o-mini"]);
    expect(modelsAsked(ollama.requests)).toEqual(["llama3.2:1b", "llama3.2:1b"]);
  });

  it("shows today's answers per class and model in status, with the servers' own token counts and the cost saved", async () => {
    const b = await start();
    await b.say("hi!", { user: "1" });
    await b.say("thanks!", { user: "1" });
    await b.say("explain step by step how tides work", { user: "2" });
    const status = await b.say("/status", { user: "1" });
    expect(status).toContain("Model: by complexity: simple → local/llama3.2:1b, complex → hosted/gpt-4o-mini");
    expect(status).toContain("Hybrid routing today (UTC):");
    // The fakes' counts: 40 + 10 per local answer, 300 + 100 per hosted one.
    expect(status).toContain("• simple → local/llama3.2:1b: 2 answers, 100 tokens, $0.00");
    expect(status).toContain("• complex → hosted/gpt-4o-mini: 1 answer, 400 tokens, $0.0060");
    // The two local answers would have cost (40 × 10 + 10 × 30) / 1e6 each with the hosted model.
    expect(status).toContain("Saved against answering everything with hosted/gpt-4o-mini: $0.0014");
  });

  it("names the model that answered under each answer with llm.showModel, and stores the answer without it", async () => {
    const b = await start({ showModel: true });
    expect(await b.say("hi!", { user: "1" })).toBe("local answer\n\n*— local/llama3.2:1b*");
    expect(await b.say("compare tea and coffee", { user: "1" })).toBe("hosted answer\n\n*— hosted/gpt-4o-mini*");
    const stored = await b.app.services.history.recent("telegram:-100500", 10);
    expect(stored.filter((t) => t.role === "assistant").map((t) => t.content)).toEqual(["local answer", "hosted answer"]);
  });
});
