/**
 * The bot on a real Redis that freezes (SIGSTOP: connection open, no
 * answers) or dies while users write: each user is told on their own within
 * the store timeout plus a second, and an answer that ended while Redis was
 * away is stored, turn and tokens, once Redis is back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";
import { startRedis, type TestRedis } from "../support/redis.js";

/** The store's time bound for one operation (its default). */
const storeTimeoutMs = 2_000;
const users = 20;

let ollama: FakeOllama;
let redis: TestRedis;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
  redis = await startRedis({ ownServer: true });
});
afterEach(async () => {
  redis.resume(); // never leave a frozen server behind, whatever failed
  ollama.setResponder(null);
  await bot?.stop();
  bot = undefined;
});
afterAll(async () => {
  redis.resume();
  await redis.stop();
  await ollama.close();
});

/** A bot on the Redis, with limits on, so the rate limiter's own Redis calls are part of every message. */
async function startBot(): Promise<TestApp> {
  bot = await startTestApp({
    OLLAMA_HOST: ollama.url,
    REDIS_URL: redis.url,
    RATE_LIMIT_PER_MINUTE: "100",
    RATE_LIMIT_PER_HOUR: "1000",
    RATE_LIMIT_PER_DAY: "1000",
    RATE_LIMIT_COMMANDS_PER_MINUTE: "100",
  });
  return bot;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Tokens the fake model reported for every chat call so far. */
function reportedTokens(): number {
  return ollama.requests.reduce((sum, r) => sum + (r.answer ? r.answer.promptTokens + r.answer.completionTokens : 0), 0);
}

describe("a frozen Redis", () => {
  for (const where of ["one channel", "their own channels"] as const) {
    it(`tells each of ${users} users writing in ${where} within the store timeout plus 1 s`, { timeout: 60_000 }, async () => {
      const app = await startBot();
      expect(await app.say("hello before", { user: "1", channel: "-1" })).toContain("Echo: user1: hello before");

      redis.pause();
      const started = Date.now();
      const told = await Promise.all(
        Array.from({ length: users }, async (_, i) => {
          const text = await app.say(`question ${i}`, { user: String(100 + i), channel: where === "one channel" ? "-1" : String(-100 - i) });
          return { text, ms: Date.now() - started };
        }),
      );
      redis.resume();

      for (const { text, ms } of told) {
        expect(text).toMatch(/can't reach my memory store/);
        expect(ms).toBeLessThan(storeTimeoutMs + 1_000);
      }
      // Nothing was asked of the model: the prompt could not be built.
      expect(ollama.requests.filter((r) => r.path === "/api/chat" && JSON.stringify(r.body).includes("question"))).toEqual([]);

      // Thawed, the store is asked again within about a second.
      await eventually(async () => expect(await app.say("back?", { user: "1", channel: "-1" })).toContain("Echo: user1: back?"), 10_000);
    });
  }
});

describe("an answer that ends while Redis is away", () => {
  it("is stored, turn and tokens, once a frozen Redis thaws; the user is not told of the outage", { timeout: 60_000 }, async () => {
    const app = await startBot();
    ollama.requests.length = 0;
    expect(await app.say("first question", { user: "7", channel: "-7" })).toContain("Echo: user7: first question");

    // Redis freezes while the model answers: the reads were done, the writes are not.
    ollama.setResponder(() => {
      redis.pause();
      return "the answer during the freeze";
    });
    const said = await app.say("second question", { user: "7", channel: "-7" });
    expect(said).toBe("the answer during the freeze");
    ollama.setResponder(null);

    await sleep(500);
    redis.resume();
    const { history, usage } = app.app.services;
    await eventually(async () => {
      const turns = (await history.recent("telegram:-7", 10)).map((t) => t.content);
      expect(turns).toEqual(["first question", "Echo: user7: first question", "second question", "the answer during the freeze"]);
    }, 10_000);
    await eventually(async () => {
      const today = await usage.userToday("telegram:7");
      // Each answer counted once: none lost to the freeze, none written twice when Redis caught up.
      expect(today.promptTokens + today.completionTokens).toBe(reportedTokens());
      expect(today.requests).toBe(2);
    }, 10_000);
  });

  it("is stored once a Redis that was stopped is started again", { timeout: 60_000 }, async () => {
    const app = await startBot();
    ollama.requests.length = 0;
    ollama.setResponder(async () => {
      await redis.stop();
      return "the answer while redis is down";
    });
    expect(await app.say("a question", { user: "8", channel: "-8" })).toBe("the answer while redis is down");
    ollama.setResponder(null);

    await sleep(1_500);
    await redis.restart(); // the same port; this test server keeps no data, so only what was kept comes back
    const { history, usage } = app.app.services;
    await eventually(async () => {
      expect((await history.recent("telegram:-8", 10)).map((t) => t.content)).toEqual(["a question", "the answer while redis is down"]);
      const today = await usage.userToday("telegram:8");
      expect(today.promptTokens + today.completionTokens).toBe(reportedTokens());
      expect(today.requests).toBe(1);
    }, 15_000);
  });
});
