import { afterEach, describe, expect, it } from "vitest";
import { UserLimits, type TakeResult, type UserLimitsOptions } from "../../src/ratelimit/user-limits.js";

const user = { moderator: false };
const moderator = { moderator: true };

describe("UserLimits", () => {
  const made: UserLimits[] = [];
  const limits = (options?: UserLimitsOptions) => {
    const l = new UserLimits(options);
    made.push(l);
    return l;
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((l) => l.stop()));
  });

  async function takeMany(l: UserLimits, userKey: string, count: number, who = user): Promise<TakeResult[]> {
    const results: TakeResult[] = [];
    for (let i = 0; i < count; i++) results.push(await l.take(userKey, who));
    return results;
  }

  it("lets exactly perMinute requests through, then says how long to wait", async () => {
    const l = limits(); // defaults: 10 a minute
    const before = Date.now();
    const results = await takeMany(l, "telegram:42", 10);
    expect(results.every((r) => r.ok)).toBe(true);

    const refused = await l.take("telegram:42", user);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.window).toBe("minute");
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    // The window began with the first request, so the wait is about a minute minus the time spent.
    expect(refused.retryAfterMs).toBeGreaterThan(60_000 - (Date.now() - before) - 50);
    expect(await l.remaining("telegram:42")).toEqual({ minute: 0, hour: 90, day: 490 });
  });

  it("answers an over-limit request at once instead of queueing it", async () => {
    const l = limits({ perMinute: 1 });
    await l.take("discord:1", user);
    const started = Date.now();
    expect((await l.take("discord:1", user)).ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("counts each user separately", async () => {
    const l = limits({ perMinute: 3 });
    await takeMany(l, "telegram:1", 3);
    expect((await l.take("telegram:1", user)).ok).toBe(false);
    expect((await l.take("telegram:12", user)).ok).toBe(true);
    expect((await l.take("discord:1", user)).ok).toBe(true);
    expect(await l.remaining("telegram:12")).toMatchObject({ minute: 2 });
    expect(await l.remaining("someone:new")).toEqual({ minute: 3, hour: 100, day: 500 });
  });

  it("limits moderators too, unless they are exempt", async () => {
    const strict = limits({ perMinute: 2 });
    const results = await takeMany(strict, "discord:9", 3, moderator);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);

    const lenient = limits({ perMinute: 2, exemptModerators: true });
    const asModerator = await takeMany(lenient, "discord:9", 20, moderator);
    expect(asModerator.every((r) => r.ok)).toBe(true);
    expect(await lenient.remaining("discord:9")).toMatchObject({ minute: 2 }); // not counted
    const asUser = await takeMany(lenient, "discord:10", 3, user);
    expect(asUser.map((r) => r.ok)).toEqual([true, true, false]);
  });

  it("lets exactly the limit through when requests arrive at the same moment", async () => {
    const l = limits(); // 10 a minute
    const results = await Promise.all(Array.from({ length: 20 }, () => l.take("telegram:42", user)));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(await l.remaining("telegram:42")).toMatchObject({ minute: 0 });

    // Two users at once do not take from each other.
    const mixed = await Promise.all(Array.from({ length: 12 }, (_, i) => l.take(i % 2 ? "a:1" : "b:1", user)));
    expect(mixed.filter((r) => r.ok)).toHaveLength(12);
  });

  it("opens the window again once it has passed", async () => {
    const l = limits({ perMinute: 2, windowMs: { minute: 300 } });
    expect((await takeMany(l, "telegram:5", 2)).every((r) => r.ok)).toBe(true);
    const refused = await l.take("telegram:5", user);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(300);

    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 20));
    expect((await takeMany(l, "telegram:5", 2)).every((r) => r.ok)).toBe(true);
    expect((await l.take("telegram:5", user)).ok).toBe(false);
  });

  it("applies the hour and day windows, and reports the one that reopens last", async () => {
    const hourly = limits({ perMinute: 0, perHour: 3, perDay: 0 });
    const results = await takeMany(hourly, "telegram:8", 4);
    expect(results.slice(0, 3).every((r) => r.ok)).toBe(true);
    expect(results[3]).toMatchObject({ ok: false, window: "hour" });
    const hourWait = (results[3] as { retryAfterMs: number }).retryAfterMs;
    expect(hourWait).toBeGreaterThan(3_500_000);
    expect(hourWait).toBeLessThanOrEqual(3_600_000);
    expect(await hourly.remaining("telegram:8")).toEqual({ minute: Infinity, hour: 0, day: Infinity });

    // Minute and day both full: only the day's reopening lets a request through.
    const both = limits({ perMinute: 2, perHour: 0, perDay: 2 });
    await takeMany(both, "telegram:8", 2);
    const refused = await both.take("telegram:8", user);
    expect(refused).toMatchObject({ ok: false, window: "day" });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(86_000_000);
  });

  it("a day window outlasts shorter ones: a refreshed minute does not reset the day", async () => {
    const l = limits({ perMinute: 2, perHour: 0, perDay: 3, windowMs: { minute: 150, day: 5_000 } });
    expect((await takeMany(l, "discord:4", 2)).every((r) => r.ok)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect((await l.take("discord:4", user)).ok).toBe(true);
    expect(await l.take("discord:4", user)).toMatchObject({ ok: false, window: "day" });
  });

  it("treats 0 as no limit", async () => {
    const l = limits({ perMinute: 0, perHour: 0, perDay: 0 });
    const results = await Promise.all(Array.from({ length: 50 }, () => l.take("telegram:1", user)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await l.remaining("telegram:1")).toEqual({ minute: Infinity, hour: Infinity, day: Infinity });
  });

  it("refuses to count after stop()", async () => {
    const l = limits();
    await l.take("telegram:1", user);
    await l.stop();
    await expect(l.take("telegram:1", user)).rejects.toThrow(/stopped/);
  });
});
