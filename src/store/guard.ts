import { ParleyError } from "../core/errors.js";
import type { StoreBreaker } from "./breaker.js";

const unavailableMessage = "I can't reach my memory store right now; try again in a moment.";

/** A store call that failed: the store is away, too slow, closed, or refused it. */
export class StoreUnavailableError extends ParleyError {
  /**
   * Resolves true when the server carried out the write after all, after the
   * guard had stopped waiting for it (a timeout on a server that answers
   * later); false when it did not or cannot have. Reads resolve false: a
   * read that lands late changes nothing.
   */
  readonly changedAnyway: Promise<boolean>;

  constructor(operation: string, cause: unknown, changedAnyway: Promise<boolean> = Promise.resolve(false)) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("store_unavailable", unavailableMessage, { cause, retryable: true, detail: `store ${operation} failed: ${reason}` });
    this.changedAnyway = changedAnyway;
  }
}

/** Whether `e` says the store could not be reached (as opposed to a bug or a bad value). */
export function isStoreUnavailable(e: unknown): e is ParleyError {
  return e instanceof ParleyError && e.code === "store_unavailable";
}

export interface StoreGuardOptions {
  /** Longest wait for one operation, in milliseconds. */
  timeoutMs: number;
  breaker: StoreBreaker;
  /** Whether the connection is up; absent for a store that has none (memory). */
  connected?: () => boolean;
}

/**
 * The one place where store failures are converted: a time bound on every
 * operation, and any error (refused, offline, timed out, closed) becomes a
 * `store_unavailable` ParleyError. A timeout or a lost connection trips the
 * breaker, after which calls fail at once until the store answers again.
 * A timed-out operation may still complete on the server later; callers
 * must treat it as "not known to have happened" (see `changedAnyway`).
 */
export class StoreGuard {
  closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #timeoutMs: number;
  readonly #breaker: StoreBreaker;
  readonly #connected: (() => boolean) | undefined;

  constructor(options: StoreGuardOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#breaker = options.breaker;
    this.#connected = options.connected;
  }

  /**
   * Runs `call` within the time bound. `writes`: the call changes data, so a
   * timeout's error says whether it landed later (`changedAnyway`).
   */
  async run<T>(operation: string, call: () => Promise<T>, writes = false): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(operation, new Error("the store is closed"));
    if (!this.#breaker.reachable) throw new StoreUnavailableError(operation, new Error("the store is away; not asked until it answers a ping"));
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    const attempt = (async () => call())();
    const bounded = Promise.race([attempt, timeout]);
    this.#inFlight.add(bounded);
    try {
      return await bounded;
    } catch (error) {
      if (error instanceof ParleyError) throw error;
      if (timedOut) this.#breaker.trip(`no answer within ${this.#timeoutMs} ms`);
      else if (this.#connected && !this.#connected()) this.#breaker.trip("the connection is down");
      const landed = timedOut && writes ? attempt.then(() => true, () => false) : undefined;
      throw new StoreUnavailableError(operation, error, landed);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(bounded);
    }
  }

  /** Resolves once every operation started so far has finished or timed out. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
