/** Waiting on a slow model is bounded and said: `llm.maxAnswerMs`, and a word to members waiting behind it. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stoppedBy } from "../../src/core/errors.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import type { TestApp } from "../support/app-harness.js";
import { chatCalls, startRouted, timed } from "./support.js";

let ollama: FakeOllama;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.setFault(null);
  ollama.setResponder(null);
  ollama.requests.length = 0;
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** A hung server, a long silence timeout, and retries: only `maxAnswerMs` can end the wait. */
function start(maxAnswerMs: number) {
  return startRouted({
    providers: { primary: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] } },
    timeoutMs: 60_000,
    maxAnswerMs,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 1000 },
  });
}

describe("a model that hangs", () => {
  it("holds a message no longer than llm.maxAnswerMs, all tries together", async () => {
    bot = await start(1_000);
    ollama.setFault({ kind: "hang", sticky: true });
    const { value, ms } = await timed(() => bot!.say("hello?"));
    expect(value).toBe("The model took longer than 1 s to answer, so I stopped waiting.");
    expect(ms).toBeGreaterThanOrEqual(950);
    // Generous: the bound is maxAnswerMs, not how busy the machine is.
    expect(ms).toBeLessThan(8_000);
    expect(chatCalls(ollama.requests)).toHaveLength(1);
  });

  it("tells a second member of the channel, once, that their message waits behind an earlier one", async () => {
    bot = await start(3_000);
    ollama.setFault({ kind: "hang" });
    const first = bot.say("a long question", { user: "1", name: "Ann" });
    // Let the first message reach the model before the others write.
    while (chatCalls(ollama.requests).length === 0) await new Promise((r) => setTimeout(r, 10));
    const second = bot.say("me too", { user: "2", name: "Bo" });
    const third = bot.say("and this", { user: "2", name: "Bo" });
    expect(await first).toBe("The model took longer than 3 s to answer, so I stopped waiting.");
    const notice = "I'm still answering an earlier message here; yours is next in line.";
    expect(await second).toBe(`${notice}\nEcho: Bo: me too`);
    expect(await third).toBe("Echo: Bo: and this");
  });

  it("says nothing to a member whose message is answered at once", async () => {
    bot = await start(3_000);
    const [a, b] = await Promise.all([bot.say("one", { user: "1" }), bot.say("two", { user: "2" })]);
    expect([a, b]).toEqual(["Echo: user1: one", "Echo: user2: two"]);
  });
});

describe("the person asking stops an answer", () => {
  function ask(text: string, stopAfterChars: number | "before") {
    const controller = new AbortController();
    const shown: string[] = [];
    const reply = {
      signal: controller.signal,
      typing() {
        if (stopAfterChars === "before") setTimeout(() => controller.abort(stoppedBy.user()), 50);
      },
      async send(t: string) {
        shown.push(t);
      },
      async stream(deltas: AsyncIterable<string>) {
        let full = "";
        try {
          for await (const d of deltas) {
            full += d;
            if (typeof stopAfterChars === "number" && full.length >= stopAfterChars) controller.abort(stoppedBy.user());
          }
        } finally {
          if (full) shown.push(full);
        }
        return full;
      },
    };
    const message = {
      platform: "console" as const,
      channel: { key: "console:local", private: true },
      author: { key: "console:local", name: "you" },
      text,
      addressed: true,
      isModerator: async () => true,
      raw: null,
    };
    return bot!.app.dispatcher.handle(message, reply).then(() => shown);
  }

  it("ends it with a mark, keeps it out of the history, and answers the next question", async () => {
    bot = await start(60_000);
    ollama.setResponder(() => ({ text: Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 20 }));
    const shown = await ask("talk", 10);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/^w0 w1 .*\n\n\*\(stopped\)\*$/);
    expect(shown[0]).not.toContain("w99");
    ollama.setResponder(null);
    expect(await ask("next", 1_000)).toEqual(["Echo: next"]);
    const prompt = (chatCalls(ollama.requests).at(-1)!.body as { messages: Array<{ content: string }> }).messages.map((m) => m.content);
    expect(prompt.join("\n")).not.toContain("w0 w1");
  });

  it("before any text: the adapter marks it, the dispatcher adds nothing", async () => {
    bot = await start(60_000);
    ollama.setFault({ kind: "hang" });
    expect(await ask("hello?", "before")).toEqual([]);
  });
});
