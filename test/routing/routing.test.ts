/** Which model answers: the persona's, else the first matching rule, else the default; through the dispatcher. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { modelsAsked, startRouted, writePersonas } from "./support.js";

let ollama: FakeOllama;
let openai: FakeOpenAi;
let bot: TestApp;
let personaDir: string;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest", "qwen2.5-coder:7b", "tiny:latest"] });
  openai = await startFakeOpenAi({ models: ["gpt-4o-mini", "gpt-4o"] });
  personaDir = writePersonas([
    { name: "coder", model: "hosted/gpt-4o" },
    { name: "plain", model: "tiny" },
    { name: "free" },
  ]);
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close()]);
});
beforeEach(async () => {
  ollama.requests.length = 0;
  openai.requests.length = 0;
  bot = await startRouted(
    {
      providers: {
        local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
        hosted: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini", "gpt-4o"] },
      },
      default: "local/llama3.2",
      routes: [
        { pattern: "```|\\b(code|function|bug)\\b", model: "local/qwen2.5-coder:7b" },
        { maxChars: 12, model: "hosted/gpt-4o-mini" },
      ],
    },
    { PARLEY_PERSONA_DIR: personaDir },
  );
});
afterEach(async () => {
  await bot.stop();
});

const say = (text: string) => bot.say(text, { private: true, channel: "5", user: "5" });

/** Which `provider/model` answered the last message. */
function lastAsked(): string {
  const local = modelsAsked(ollama.requests).map((m) => `local/${m}`);
  const hosted = modelsAsked(openai.requests).map((m) => `hosted/${m}`);
  expect(local.length + hosted.length).toBe(1);
  ollama.requests.length = 0;
  openai.requests.length = 0;
  return [...local, ...hosted][0]!;
}

describe("routing rules and persona models, through the dispatcher", () => {
  it("sends a message that matches no rule to the default", async () => {
    expect(await say("tell me about the history of tea")).toBe("Echo: tell me about the history of tea");
    expect(lastAsked()).toBe("local/llama3.2");
  });

  it("sends a message to the first rule that matches (case-insensitively), in order", async () => {
    await say("Why does this FUNCTION return undefined when called twice?");
    expect(lastAsked()).toBe("local/qwen2.5-coder:7b");
    // Short and about code: both rules match, the first wins.
    await say("a bug again");
    expect(lastAsked()).toBe("local/qwen2.5-coder:7b");
    await say("hi there!");
    expect(lastAsked()).toBe("hosted/gpt-4o-mini");
    // One character over maxChars: the default.
    await say("hello again!!");
    expect(lastAsked()).toBe("local/llama3.2");
  });

  it("lets the persona's model win over every rule", async () => {
    expect(await say("/persona coder")).toContain("Persona switched to coder");
    await say("fix this code please");
    expect(lastAsked()).toBe("hosted/gpt-4o");
    await say("hi");
    expect(lastAsked()).toBe("hosted/gpt-4o");
  });

  it("reads a persona model without a provider as a model of the default provider", async () => {
    await say("/persona plain");
    await say("anything long enough to skip the short rule");
    expect(lastAsked()).toBe("local/tiny");
  });

  it("keeps a persona without a model on the rules and the default", async () => {
    await say("/persona free");
    await say("hey");
    expect(lastAsked()).toBe("hosted/gpt-4o-mini");
    await say("what is a good name for a cat?");
    expect(lastAsked()).toBe("local/llama3.2");
  });

  it("shows in status where each persona and each rule points", async () => {
    await say("/persona coder");
    const status = await say("/status");
    expect(status).toContain("Model: gpt-4o via hosted (the persona's own)");
    expect(status).toContain("• coder → hosted/gpt-4o");
    expect(status).toContain("• plain → local/tiny");
    expect(status).toContain("• free → the rules, else local/llama3.2");
    expect(status).toContain("• default → the rules, else local/llama3.2");
    expect(status).toContain("1. /```|\\b(code|function|bug)\\b/ → local/qwen2.5-coder:7b");
    expect(status).toContain("2. at most 12 characters → hosted/gpt-4o-mini");
    expect(status).toContain("Default: local/llama3.2");
    expect(status).toMatch(/^local: answering \(3 models\)/m);
    expect(status).toMatch(/^hosted: answering \(2 models\)/m);
  });
});
