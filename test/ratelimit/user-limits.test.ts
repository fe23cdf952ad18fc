import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { isParleyError } from "../../src/core/errors.js";
import { UserLimits, type LimitKind, type TakeResult, type UserLimitsOptions } from "../../src/ratelimit/user-limits.js";
import { createKeyValueStore, type KeyValueStore } from "../../src/store/kv.js";
import { redisCommand, startRedis, type TestRedis } from "../support/redis.js";

const user = { moderator: false };
const moderator = { moderator: true };
const silent = pino({ level: "silent" });

async function takeMany(l: UserLimits, userKey: string, count: number, who = user, kind: LimitKind = "model"): Promise<TakeResult[]> {
  const results: TakeResult[] = [];
  for (let i = 0; i < count; i++) results.push(await l.take(userKey, kind, who));
  return results;
}

const oks = (results: TakeResult[]) => results.filter((r) => r.ok).length;

describe("UserLimits in one process", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lets exactly perMinute requests through, then says how long to wait", async () => {
    vi.useFakeTimers();
    const l = new UserLimits(); // defaults: 10 a minute
    expect(oks(await takeMany(l, "telegram:42", 10))).toBe(10);
    vi.advanceTimersByTime(15_000);

    const refused = await l.take("telegram:42", "model", user);
    expect(refused).toMatchObject({ ok: false, window: "minute" });
    if (refused.ok) return;
    // The window began with the first request: 45 s of it are left.
    expect(refused.retryAfterMs).toBeGreaterThan(44_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(45_000);
    expect(await l.remaining("telegram:42")).toEqual({ minute: 0, hour: 90, day: 490, commands: 30 });
  });

  it("counts commands apart from model requests, each with its own limit", async () => {
    const l = new UserLimits({ perMinute: 2, commandsPerMinute: 3 });
    expect(oks(await takeMany(l, "telegram:1", 3, user, "command"))).toBe(3);
    expect((await l.take("telegram:1", "command", user)).ok).toBe(false);
    // Commands used up nothing of the model requests, and the reverse.
    expect(oks(await takeMany(l, "telegram:1", 2))).toBe(2);
    expect(await l.take("telegram:1", "model", user)).toMatchObject({ ok: false, window: "minute" });
    expect(await l.remaining("telegram:1")).toMatchObject({ minute: 0, commands: 0 });
  });

  it("gives back a refunded request, once", async () => {
    const l = new UserLimits({ perMinute: 2 });
    const [first] = await takeMany(l, "discord:3", 2);
    expect((await l.take("discord:3", "model", user)).ok).toBe(false);
    if (!first?.ok) throw new Error("the first request should pass");
    await first.refund();
    await first.refund();
    expect(await l.remaining("discord:3")).toMatchObject({ minute: 1, hour: 99, day: 499 });
    expect((await l.take("discord:3", "model", user)).ok).toBe(true);
    expect((await l.take("discord:3", "model", user)).ok).toBe(false);
  });

  it("does not carry a refund into the next window", async () => {
    vi.useFakeTimers();
    const l = new UserLimits({ perMinute: 2, perHour: 0, perDay: 0 });
    const [first] = await takeMany(l, "discord:4", 2);
    vi.advanceTimersByTime(61_000);
    if (!first?.ok) throw new Error("the first request should pass");
    await first.refund();
    // A fresh window: exactly the limit, not one more.
    expect(oks(await takeMany(l, "discord:4", 3))).toBe(2);
  });

  it("counts each user separately", async () => {
    const l = new UserLimits({ perMinute: 3 });
    await takeMany(l, "telegram:1", 3);
    expect((await l.take("telegram:1", "model", user)).ok).toBe(false);
    expect((await l.take("telegram:12", "model", user)).ok).toBe(true);
    expect((await l.take("discord:1", "model", user)).ok).toBe(true);
    expect(await l.remaining("someone:new")).toEqual({ minute: 3, hour: 100, day: 500, commands: 30 });
  });

  it("limits moderators too, unless they are exempt", async () => {
    const strict = new UserLimits({ perMinute: 2 });
    expect((await takeMany(strict, "discord:9", 3, moderator)).map((r) => r.ok)).toEqual([true, true, false]);
    const lenient = new UserLimits({ perMinute: 2, exemptModerators: true });
    expect(oks(await takeMany(lenient, "discord:9", 20, moderator))).toBe(20);
    expect(await lenient.remaining("discord:9")).toMatchObject({ minute: 2 });
    expect((await takeMany(lenient, "discord:10", 3, user)).map((r) => r.ok)).toEqual([true, true, false]);
  });

  it("lets exactly the limit through when requests arrive at the same moment", async () => {
    const l = new UserLimits();
    const results = await Promise.all(Array.from({ length: 20 }, () => l.take("telegram:42", "model", user)));
    expect(oks(results)).toBe(10);
    expect(await l.remaining("telegram:42")).toMatchObject({ minute: 0, hour: 90 });
  });

  it("opens the window again once it has passed", async () => {
    vi.useFakeTimers();
    const l = new UserLimits({ perMinute: 2 });
    await takeMany(l, "telegram:5", 2);
    const refused = await l.take("telegram:5", "model", user);
    if (refused.ok) throw new Error("the third request should be refused");
    vi.advanceTimersByTime(refused.retryAfterMs + 1);
    expect((await takeMany(l, "telegram:5", 3)).map((r) => r.ok)).toEqual([true, true, false]);
  });

  it("applies the hour and day windows, and reports the one that reopens last", async () => {
    const hourly = new UserLimits({ perMinute: 0, perHour: 3, perDay: 0 });
    const results = await takeMany(hourly, "telegram:8", 4);
    expect(results[3]).toMatchObject({ ok: false, window: "hour" });
    expect((results[3] as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(3_500_000);
    expect(await hourly.remaining("telegram:8")).toEqual({ minute: Infinity, hour: 0, day: Infinity, commands: 30 });

    const both = new UserLimits({ perMinute: 2, perHour: 0, perDay: 2 });
    await takeMany(both, "telegram:8", 2);
    const refused = await both.take("telegram:8", "model", user);
    expect(refused).toMatchObject({ ok: false, window: "day" });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(86_000_000);
  });

  it("a day window outlasts shorter ones, and a refused request counts in none", async () => {
    vi.useFakeTimers();
    const l = new UserLimits({ perMinute: 2, perHour: 0, perDay: 4 });
    await takeMany(l, "discord:4", 2);
    // Refused by the minute: the day must not lose a request to it.
    expect((await l.take("discord:4", "model", user)).ok).toBe(false);
    vi.advanceTimersByTime(61_000);
    expect((await takeMany(l, "discord:4", 3)).map((r) => r.ok)).toEqual([true, true, false]);
    expect(await l.take("discord:4", "model", user)).toMatchObject({ ok: false });
    vi.advanceTimersByTime(61_000);
    expect(await l.take("discord:4", "model", user)).toMatchObject({ ok: false, window: "day" });
  });

  it("treats 0 as no limit", async () => {
    const l = new UserLimits({ perMinute: 0, perHour: 0, perDay: 0, commandsPerMinute: 0 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => l.take("telegram:1", i % 2 ? "model" : "command", user)));
    expect(oks(results)).toBe(50);
    expect(await l.remaining("telegram:1")).toEqual({ minute: Infinity, hour: Infinity, day: Infinity, commands: Infinity });
  });
});

describe("UserLimits on Redis, shared by processes", () => {
  let redis: TestRedis;
  const stores: KeyValueStore[] = [];
  const open = async () => {
    const store = await createKeyValueStore({ redisUrl: redis.url, log: silent });
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    redis = await startRedis({ ownServer: true });
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await redisCommand(redis.url, "FLUSHDB");
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const limitsOn = async (options: UserLimitsOptions) => new UserLimits({ ...options, store: await open() });

  it("three clients at once let exactly perMinute through, and a restart keeps the count", async () => {
    const three = await Promise.all([1, 2, 3].map(() => limitsOn({ perMinute: 10 })));
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => three[i % 3]!.take("telegram:42", "model", user)));
    expect(oks(results)).toBe(10);

    // A new process on the same Redis sees the same counters.
    const later = await limitsOn({ perMinute: 10 });
    expect(await later.remaining("telegram:42")).toMatchObject({ minute: 0, hour: 90, day: 490 });
    const refused = await later.take("telegram:42", "model", user);
    expect(refused).toMatchObject({ ok: false, window: "minute" });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(50_000);
  });

  it("gives back a refunded request, and not into a window that has ended", async () => {
    const l = await limitsOn({ perMinute: 2, perHour: 0, perDay: 0, windowMs: { minute: 1_000 } });
    const [first] = await takeMany(l, "discord:5", 2);
    if (!first?.ok) throw new Error("the first request should pass");
    await first.refund();
    expect(await l.remaining("discord:5")).toMatchObject({ minute: 1 });
    const [second] = await takeMany(l, "discord:5", 1);
    if (!second?.ok) throw new Error("the refunded request should pass");
    // Redis expires the counter itself: this waits out a real one-second window.
    await new Promise((r) => setTimeout(r, 1_300));
    await second.refund();
    expect(oks(await takeMany(l, "discord:5", 3))).toBe(2);
  });

  it("fails with store_unavailable, within the store's time bound, when Redis is frozen", async () => {
    const store = await createKeyValueStore({ redisUrl: redis.url, log: silent, operationTimeoutMs: 300 });
    stores.push(store);
    const l = new UserLimits({ perMinute: 5, store });
    redis.pause();
    try {
      const started = Date.now();
      const error = await l.take("telegram:1", "model", user).catch((e: unknown) => e);
      expect(isParleyError(error) && error.code).toBe("store_unavailable");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      redis.resume();
    }
  });
});
