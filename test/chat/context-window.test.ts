import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildPrompt, type PromptParts } from "../../src/chat/prompt.js";
import { estimateTokens } from "../../src/chat/tokens.js";
import type { HistoryTurn } from "../../src/store/types.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

/** A Russian sentence of about 40 tokens, where characters / 4 counted about 30. */
const russian = "Сегодня мы обсудим ход работы над проектом и задачи на следующую неделю. Пожалуйста, подготовьте отчёты.";

const tokensOf = (messages: { content: string }[]) => messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);

describe("buildPrompt and the model's window", () => {
  const history: HistoryTurn[] = Array.from({ length: 40 }, (_, i) => ({
    role: i % 2 === 0 ? "user" : "assistant",
    content: `${i}: ${russian}`,
    at: i,
  }));
  const parts: PromptParts = {
    persona: { name: "default", description: "", prompt: "You are Parley, a helpful assistant." },
    history,
    memories: [],
    shared: false,
    user: { name: "Ann", text: russian },
    historyTokens: 3000,
  };

  it("keeps the history budget when the window is not known or roomy", () => {
    const unknown = buildPrompt(parts);
    expect(tokensOf(unknown.slice(1, -1))).toBeLessThanOrEqual(3000);
    expect(unknown.length).toBe(history.length + 2);
    expect(buildPrompt({ ...parts, windowTokens: 131_072 })).toEqual(unknown);
  });

  it("fits the whole prompt in three quarters of a small window, newest turns kept, starting on a question", () => {
    const messages = buildPrompt({ ...parts, windowTokens: 1024 });
    expect(tokensOf(messages)).toBeLessThanOrEqual(1024 * 0.75);
    expect(messages.length).toBeGreaterThan(4);
    expect(messages.at(-2)!.content).toBe(history.at(-1)!.content);
    expect(messages[1]!.role).toBe("user");
  });

  it("leaves out all history when the system prompt and the message alone fill the window", () => {
    const messages = buildPrompt({ ...parts, windowTokens: 64 });
    expect(messages.map((m) => m.role)).toEqual(["system", "user"]);
  });
});

describe("the chat command and the model's window", () => {
  let ollama: FakeOllama | undefined;
  let bot: TestApp | undefined;
  afterEach(async () => {
    await bot?.stop();
    await ollama?.close();
    bot = ollama = undefined;
  });

  const chatBodies = () =>
    ollama!.requests.filter((r) => r.path === "/api/chat").map((r) => r.body as { messages: { content: string }[] });

  it("sends num_ctx from /api/show and keeps every prompt inside it", async () => {
    ollama = await startFakeOllama({ contextLengths: { "llama3.2:latest": 1024 } });
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, TOKENS_PER_DAY: "0" });
    const who = { private: true, channel: "77", user: "77" };
    for (let i = 0; i < 12; i++) await bot.say(`${i}: ${russian}`, who);

    const bodies = chatBodies().filter((b) => !String(b.messages[0]?.content).startsWith("You keep the running summary"));
    expect(bodies).toHaveLength(12);
    expect(ollama.numCtxSent().every((n) => n === 1024)).toBe(true);
    for (const body of bodies) expect(tokensOf(body.messages)).toBeLessThanOrEqual(1024 * 0.75);
    // The history was cut to fit: the last prompt does not carry all eleven earlier questions.
    expect(bodies.at(-1)!.messages.length).toBeLessThan(2 + 2 * 11);
    expect(ollama.requests.filter((r) => r.path === "/api/show")).toHaveLength(1);
  }, 30_000);

  it("caps the model's length at LLM_MAX_CONTEXT_TOKENS, and a provider's contextTokens for the model wins", async () => {
    ollama = await startFakeOllama();
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, LLM_MAX_CONTEXT_TOKENS: "16384", TOKENS_PER_DAY: "0" });
    await bot.say("hello", { private: true, channel: "78", user: "78" });
    expect(ollama.numCtxSent()).toEqual([16_384]);
    await bot.stop();

    const dir = mkdtempSync(join(tmpdir(), "parley-window-"));
    const config = join(dir, "parley.yaml");
    writeFileSync(
      config,
      [
        "llm:",
        "  maxContextTokens: 4096",
        "  providers:",
        "    local:",
        "      kind: ollama",
        `      baseUrl: ${ollama.url}`,
        "      models: [llama3.2]",
        "      contextTokens:",
        "        llama3.2: 12000",
        "limits:",
        "  tokensPerDay: 0",
        "",
      ].join("\n"),
    );
    ollama.requests.length = 0;
    bot = await startTestApp({ PARLEY_CONFIG: config });
    await bot.say("hello again", { private: true, channel: "79", user: "79" });
    expect(ollama.numCtxSent()).toEqual([12_000]);
    expect(ollama.requests.filter((r) => r.path === "/api/show")).toEqual([]);
  }, 30_000);
});
