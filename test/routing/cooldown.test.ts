/** A provider that keeps failing is skipped for a while instead of making every user wait for its timeout. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { chatCalls, fastLlm, startRouted, timed } from "./support.js";

const COOLDOWN_MS = 1500;
/** Well under the 400 ms timeout: "did not wait for it". */
const NO_WAIT_MS = 200;

let ollama: FakeOllama;
let openai: FakeOpenAi;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
  openai = await startFakeOpenAi();
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close()]);
});
beforeEach(() => {
  ollama.setFault(null);
  openai.setFault(null);
  ollama.requests.length = 0;
  openai.requests.length = 0;
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const say = (text: string) => bot!.say(text, { private: true });

function start(failures: number, withFallback: boolean) {
  return startRouted({
    providers: {
      primary: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
      backup: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini"] },
    },
    default: "primary/llama3.2",
    fallback: withFallback ? ["backup/gpt-4o-mini"] : [],
    retry: { ...fastLlm.retry, attempts: 1 },
    cooldown: { failures, ms: COOLDOWN_MS },
  });
}

describe("cool-down of a failing provider", () => {
  it("skips a hanging provider for the next message, then tries it again after the cool-down", async () => {
    bot = await start(1, true);
    ollama.setFault({ kind: "hang", sticky: true });
    const note = "\n\n*(answered by backup/gpt-4o-mini because primary/llama3.2 was unavailable)*";

    const first = await timed(() => say("one"));
    expect(first.value).toBe(`Echo: one${note}`);
    expect(first.ms).toBeGreaterThanOrEqual(fastLlm.timeoutMs);

    const second = await timed(() => say("two"));
    expect(second.value).toBe(`Echo: two${note}`);
    expect(second.ms).toBeLessThan(NO_WAIT_MS);
    expect(chatCalls(ollama.requests)).toHaveLength(1);

    expect(await say("/status")).toMatch(/^primary: answering \(1 model\); skipped for [12] s after repeated failures$/m);

    // Healed, and the cool-down over: the first model answers again, without a note.
    ollama.setFault(null);
    await sleep(COOLDOWN_MS + 50);
    expect(await say("three")).toBe("Echo: three");
    expect(chatCalls(ollama.requests)).toHaveLength(2);
    expect(await say("four")).toBe("Echo: four");
  });

  it("counts failures in a row before skipping, and a trial that fails skips again at once", async () => {
    bot = await start(2, true);
    ollama.setFault({ kind: "500", sticky: true });
    await say("a");
    await say("b");
    expect(chatCalls(ollama.requests)).toHaveLength(2);
    await say("c");
    expect(chatCalls(ollama.requests)).toHaveLength(2);
    await sleep(COOLDOWN_MS + 50);
    // The trial call fails: skipped again without needing two more failures.
    await say("d");
    await say("e");
    expect(chatCalls(ollama.requests)).toHaveLength(3);
    expect(chatCalls(openai.requests)).toHaveLength(5);
  });

  it("with no fallback, still tries the provider on cool-down: a server back up answers at once", async () => {
    bot = await start(1, false);
    ollama.setFault({ kind: "500", sticky: true });
    for (const text of ["one", "two", "three"]) {
      expect(await say(text)).toMatch(/^The primary model server/);
    }
    // Each message knocked once, although the provider is on cool-down: there is nothing else to ask.
    expect(chatCalls(ollama.requests)).toHaveLength(3);
    expect(await say("/status")).toMatch(/^primary: answering \(1 model\); skipped for [12] s after repeated failures$/m);
    ollama.setFault(null);
    expect(await say("four")).toBe("Echo: four");
    expect(chatCalls(ollama.requests)).toHaveLength(4);
  });

  it("with a fallback on cool-down too, tries only one of them", async () => {
    bot = await start(1, true);
    ollama.setFault({ kind: "500", sticky: true });
    openai.setFault({ kind: "500", sticky: true });
    await say("one");
    const before = chatCalls(ollama.requests).length + chatCalls(openai.requests).length;
    await say("two");
    expect(chatCalls(ollama.requests).length + chatCalls(openai.requests).length - before).toBe(1);
  });

  it("stays away from a provider for as long as its 429 asked when that is longer than retries wait", async () => {
    bot = await start(100, false);
    ollama.setFault({ kind: "429", retryAfterSec: 30 });
    const first = await timed(() => say("one"));
    expect(first.value).toBe("The primary model server is rate limiting us; try again in 30 s.");
    expect(first.ms).toBeLessThan(fastLlm.retry.maxDelayMs);
    const second = await timed(() => say("two"));
    expect(second.value).toMatch(/^The primary model server is rate limiting us; try again in (29|30) s\.$/);
    expect(second.ms).toBeLessThan(NO_WAIT_MS);
    expect(chatCalls(ollama.requests)).toHaveLength(1);
  });
});
