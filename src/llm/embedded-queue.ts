/**
 * Who answers next on the embedded model: a fixed number of places (one per
 * context sequence), and a bounded first-come-first-served line for the
 * calls that find them all taken. A call that would stand in line too long
 * is told at once, so the router can ask the next model of its chain
 * rather than keep the user waiting.
 */

/** Why a call was not given a place. */
export type BusyReason =
  /** The line already holds `maxQueued` calls. */
  | { kind: "queue_full"; queued: number }
  /** The answers ahead of it would take longer than `maxWaitMs` (from recent answer times). */
  | { kind: "expected_wait"; expectedWaitMs: number; maxWaitMs: number }
  /** It stood in line for `maxWaitMs` without a place coming free. */
  | { kind: "waited"; maxWaitMs: number };

export interface AnswerQueueOptions {
  /** Answers that may run at once (context sequences). At least 1. */
  places: number;
  /** Calls that may wait for a place; one more is refused at once. */
  maxQueued: number;
  /** Longest wait for a place, in milliseconds; 0 never waits. */
  maxWaitMs: number;
  /** How long one answer typically holds its place (the median of recent ones), in milliseconds; undefined before any. */
  typicalAnswerMs(): number | undefined;
  /** The error a refused call fails with. */
  busyError(reason: BusyReason): Error;
}

/** A place held by one answer; `release()` once it no longer uses its sequence (idempotent). */
export interface Place {
  release(): void;
}

interface Waiter {
  grant(place: Place): void;
  fail(error: unknown): void;
}

export class AnswerQueue {
  readonly #opts: AnswerQueueOptions;
  /** When each running answer got its place (`performance.now()`), by place. */
  readonly #running = new Map<Place, number>();
  readonly #line: Waiter[] = [];

  constructor(options: AnswerQueueOptions) {
    if (!(options.places >= 1)) throw new Error("an answer queue needs at least one place");
    this.#opts = options;
  }

  /** Answers running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Calls waiting for a place. */
  get waiting(): number {
    return this.#line.length;
  }

  /**
   * A place for one answer: at once when one is free, else after the calls
   * ahead. Rejects with `busyError` when the line is full, the expected
   * wait is over `maxWaitMs` or the wait reaches it; with the signal's
   * reason when it aborts first.
   */
  acquire(signal?: AbortSignal): Promise<Place> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#running.size < this.#opts.places && this.#line.length === 0) return Promise.resolve(this.#take());
    const { maxQueued, maxWaitMs } = this.#opts;
    if (this.#line.length >= maxQueued) return Promise.reject(this.#opts.busyError({ kind: "queue_full", queued: this.#line.length }));
    const expectedWaitMs = this.#expectedWaitMs(this.#line.length + 1);
    if (maxWaitMs <= 0 || (expectedWaitMs !== undefined && expectedWaitMs > maxWaitMs)) {
      return Promise.reject(this.#opts.busyError({ kind: "expected_wait", expectedWaitMs: expectedWaitMs ?? 0, maxWaitMs }));
    }
    return new Promise<Place>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const at = this.#line.indexOf(waiter);
        if (at >= 0) this.#line.splice(at, 1);
      };
      const waiter: Waiter = {
        grant: (place) => {
          leave();
          resolve(place);
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(signal!.reason);
      const timer = setTimeout(() => waiter.fail(this.#opts.busyError({ kind: "waited", maxWaitMs })), maxWaitMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#line.push(waiter);
    });
  }

  /** Refuses every waiting call with `error` (the provider is closing). */
  refuseWaiting(error: unknown): void {
    for (const waiter of [...this.#line]) waiter.fail(error);
  }

  #take(): Place {
    let released = false;
    const place: Place = {
      release: () => {
        if (released) return;
        released = true;
        this.#running.delete(place);
        this.#line[0]?.grant(this.#take());
      },
    };
    this.#running.set(place, performance.now());
    return place;
  }

  /**
   * When the `position`-th caller in line (1 = next) would get a place, if
   * every answer took the typical time: each running answer frees its place
   * after what remains of that time, and each answer started later holds it
   * that long again. Undefined before any answer was timed.
   */
  #expectedWaitMs(position: number): number | undefined {
    const typicalMs = this.#opts.typicalAnswerMs();
    if (typicalMs === undefined) return undefined;
    const now = performance.now();
    const freeAt = [...this.#running.values()].map((since) => Math.max(0, typicalMs - (now - since)));
    while (freeAt.length < this.#opts.places) freeAt.push(0);
    let startsAt = 0;
    for (let i = 0; i < position; i++) {
      freeAt.sort((a, b) => a - b);
      startsAt = freeAt[0]!;
      freeAt[0] = startsAt + typicalMs;
    }
    return startsAt;
  }
}
