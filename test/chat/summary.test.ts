import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateTokens } from "../../src/chat/tokens.js";
import { startFakeOllama, type FakeChatCall, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

const isSummaryCall = (call: FakeChatCall) => call.messages[0]?.content.startsWith("You keep the running summary");

/** A model that summarises by keeping every "fact:" line it was shown: deterministic and checkable. */
function summariser(call: FakeChatCall): string {
  const input = call.messages.at(-1)!.content;
  const facts = input.match(/fact: [^\n]+/g) ?? [];
  return [...new Set(facts.map((f) => f.replace(/^.*?fact: /, "fact: ")))].join("\n") || "Small talk only.";
}

describe("long conversations stay within the prompt budget", () => {
  let ollama: FakeOllama;
  let bot: TestApp;
  const promptTokens = 400;

  beforeAll(async () => {
    ollama = await startFakeOllama({
      responder: (call) => (isSummaryCall(call) ? summariser(call) : `Noted, reply number ${call.messages.length}.`),
    });
    const dir = mkdtempSync(join(tmpdir(), "parley-summary-"));
    const config = join(dir, "parley.yaml");
    writeFileSync(config, `history:\n  promptTokens: ${promptTokens}\n  promptMessages: 12\nlimits:\n  tokensPerDay: 0\n`);
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, PARLEY_CONFIG: config });
  });
  afterAll(async () => {
    await bot.stop();
    await ollama.close();
  });

  it("summarises the oldest turns of 200, keeping every prompt under budget and early facts reachable", async () => {
    const who = { private: true, channel: "555", user: "555" };
    await bot.say("fact: my cat is called Miso", who);
    await bot.say("fact: the server migration is planned for June", who);
    for (let i = 3; i <= 200; i++) {
      await bot.say(`message ${i}: ${"some chatter about nothing in particular ".repeat(3)}`, who);
    }

    const chats = ollama.requests.filter((r) => r.path === "/api/chat").map((r) => r.body as FakeChatCall);
    const prompts = chats.filter((c) => !isSummaryCall(c));
    expect(prompts).toHaveLength(200);
    expect(chats.length - prompts.length).toBeGreaterThan(5);

    for (const prompt of prompts) {
      const system = prompt.messages[0]!.content;
      const summary = system.split("Summary of the earlier conversation:\n")[1]?.split("\n\n")[0] ?? "";
      const historyTokens = prompt.messages.slice(1, -1).reduce((sum, m) => sum + estimateTokens(m.content), 0);
      expect(historyTokens + (summary ? estimateTokens(summary) : 0)).toBeLessThanOrEqual(promptTokens);
    }
    const last = prompts.at(-1)!;
    expect(last.messages[0]!.content).toContain("fact: my cat is called Miso");
    expect(last.messages[0]!.content).toContain("fact: the server migration is planned for June");
    // The recent turns are still there word for word.
    expect(last.messages.at(-2)!.content).toMatch(/^Noted, reply number/);
    expect(last.messages.some((m) => m.content.startsWith("message 199:"))).toBe(true);
  }, 60_000);

  it("reset clears the summary too", async () => {
    const who = { private: true, channel: "555", user: "555" };
    await bot.say("/reset", who);
    await bot.say("hello again", who);
    const last = ollama.requests.filter((r) => r.path === "/api/chat").at(-1)!.body as FakeChatCall;
    expect(last.messages[0]!.content).not.toContain("Miso");
    expect(last.messages).toHaveLength(2);
  });
});
