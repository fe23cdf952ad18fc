/**
 * Per-user request limits on rate-limiter-flexible: one counter per user and
 * window, in Redis when the store is Redis (every process on that Redis
 * counts the same counter, and counts survive a restart), else in this
 * process. A window is fixed per user: it starts with the user's first
 * request and the counter expires with it.
 *
 * bottleneck is not used for this: its Redis clustering needs ioredis (a
 * second client beside the store's), it cannot say when a user's reservoir
 * refills (the "try again in N s" of the notice), and giving back a failed
 * message's request would race its own refresh. rate-limiter-flexible counts
 * with one atomic INCRBY in a Lua script, on the store's own client.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { KeyValueStore } from "../store/kv.js";

/** The windows a user's model requests are counted in. */
export type LimitWindow = "minute" | "hour" | "day";

/** What a message is counted as: a model request, or a command that calls no model. */
export type LimitKind = "model" | "command";

export interface UserLimitsOptions {
  /** Model requests per user per minute; 0 = no limit. @defaultValue 10 */
  perMinute?: number;
  /** Model requests per user per hour; 0 = no limit. @defaultValue 100 */
  perHour?: number;
  /** Model requests per user per day; 0 = no limit. @defaultValue 500 */
  perDay?: number;
  /** Commands that call no model, per user per minute; 0 = no limit. @defaultValue 30 */
  commandsPerMinute?: number;
  /** Moderators are not counted. @defaultValue false */
  exemptModerators?: boolean;
  /** Keep the counters here: on Redis they are shared by every process and kept across restarts. @defaultValue this process */
  store?: KeyValueStore;
  /** Window lengths in milliseconds, to replace a minute, an hour or a day; whole seconds (tests use short ones). */
  windowMs?: Partial<Record<LimitWindow, number>>;
}

/** A request that was let through; `refund` gives it back when the bot failed to answer it. */
export interface Admitted {
  ok: true;
  /** Gives the request back (once); a window that has ended since is left alone. */
  refund(): Promise<void>;
}

/** The answer of {@link UserLimits.take}. */
export type TakeResult = Admitted | { ok: false; retryAfterMs: number; window: LimitWindow };

/** Requests a user has left in each window, and commands this minute; `Infinity` where there is no limit. */
export type Remaining = Record<LimitWindow, number> & { commands: number };

interface Window {
  name: LimitWindow;
  limit: number;
  limiter: RateLimiterAbstract;
}

const defaultLengthsMs: Record<LimitWindow, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * rate-limiter-flexible's counting script, except that a negative count (a
 * refund) only changes a counter that still exists: a refund arriving after
 * its window ended must not open the next window one request short.
 */
const countScript = `
local points = tonumber(ARGV[1])
if points < 0 then
  if redis.call('exists', KEYS[1]) == 0 then return {0, -2} end
  local consumed = redis.call('incrby', KEYS[1], points)
  return {consumed, redis.call('pttl', KEYS[1])}
end
redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local consumed = redis.call('incrby', KEYS[1], points)
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {consumed, ttl}`;

const passed: Admitted = { ok: true, refund: async () => {} };

/**
 * Per-user limits, checked by the dispatcher before a command runs. Nothing
 * is ever queued for a window to reopen: an over-limit request is refused at
 * once, with how long to wait.
 */
export class UserLimits {
  readonly #model: Window[];
  readonly #commands: Window | undefined;
  readonly #exemptModerators: boolean;
  readonly #store: KeyValueStore | undefined;
  readonly #redis: boolean;

  constructor(options: UserLimitsOptions = {}) {
    this.#exemptModerators = options.exemptModerators ?? false;
    this.#store = options.store;
    this.#redis = options.store?.redis("limits") !== undefined;
    const limits: Record<LimitWindow, number> = {
      minute: options.perMinute ?? 10,
      hour: options.perHour ?? 100,
      day: options.perDay ?? 500,
    };
    const lengthOf = (name: LimitWindow) => options.windowMs?.[name] ?? defaultLengthsMs[name];
    this.#model = (Object.keys(limits) as LimitWindow[])
      .filter((name) => limits[name] > 0)
      .map((name) => ({ name, limit: limits[name], limiter: this.#limiter(name, limits[name], lengthOf(name)) }));
    const commands = options.commandsPerMinute ?? 30;
    this.#commands =
      commands > 0 ? { name: "minute", limit: commands, limiter: this.#limiter("commands", commands, lengthOf("minute")) } : undefined;
  }

  /**
   * Counts one request of the user if every window of its kind has one left;
   * otherwise counts nothing and says how long to wait.
   */
  async take(userKey: string, kind: LimitKind, who: { moderator: boolean }): Promise<TakeResult> {
    if (who.moderator && this.#exemptModerators) return passed;
    const windows = kind === "model" ? this.#model : this.#commands ? [this.#commands] : [];
    if (windows.length === 0) return passed;
    const counted = await this.#guarded("limit", () => Promise.all(windows.map((window) => count(window, userKey))));
    const over = counted.filter((c) => c.res.consumedPoints > c.window.limit);
    if (over.length > 0) {
      // Nothing is counted for a refused request: every window gets its count back, so a burst of refusals
      // (from several processes at once) leaves exactly the requests that passed.
      await this.#guarded("limit", () => Promise.all(counted.map((c) => giveBack(c.window, userKey))));
      // Every full window must reopen before the next request can pass: the last one decides.
      const last = over.reduce((a, b) => (b.res.msBeforeNext > a.res.msBeforeNext ? b : a));
      return { ok: false, retryAfterMs: Math.max(0, last.res.msBeforeNext), window: last.window.name };
    }
    let refunded = false;
    return {
      ok: true,
      refund: async () => {
        if (refunded) return;
        refunded = true;
        await this.#guarded("limit refund", () => Promise.all(windows.map((window) => giveBack(window, userKey))));
      },
    };
  }

  /** What the user has left in each window. */
  async remaining(userKey: string): Promise<Remaining> {
    const left: Remaining = { minute: Infinity, hour: Infinity, day: Infinity, commands: Infinity };
    const windows = [...this.#model.map((w) => ({ w, field: w.name })), ...(this.#commands ? [{ w: this.#commands, field: "commands" as const }] : [])];
    await this.#guarded("limit read", () =>
      Promise.all(
        windows.map(async ({ w, field }) => {
          const res = await w.limiter.get(userKey);
          left[field] = Math.max(0, w.limit - (res?.consumedPoints ?? 0));
        }),
      ),
    );
    return left;
  }

  #limiter(name: string, points: number, lengthMs: number): RateLimiterAbstract {
    const duration = Math.max(1, Math.round(lengthMs / 1000));
    const redis = this.#store?.redis("limits");
    if (!redis) return new RateLimiterMemory({ points, duration, keyPrefix: name });
    return new RateLimiterRedis({
      storeClient: redis.client,
      useRedisPackage: true,
      keyPrefix: `${redis.keyPrefix}${name}`,
      points,
      duration,
      customIncrTtlLuaScript: countScript,
    });
  }

  /** Redis calls get the store's time bound and its `store_unavailable` error; memory calls cannot fail. */
  #guarded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return this.#redis && this.#store ? this.#store.guarded(operation, call) : call();
  }
}

/** Counts one request; a refusal (over the limit) is an answer here, not an error. */
async function count(window: Window, userKey: string): Promise<{ window: Window; res: RateLimiterRes }> {
  try {
    return { window, res: await window.limiter.consume(userKey) };
  } catch (e) {
    if (e instanceof RateLimiterRes) return { window, res: e };
    throw e;
  }
}

/** Takes one request back from a counter that still exists (the Redis script and this check leave an ended window alone). */
async function giveBack(window: Window, userKey: string): Promise<void> {
  if (window.limiter instanceof RateLimiterMemory && (await window.limiter.get(userKey)) === null) return;
  await window.limiter.reward(userKey);
}
