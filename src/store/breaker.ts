import type { Logger } from "pino";

export interface StoreBreakerOptions {
  /** Asks the server for a sign of life; resolves when it answers, rejects (or never settles) when it does not. */
  ping: () => Promise<unknown>;
  log: Logger;
  /** Pause between two probes while the store is away, in milliseconds. @defaultValue 1_000 */
  probeIntervalMs?: number;
}

/**
 * Whether the store is worth asking. Once a call times out or the
 * connection is known to be down, the store is marked away: every call fails
 * at once instead of each waiting out the timeout (20 users would otherwise
 * wait 2 s each, one behind the other). A PING in the background, about once
 * a second, or the client's reconnection, marks it back.
 *
 * Only one PING is on the wire at a time: a frozen server answers nothing,
 * and a PING per second piling up on its connection would answer all at once
 * when it thaws. Timers are unref'd, so probing never keeps the process alive.
 */
export class StoreBreaker {
  readonly #ping: () => Promise<unknown>;
  readonly #log: Logger;
  readonly #probeIntervalMs: number;
  readonly #listeners = new Set<() => void>();
  #away = false;
  #stopped = false;
  #probing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: StoreBreakerOptions) {
    this.#ping = options.ping;
    this.#log = options.log;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1_000;
  }

  /** False from a timeout or a lost connection until the server answers a PING again. */
  get reachable(): boolean {
    return !this.#away;
  }

  /** Marks the store away (once per outage, with a warning) and starts probing. */
  trip(reason: string): void {
    if (this.#away || this.#stopped) return;
    this.#away = true;
    this.#log.warn({ code: "store_unavailable", reason }, "store unreachable: failing store calls at once until it answers again");
    this.#schedule();
  }

  /** A sign the store may be back (the client reconnected): probe now rather than at the next tick. */
  probeNow(): void {
    if (!this.#away || this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#probe();
  }

  /**
   * Calls `listener` each time the store comes back after being away. A
   * listener that throws is logged; the others still run.
   */
  onBack(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /**
   * One probe, for a caller that cannot wait for the background (shutdown):
   * resolves with whether the store is reachable after at most `timeoutMs`.
   */
  async check(timeoutMs: number): Promise<boolean> {
    if (!this.#away) return true;
    this.probeNow();
    const deadline = Date.now() + timeoutMs;
    while (this.#away && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return !this.#away;
  }

  /** No more probes (the store is closing). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#probe();
    }, this.#probeIntervalMs);
    this.#timer.unref();
  }

  #probe(): void {
    if (!this.#away || this.#stopped) return;
    // A PING still on its way is the probe: its answer, whenever it comes, says the store is back.
    if (this.#probing) return this.#schedule();
    this.#probing = true;
    let ping: Promise<unknown>;
    try {
      ping = this.#ping();
    } catch (error) {
      ping = Promise.reject(error);
    }
    void ping.then(
      () => {
        this.#probing = false;
        this.#back();
      },
      () => {
        this.#probing = false;
        this.#schedule();
      },
    );
    this.#schedule();
  }

  #back(): void {
    if (!this.#away || this.#stopped) return;
    this.#away = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#log.info("store reachable again");
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        this.#log.error({ err: error }, "a store-back listener failed");
      }
    }
  }
}
