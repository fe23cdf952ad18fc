import type { Logger } from "pino";
import { isStoreUnavailable, StoreUnavailableError } from "./guard.js";

/** What became of a write: stored now, or kept in memory to be stored when the store is back. */
export type WriteOutcome = "written" | "kept";

export interface PendingWritesOptions {
  log: Logger;
  /** Whether the store is reachable now (see `KeyValueStore.reachable`). */
  reachable: () => boolean;
  /** Most writes kept while the store is away; past it the oldest is dropped, with a warning. @defaultValue 1_000 */
  maxEntries?: number;
  /** Pause before a flush the store refused while reachable is tried again, in milliseconds. @defaultValue 1_000 */
  retryMs?: number;
  /** Flushes a write may fail (while the store is reachable) before it is dropped. @defaultValue 3 */
  maxTries?: number;
}

interface Entry {
  /** For logs: whose data this is (`history telegram:-100123`); never the content. */
  what: string;
  write: () => Promise<void>;
  /** True when the first try, given up on, was carried out by the server after all. */
  landed: Promise<boolean>;
  tries: number;
}

/** How long a flush waits to learn whether a timed-out write landed late, in milliseconds. */
const landedWaitMs = 1_000;

/**
 * The write-back buffer: what an answer leaves behind (its turn, its tokens)
 * when the store is away at that moment is kept here, in order, and written
 * when the store is back, so a short outage loses neither. The user, who has
 * already seen the whole answer, is not told; the log is.
 *
 * Order: while anything is kept, later writes join the end of the line
 * instead of going straight to the store, so a turn never overtakes an
 * older one of the same channel. A write that timed out may still land on
 * the server later (a frozen Redis answers when it thaws); such a write is
 * not written twice.
 *
 * Bounded: past `maxEntries` the oldest kept write is dropped with a
 * warning. What is still kept when the process stops is lost (with an error line).
 */
export class PendingWrites {
  readonly #entries: Entry[] = [];
  readonly #log: Logger;
  readonly #reachable: () => boolean;
  readonly #maxEntries: number;
  readonly #retryMs: number;
  readonly #maxTries: number;
  #flushing: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: PendingWritesOptions) {
    this.#log = options.log;
    this.#reachable = options.reachable;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 1_000);
    this.#retryMs = options.retryMs ?? 1_000;
    this.#maxTries = Math.max(1, options.maxTries ?? 3);
  }

  /** Writes kept and not yet written. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Runs `now`, or keeps the write for later: at once when other writes are
   * kept (it goes behind them), or when `now` fails because the store went
   * away. `later` is what a flush runs (by default `now` again). Rejects
   * with any other failure, including a `store_unavailable` that did not
   * take the store away (a refusal would fail again on every flush).
   */
  async write(what: string, now: () => Promise<void>, later: () => Promise<void> = now): Promise<WriteOutcome> {
    if (this.#entries.length > 0) {
      this.#keep({ what, write: later, landed: Promise.resolve(false), tries: 0 });
      return "kept";
    }
    try {
      await now();
      return "written";
    } catch (e) {
      if (!isStoreUnavailable(e) || this.#reachable()) throw e;
      const landed = e instanceof StoreUnavailableError ? e.changedAnyway : Promise.resolve(false);
      this.#keep({ what, write: later, landed, tries: 0 });
      this.#log.warn({ what, code: "store_unavailable", kept: this.#entries.length }, "store unreachable: kept a write to store when it is back");
      return "kept";
    }
  }

  /**
   * Writes what is kept, oldest first; stops at the first write the store
   * cannot take (the next `flush` carries on from there). One flush at a time.
   */
  flush(): Promise<void> {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#flushing ??= this.#drain().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /** Stops a scheduled retry (the store is closing). */
  stop(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  async #drain(): Promise<void> {
    let written = 0;
    while (this.#entries.length > 0) {
      const entry = this.#entries[0]!;
      if (await within(entry.landed, landedWaitMs)) {
        this.#entries.shift();
        this.#log.info({ what: entry.what }, "a kept write had reached the store after all; not written twice");
        continue;
      }
      try {
        await entry.write();
        this.#entries.shift();
        written++;
      } catch (e) {
        if (!isStoreUnavailable(e)) {
          this.#entries.shift();
          this.#log.error({ err: e, what: entry.what }, "a kept write failed; dropped");
          continue;
        }
        if (!this.#reachable()) break; // away again: the next time it is back, the flush carries on
        entry.landed = Promise.resolve(false);
        if (++entry.tries >= this.#maxTries) {
          this.#entries.shift();
          this.#log.error({ err: e, what: entry.what, tries: entry.tries }, "the store keeps refusing a kept write; dropped");
          continue;
        }
        this.#retry = setTimeout(() => void this.flush(), this.#retryMs);
        this.#retry.unref();
        break;
      }
    }
    if (written > 0) this.#log.info({ written, left: this.#entries.length }, "kept writes stored");
  }

  #keep(entry: Entry): void {
    this.#entries.push(entry);
    if (this.#entries.length <= this.#maxEntries) return;
    const dropped = this.#entries.shift()!;
    this.#log.warn({ what: dropped.what, maxEntries: this.#maxEntries }, "too many writes kept while the store is away: dropped the oldest");
  }
}

/** `promise`'s value if it settles within `ms`, else false. */
async function within(promise: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
