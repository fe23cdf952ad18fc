import Bottleneck from "bottleneck";
import { KeyedQueue } from "../core/keyed-queue.js";

/** The windows a user's requests are counted in. */
export type LimitWindow = "minute" | "hour" | "day";

export interface UserLimitsOptions {
  /** Requests per user per minute; 0 = no limit. @defaultValue 10 */
  perMinute?: number;
  /** Requests per user per hour; 0 = no limit. @defaultValue 100 */
  perHour?: number;
  /** Requests per user per day; 0 = no limit. @defaultValue 500 */
  perDay?: number;
  /** Moderators are not counted. @defaultValue false */
  exemptModerators?: boolean;
  /** Window lengths in milliseconds, to replace a minute, an hour or a day (tests use short ones). */
  windowMs?: Partial<Record<LimitWindow, number>>;
}

/** The answer of {@link UserLimits.take}. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number; window: LimitWindow };

/** Requests a user has left in each window; `Infinity` where there is no limit. */
export type Remaining = Record<LimitWindow, number>;

interface Window {
  name: LimitWindow;
  limit: number;
  lengthMs: number;
  /** One limiter per user, whose reservoir is the user's requests left in the current window. */
  users: Bottleneck.Group;
}

const defaultLengthsMs: Record<LimitWindow, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** How long past its window an idle user's limiter is kept, in milliseconds. */
const keepIdleMs = 60_000;
const noop = () => Promise.resolve();

/**
 * Per-user request limits, checked before any model call. Each window is a
 * bottleneck Group with one limiter per user; the limiter's reservoir holds
 * what the user has left. A window starts at the user's first request after
 * the previous one ended (a fixed window per user), and this class refills the
 * reservoir itself rather than through bottleneck's `reservoirRefreshInterval`:
 * that refill runs on a drifting heartbeat and bottleneck cannot tell when it
 * is next due, which the user's "try again in N s" needs.
 *
 * Nothing is ever queued for the window to reopen: an over-limit request is
 * refused at once. Counts live in this process only (several processes
 * sharing one Redis each count separately), and bottleneck stays inside this
 * file so it can be replaced.
 */
export class UserLimits {
  readonly #windows: Window[];
  readonly #exemptModerators: boolean;
  /** One take at a time per user, so two concurrent takes cannot both pass on the last request left. */
  readonly #turns = new KeyedQueue();
  /** When each user limiter's current window started (epoch ms); forgotten with the limiter. */
  readonly #startedAt = new WeakMap<Bottleneck, number>();
  #stopped = false;

  constructor(options: UserLimitsOptions = {}) {
    this.#exemptModerators = options.exemptModerators ?? false;
    const limits: Record<LimitWindow, number> = {
      minute: options.perMinute ?? 10,
      hour: options.perHour ?? 100,
      day: options.perDay ?? 500,
    };
    this.#windows = (Object.keys(limits) as LimitWindow[])
      .filter((name) => limits[name] > 0)
      .map((name) => {
        const lengthMs = options.windowMs?.[name] ?? defaultLengthsMs[name];
        // A user's limiter outlives the window, so an idle user is forgotten only once the window is over anyway.
        const users = new Bottleneck.Group({ reservoir: limits[name], timeout: lengthMs + keepIdleMs });
        return { name, limit: limits[name], lengthMs, users };
      });
  }

  /** Counts one request of the user if every window has one left; otherwise says how long to wait. */
  async take(userKey: string, who: { moderator: boolean }): Promise<TakeResult> {
    if (this.#stopped) throw new Error("UserLimits is stopped");
    if (who.moderator && this.#exemptModerators) return { ok: true };
    if (this.#windows.length === 0) return { ok: true };
    return this.#turns.run(userKey, () => this.#take(userKey));
  }

  /** What the user has left in each window. */
  async remaining(userKey: string): Promise<Remaining> {
    const left: Remaining = { minute: Infinity, hour: Infinity, day: Infinity };
    const now = Date.now();
    await Promise.all(
      this.#windows.map(async (window) => {
        left[window.name] = (await this.#state(window, userKey, now)).left;
      }),
    );
    return left;
  }

  /** Drops every user's limiter and bottleneck's timers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const { users: group } of this.#windows) {
      // The Group's cleanup timer is unref'd, but a stopped limiter should leave nothing running.
      clearInterval((group as unknown as { interval?: NodeJS.Timeout }).interval);
      await Promise.all(group.keys().map((key) => group.deleteKey(key)));
    }
  }

  async #take(userKey: string): Promise<TakeResult> {
    const now = Date.now();
    const states = await Promise.all(this.#windows.map((window) => this.#state(window, userKey, now)));
    const blocked = states.filter((state) => state.left <= 0);
    if (blocked.length > 0) {
      // Every full window must reopen before the next request can pass: the last one decides.
      const last = blocked.reduce((a, b) => (b.endsAt > a.endsAt ? b : a));
      return { ok: false, retryAfterMs: last.endsAt - now, window: last.window.name };
    }
    await Promise.all(
      states.map(async ({ window, limiter, expired }) => {
        if (expired) {
          this.#startedAt.set(limiter, now);
          await limiter.updateSettings({ reservoir: window.limit });
        }
        // Running a job is how bottleneck takes from the reservoir (and marks the limiter as in use).
        await limiter.schedule(noop);
      }),
    );
    return { ok: true };
  }

  async #state(window: Window, userKey: string, now: number) {
    const limiter = window.users.key(userKey);
    const startedAt = this.#startedAt.get(limiter);
    const expired = startedAt === undefined || now >= startedAt + window.lengthMs;
    const left = expired ? window.limit : ((await limiter.currentReservoir()) ?? window.limit);
    return { window, limiter, expired, left, endsAt: (startedAt ?? now) + window.lengthMs };
  }
}
