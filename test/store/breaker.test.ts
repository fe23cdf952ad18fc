import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StoreBreaker } from "../../src/store/breaker.js";
import { StoreGuard } from "../../src/store/guard.js";

const silent = pino({ level: "silent" });

/** A server that answers PING only when told to; unanswered PINGs wait, as on a frozen Redis. */
function server() {
  const waiting: Array<() => void> = [];
  let pings = 0;
  return {
    ping: () => {
      pings++;
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    thaw: () => waiting.splice(0).forEach((answer) => answer()),
    pings: () => pings,
  };
}

describe("store breaker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("after one timeout, fails every call at once until a PING is answered", async () => {
    const redis = server();
    const breaker = new StoreBreaker({ ping: redis.ping, log: silent });
    const guard = new StoreGuard({ timeoutMs: 2_000, breaker });
    let back = 0;
    breaker.onBack(() => back++);

    const first = guard.run("get", () => new Promise(() => {})).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await first).toMatchObject({ code: "store_unavailable" });
    expect(breaker.reachable).toBe(false);

    let called = false;
    const second = guard.run("get", async () => (called = true)).catch((e: unknown) => e);
    expect(await second).toMatchObject({ code: "store_unavailable" });
    expect(called).toBe(false);

    // Probing once a second, with one PING on the wire at a time.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(redis.pings()).toBe(1);
    expect(back).toBe(0);
    redis.thaw();
    await vi.advanceTimersByTimeAsync(0);
    expect(breaker.reachable).toBe(true);
    expect(back).toBe(1);
    expect(await guard.run("get", async () => "value")).toBe("value");
  });

  it("trips on a failure while the connection is down, not on a server's refusal", async () => {
    let connected = true;
    const breaker = new StoreBreaker({ ping: () => Promise.reject(new Error("offline")), log: silent });
    const guard = new StoreGuard({ timeoutMs: 2_000, breaker, connected: () => connected });

    await expect(guard.run("set", () => Promise.reject(new Error("READONLY")))).rejects.toMatchObject({ code: "store_unavailable" });
    expect(breaker.reachable).toBe(true);

    connected = false;
    await expect(guard.run("set", () => Promise.reject(new Error("socket closed")))).rejects.toMatchObject({ code: "store_unavailable" });
    expect(breaker.reachable).toBe(false);
    // A refused PING is tried again a second later.
    await vi.advanceTimersByTimeAsync(3_500);
    expect(breaker.reachable).toBe(false);
  });

  it("tells a write that timed out whether it landed later", async () => {
    const breaker = new StoreBreaker({ ping: () => new Promise(() => {}), log: silent });
    const guard = new StoreGuard({ timeoutMs: 2_000, breaker });
    let land!: () => void;
    const failed = guard.run("setMany", () => new Promise<void>((resolve) => (land = resolve)), true).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2_000);
    const error = (await failed) as { changedAnyway: Promise<boolean> };
    land();
    expect(await error.changedAnyway).toBe(true);
  });
});
