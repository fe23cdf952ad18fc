import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

function chatCalls(ollama: FakeOllama) {
  return ollama.requests
    .filter((r) => r.path === "/api/chat")
    .map((r) => (r.body as { messages: { role: string; content: string }[] }).messages);
}

describe("dispatcher and commands through the whole bot (in process)", () => {
  let ollama: FakeOllama;
  let bot: TestApp;

  beforeAll(async () => {
    ollama = await startFakeOllama();
  });
  afterAll(async () => {
    await ollama.close();
  });
  beforeEach(async () => {
    await bot?.stop();
    ollama.requests.length = 0;
    ollama.setResponder(null);
    bot = await startTestApp({ OLLAMA_HOST: ollama.url });
  });

  it("never shows one channel's history or memories in another", async () => {
    await bot.say("/remember the secret launch code is 0000", { channel: "-1001" });
    await bot.say("in channel one, my dog is called Rex", { channel: "-1001" });
    expect(await bot.say("/recall launch code", { channel: "-1002" })).toContain("No memory here matches");
    await bot.say("what is my dog called?", { channel: "-1002" });
    const prompt = JSON.stringify(chatCalls(ollama).at(-1));
    expect(prompt).not.toContain("Rex");
    expect(prompt).not.toContain("launch code");
    // The same user in a channel of another platform with the same id sees nothing either.
    expect(await bot.say("/recall launch", { channel: "-1001", platform: "discord" })).toContain("No memory here matches");
    // The first channel still has both.
    await bot.say("and again?", { channel: "-1001" });
    const back = JSON.stringify(chatCalls(ollama).at(-1));
    expect(back).toContain("Rex");
    expect(back).toContain("launch code");
  });

  it("in shared channels tells the model who said what", async () => {
    await bot.say("I like tea", { name: "Alice", user: "1" });
    await bot.say("I prefer coffee", { name: "Bob", user: "2" });
    const messages = chatCalls(ollama).at(-1)!;
    expect(messages.slice(1).map((m) => m.content)).toEqual(["Alice: I like tea", "Echo: Alice: I like tea", "Bob: I prefer coffee"]);
  });

  it("keeps reset and persona switching to moderators outside private chats", async () => {
    await bot.say("hello");
    expect(await bot.say("/reset")).toBe("Only group admins can use /reset here.");
    expect(await bot.say("/persona creative")).toMatch(/^Only group admins can use \/persona creative here/);
    expect(await bot.say("/persona")).toContain("▸ default");
    expect(await bot.say("/reset", { moderator: true })).toContain("Conversation cleared");
    expect(await bot.say("/persona creative", { moderator: true })).toContain("Persona switched to creative");
    // In a private chat its one user is the moderator.
    expect(await bot.say("/persona concise", { private: true, channel: "77", user: "77" })).toContain("switched to concise");
    expect(await bot.say("/reset all", { private: true, channel: "77", user: "77" })).toContain("persona back to default");
    // Discord users read "moderators".
    expect(await bot.say("/reset", { platform: "discord" })).toBe("Only moderators can use /reset here.");
  });

  it("answers a bare prefix with a hint instead of sending it to the model", async () => {
    expect(await bot.say("/")).toBe("Which command? Send /help for the list, or just write to me.");
    expect(await bot.say("!")).toBe("Which command? Send /help for the list, or just write to me.");
    expect(chatCalls(ollama)).toHaveLength(0);
  });

  it("lets only a memory's author or a moderator forget it", async () => {
    const added = await bot.say("/remember meetings are on Tuesdays", { user: "1", name: "Ann" });
    const id = /#(\w+)/.exec(added)![1]!;
    expect(await bot.say(`/forget ${id}`, { user: "2" })).toBe(`Only Ann, who added #${id}, or a moderator can forget it.`);
    expect(await bot.say(`/forget #${id.toUpperCase()}`, { user: "3", moderator: true })).toContain(`Forgot #${id}`);
    expect(await bot.say(`/forget ${id}`, { user: "1" })).toContain(`no memory #${id}`);
  });

  it("answers the messages of one channel in order, channels concurrently", async () => {
    ollama.setResponder((call) => ({ text: `done ${call.messages.at(-1)!.content}`, chunkDelayMs: 5 }));
    const order: string[] = [];
    await Promise.all(
      ["a1", "a2", "a3"].map((t) => bot.say(t, { channel: "-1", private: true }).then((r) => order.push(r))).concat(
        ["b1"].map((t) => bot.say(t, { channel: "-2", private: true }).then((r) => order.push(r))),
      ),
    );
    const a = order.filter((r) => r.startsWith("done a"));
    expect(a).toEqual(["done a1", "done a2", "done a3"]);
    // Each answer in channel -1 saw the turns before it.
    expect(chatCalls(ollama).filter((m) => m.at(-1)!.content.endsWith("a3"))[0]!.map((m) => m.content)).toContain("done a2");
  });

  it("blocks the call that would exceed the daily token budget", async () => {
    await bot.stop();
    bot = await startTestApp({ OLLAMA_HOST: ollama.url, TOKENS_PER_DAY: "200" });
    ollama.setResponder(() => ({ text: "fine", promptTokens: 150, completionTokens: 30 }));
    expect(await bot.say("first", { user: "9" })).toMatch(/^fine\nHeads-up: you've used 90% of your 200 tokens/);
    const before = chatCalls(ollama).length;
    expect(await bot.say("second question here", { user: "9" })).toMatch(/used 180 of your 200 tokens/);
    expect(chatCalls(ollama).length).toBe(before);
    // Another user still has a budget.
    expect(await bot.say("first", { user: "10" })).toMatch(/^fine\n/);
  });
});
