/** Input a user can send that is not a plain question: invisible text, emoji queries, wrong ids, budgets, empty answers. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

const chatCalls = (ollama: FakeOllama) => ollama.requests.filter((r) => r.path === "/api/chat");

describe("odd input through the whole bot (in process)", () => {
  let ollama: FakeOllama;
  let bot: TestApp | undefined;

  beforeAll(async () => {
    ollama = await startFakeOllama();
  });
  afterAll(async () => {
    await bot?.stop();
    await ollama.close();
  });
  beforeEach(async () => {
    await bot?.stop();
    ollama.requests.length = 0;
    ollama.setResponder(null);
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, RATE_LIMIT_PER_MINUTE: "0" });
  });

  it("does not send a message of only invisible characters to the model", async () => {
    expect(await bot!.say("\u200b\u200b\u2060", { private: true })).toMatch(/^Say something after \/chat/);
    expect(await bot!.say("/chat \ufeff", { private: true })).toMatch(/^Say something after \/chat/);
    expect(chatCalls(ollama)).toHaveLength(0);
    // Text around such characters is still text.
    expect(await bot!.say("hi\u200b there", { private: true })).toBe("Echo: hi\u200b there");
  });

  it("recall with a query that has nothing to search by lists the latest, and says so", async () => {
    await bot!.say("/remember 👍🏽 means yes here", { private: true });
    await bot!.say("/remember the café is at Straße 5", { private: true });
    expect(await bot!.say("/recall 👨‍👩‍👧", { private: true })).toMatch(/^Latest memories:\n1\. #\w+ the café is at Straße 5/);
    expect(await bot!.say("/recall cafe strasse", { private: true })).toMatch(/^Best matches:\n1\. #\w+ the café/);
    expect(await bot!.say("/recall zebra", { private: true })).toBe('No memory here matches "zebra".');
  });

  it("forget with a wrong or odd id says so, and deletes nothing", async () => {
    const added = await bot!.say("/remember keep me", { private: true });
    const id = /#(\w+)/.exec(added)![1]!;
    for (const wrong of ["abc", "#zzzzz", "../../etc", "1 2 3", "x".repeat(300)]) {
      expect(await bot!.say(`/forget ${wrong}`, { private: true })).toMatch(/^There is no memory #\S{1,20} in this channel\. \/recall shows the ids\.$/);
    }
    expect(await bot!.say("/forget", { private: true })).toMatch(/^Which memory\?/);
    expect(await bot!.say("/recall", { private: true })).toContain(`#${id} keep me`);
  });

  it("over the token budget: says what is used, what the message needs, and when it resets", async () => {
    await bot!.stop();
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, TOKENS_PER_DAY: "200" });
    ollama.setResponder(() => ({ text: "ok", promptTokens: 150, completionTokens: 10 }));
    // Past 80% of the budget: the answer comes with a heads-up.
    expect(await bot!.say("first", { private: true })).toMatch(/^ok\nHeads-up: you've used 80% of your 200 tokens for today; they reset at midnight UTC \(in (\d+ h )?\d+ min\)\.$/);
    const refused = await bot!.say("second", { private: true });
    expect(refused).toMatch(
      /^You've used 160 of your 200 tokens for today, and this message needs about \d+; the budget resets at midnight UTC \(in (\d+ h )?\d+ min\)\.$/,
    );
    expect(chatCalls(ollama)).toHaveLength(1);
  });

  it("an empty answer is not stored, but its tokens are counted", async () => {
    ollama.setResponder(() => ({ chunks: [""], promptTokens: 42, completionTokens: 0 }));
    expect(await bot!.say("say nothing", { private: true, user: "7" })).toBe("The model gave an empty answer; try rephrasing.");
    expect(await bot!.say("/usage", { private: true, user: "7" })).toContain("42 tokens (42 in, 0 out)");
    ollama.setResponder(null);
    await bot!.say("next", { private: true, user: "7" });
    const prompt = chatCalls(ollama).at(-1)!.body as { messages: { content: string }[] };
    expect(prompt.messages.map((m) => m.content)).not.toContain("say nothing");
  });
});
