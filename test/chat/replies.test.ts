/** A message replied to is what "this" and "that" mean: it goes in the prompt, not in the history. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

let ollama: FakeOllama;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.close();
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
  ollama.requests.length = 0;
});

const lastUserTurn = () => {
  const body = ollama.requests.filter((r) => r.path === "/api/chat").at(-1)?.body as { messages: Array<{ role: string; content: string }> };
  return body.messages.at(-1);
};

describe("a reply to any message", () => {
  it("puts the replied-to message before the question, cut at 2,000 characters; the history keeps the member's own words", async () => {
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, TOKENS_PER_DAY: "0" });
    const cara = { key: "telegram:7", name: "Cara" };
    await bot.say("what does this mean?", { user: "1", name: "Ann", replyTo: { author: cara, text: "  PR 42 is blocked on review  " } });
    expect(lastUserTurn()).toEqual({ role: "user", content: '(in reply to Cara: "PR 42 is blocked on review")\nAnn: what does this mean?' });

    await bot.say("too long?", { user: "1", name: "Ann", replyTo: { author: cara, text: "x".repeat(5_000) } });
    expect(lastUserTurn()!.content).toBe(`(in reply to Cara: "${"x".repeat(2_000)}…")\nAnn: too long?`);

    // A reply to a photo without a caption has no text to quote.
    await bot.say("and this?", { user: "1", name: "Ann", replyTo: { author: cara, text: "" } });
    expect(lastUserTurn()!.content).toBe("Ann: and this?");

    const stored = await bot.app.services.history.recent("telegram:-100500", 20);
    expect(stored.filter((t) => t.role === "user").map((t) => t.content)).toEqual(["what does this mean?", "too long?", "and this?"]);
  });
});
