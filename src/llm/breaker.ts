/**
 * A circuit breaker per provider: after `failures` retryable failures in a
 * row the provider is skipped for `cooldownMs`, so users do not each wait
 * for a dead server's timeout. When the cool-down ends, the next call is let
 * through as a trial: success closes the breaker, failure opens it again.
 */
export class CircuitBreaker {
  #failuresInRow = 0;
  #openUntil = 0;
  #heldUntil = 0;

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
  ) {}

  /** Milliseconds until the provider may be called again; 0 when it may be called now. */
  waitMs(now: number = Date.now()): number {
    return Math.max(0, this.#openUntil - now);
  }

  /** Milliseconds the server itself asked us to stay away (a long `retry-after`); 0 when it asked nothing. */
  askedToWaitMs(now: number = Date.now()): number {
    return Math.max(0, this.#heldUntil - now);
  }

  /** A call succeeded: the provider is healthy again. */
  succeeded(): void {
    this.#failuresInRow = 0;
    this.#openUntil = 0;
    this.#heldUntil = 0;
  }

  /** A retryable failure (refused, timeout, 5xx, 429). */
  failed(now: number = Date.now()): void {
    this.#failuresInRow++;
    if (this.#failuresInRow >= this.failures) this.#openUntil = now + this.cooldownMs;
  }

  /** The server asked us to stay away this long (a long `retry-after`). */
  holdOff(ms: number, now: number = Date.now()): void {
    this.#openUntil = Math.max(this.#openUntil, now + ms);
    this.#heldUntil = Math.max(this.#heldUntil, now + ms);
  }
}
