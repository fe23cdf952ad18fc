import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isParleyError } from "../../src/core/errors.js";
import { createStores, type Stores } from "../../src/store/index.js";
import { redisCommand, redisKeys, startRedis, type TestRedis } from "../support/redis.js";
import { runSharedStateContract } from "./shared-state-contract.js";
import { runStoreContract, turn, type StoreContractSetup } from "./store-contract.js";

const silent = pino({ level: "silent" });

let shared: TestRedis;
beforeAll(async () => {
  shared = await startRedis();
});
afterAll(async () => {
  await shared?.stop();
});

const setup: StoreContractSetup = {
  makeStores: (options) => createStores({ log: silent, redisUrl: shared.url, ...options }),
  reset: async () => {
    await redisCommand(shared.url, "FLUSHDB");
  },
};

runStoreContract("redis", setup);
// Each client its own connection, as three processes would have.
runSharedStateContract("redis", setup);

/** Resolves with the error a call failed with, or fails the test if it succeeded. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => expect.fail("the store call should have failed"),
    (error: unknown) => error,
  );
}

function expectStoreUnavailable(error: unknown): void {
  expect(isParleyError(error)).toBe(true);
  if (!isParleyError(error)) return;
  expect(error.code).toBe("store_unavailable");
  expect(error.userMessage).toBe("I can't reach my memory store right now; try again in a moment.");
  expect(error.retryable).toBe(true);
}

async function eventually<T>(call: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe("redis store: keys", () => {
  let stores: Stores | undefined;
  afterEach(async () => {
    await stores?.close();
  });

  it("writes each key once prefixed, with its channel, and nothing outside parley:", async () => {
    await redisCommand(shared.url, "FLUSHDB");
    stores = await createStores({ log: silent, redisUrl: shared.url });
    await stores.history.append("telegram:-100123", [turn("user", "hi"), turn("assistant", "hello")]);
    await stores.settings.setPersona("discord:123456789012345678", "concise");
    await stores.memories.add("telegram:7", { text: "Oslo is cold", authorKey: "telegram:42", authorName: "Ann" });

    expect(await redisKeys(shared.url, "*")).toEqual([
      "parley:history:telegram:-100123#meta",
      "parley:history:telegram:-100123#turns",
      "parley:memories:telegram:7#facts",
      "parley:memories:telegram:7#ids",
      "parley:memories:telegram:7#index#p:col",
      "parley:memories:telegram:7#index#p:cold",
      "parley:memories:telegram:7#index#p:osl",
      "parley:memories:telegram:7#index#p:oslo",
      "parley:memories:telegram:7#index#w:cold",
      "parley:memories:telegram:7#index#w:oslo",
      "parley:memories:telegram:7#order",
      "parley:settings:discord:123456789012345678#settings",
      // The mark that data of Parley 0.1.0's layout was looked for (legacy-layout.ts).
      "parley:upgrades:layout-2",
    ]);
    // Idle expiry is Redis's own: both keys of the channel carry a TTL of about 30 days.
    for (const key of ["parley:history:telegram:-100123#meta", "parley:history:telegram:-100123#turns"]) {
      const ttl = Number((await redisCommand(shared.url, "PTTL", key)).slice(1));
      expect(ttl).toBeGreaterThan(29 * 24 * 3_600_000);
    }
    expect(await redisCommand(shared.url, "LRANGE", "parley:history:telegram:-100123#turns", "0", "-1")).toContain('"content":"hello"');
  });
});

describe("redis store: outages", () => {
  let own: TestRedis;
  let stores: Stores | undefined;
  beforeAll(async () => {
    own = await startRedis({ ownServer: true });
  });
  afterAll(async () => {
    await own?.stop();
  });
  afterEach(async () => {
    await stores?.close();
    stores = undefined;
  });

  it("fails fast with store_unavailable while Redis is down, and works again once it is back", { timeout: 30_000 }, async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    stores = await createStores({ log, redisUrl: own.url });
    const ch = "telegram:-100123";
    await stores.history.append(ch, [turn("user", "before"), turn("assistant", "the outage")]);

    await own.stop();
    const s = stores;
    for (const call of [() => s.history.recent(ch, 10), () => s.memories.list(ch), () => s.settings.getPersona(ch)]) {
      const started = Date.now();
      expectStoreUnavailable(await failure(call()));
      // Refused at once (no offline queue), well before the 2 s operation timeout.
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    expect(stores.kv.reachable).toBe(false);
    // An exchange that ends while the store is away is kept, to be stored when it is back.
    expect(await s.history.append(ch, [turn("user", "during"), turn("assistant", "the outage")])).toBe("kept");
    expect(await stores.kv.ping()).toBe(false);
    await new Promise((r) => setTimeout(r, 1_500)); // let the client fail a few reconnections

    await own.restart(); // an empty server: it has no persistence
    await eventually(async () => expect((await s.history.recent(ch, 10)).map((t) => t.content)).toEqual(["during", "the outage"]), 10_000);
    expect(await s.history.append(ch, [turn("user", "after"), turn("assistant", "recovery")])).toBe("written");
    expect((await stores.history.recent(ch, 10)).map((t) => t.content)).toEqual(["during", "the outage", "after", "recovery"]);
    expect(await stores.kv.ping()).toBe(true);

    // Connection errors are logged, but not one line per failed reconnection.
    const errorLines = lines.filter((l) => l.includes("redis connection error"));
    expect(errorLines.length).toBeGreaterThan(0);
    expect(errorLines.length).toBeLessThanOrEqual(2);
    expect(lines.some((l) => l.includes("redis connection restored"))).toBe(true);
    expect(lines.join("")).not.toContain(own.url);
  });

  it("gives up on a frozen Redis within the operation timeout", { timeout: 20_000 }, async () => {
    stores = await createStores({ log: silent, redisUrl: own.url });
    await stores.settings.setPersona("discord:1", "concise");
    own.pause();
    try {
      const started = Date.now();
      expectStoreUnavailable(await failure(stores.settings.getPersona("discord:1")));
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
      expect(elapsed).toBeLessThan(3_000);
    } finally {
      own.resume();
    }
    const s = stores;
    expect(await eventually(() => s.settings.getPersona("discord:1"), 5_000)).toBe("concise");
  });

  it("closes within the operation timeout even when Redis is frozen mid-call", { timeout: 20_000 }, async () => {
    const frozen = await createStores({ log: silent, redisUrl: own.url });
    await frozen.history.append("telegram:3", [turn("user", "hello")]);
    own.pause();
    try {
      const pending = failure(frozen.history.recent("telegram:3", 10));
      const started = Date.now();
      await frozen.close();
      expect(Date.now() - started).toBeLessThan(2_500);
      expectStoreUnavailable(await pending);
      // Closed means closed: no call reconnects behind the caller's back.
      expectStoreUnavailable(await failure(frozen.history.size("telegram:3")));
    } finally {
      own.resume();
    }
  });

  it("starts while Redis is unreachable, answers store_unavailable, and does not hang", { timeout: 20_000 }, async () => {
    await own.stop();
    const started = Date.now();
    stores = await createStores({ log: silent, redisUrl: own.url, connectTimeoutMs: 500 });
    expect(Date.now() - started).toBeLessThan(2_000);
    const callStarted = Date.now();
    expectStoreUnavailable(await failure(stores.usage.userToday("telegram:42")));
    expect(Date.now() - callStarted).toBeLessThan(3_000);

    // Kept while Redis is away, counted once when it is back.
    await stores.usage.count("telegram:42", "telegram:42", "model");
    expect(stores.pending.size).toBe(1);
    await own.restart();
    const s = stores;
    await eventually(async () => expect((await s.usage.userToday("telegram:42")).requests).toBe(1), 10_000);
    expect(stores.pending.size).toBe(0);
  });

  it("writes what it kept once more on shutdown, before closing", { timeout: 20_000 }, async () => {
    await redisCommand(own.url, "FLUSHDB");
    // Probes so rare that only the shutdown's own one can see Redis back.
    const s = await createStores({ log: silent, redisUrl: own.url, probeIntervalMs: 60_000 });
    own.pause();
    try {
      expect(await s.history.append("telegram:9", [turn("user", "late"), turn("assistant", "kept")])).toBe("kept");
      expect(await s.usage.record({ userKey: "telegram:9", channelKey: "telegram:9", promptTokens: 5, completionTokens: 7 })).toBeUndefined();
    } finally {
      own.resume();
    }
    expect(s.kv.reachable).toBe(false);
    await s.close();
    expect(await redisKeys(own.url, "parley:history:*")).toEqual(["parley:history:telegram:9#meta", "parley:history:telegram:9#turns"]);
    expect(await redisCommand(own.url, "LLEN", "parley:history:telegram:9#turns")).toBe(":2\r\n");
    expect(await redisCommand(own.url, "HGET", `parley:counters:user:telegram:9#${new Date().toISOString().slice(0, 10)}`, "completionTokens")).toContain("7");
  });
});
