/**
 * An abort signal for a download that may take an hour but must not sit
 * silent: it aborts when the caller's signal does, or when nothing arrived
 * for `idleTimeoutMs`. A whole-call timeout would cut a slow but moving
 * download of a gigabyte.
 */
import type { ParleyError } from "../../core/errors.js";

export class IdleWatch {
  readonly #controller = new AbortController();
  readonly #onParentAbort: () => void;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param idleTimeoutMs longest silence, in milliseconds
   * @param timeoutError the reason the signal aborts with when the silence runs out
   */
  constructor(
    private readonly idleTimeoutMs: number,
    private readonly timeoutError: () => ParleyError,
    private readonly parent?: AbortSignal,
  ) {
    this.#onParentAbort = () => this.#controller.abort(parent?.reason);
    if (parent?.aborted) this.#onParentAbort();
    else parent?.addEventListener("abort", this.#onParentAbort, { once: true });
    this.poke();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Something arrived: the silence starts again. */
  poke(): void {
    clearTimeout(this.#timer);
    if (this.#controller.signal.aborted) return;
    this.#timer = setTimeout(() => this.#controller.abort(this.timeoutError()), this.idleTimeoutMs);
    // A forgotten watch must not keep the process alive.
    this.#timer.unref();
  }

  /** Stops watching; the signal no longer aborts. */
  stop(): void {
    clearTimeout(this.#timer);
    this.parent?.removeEventListener("abort", this.#onParentAbort);
  }
}
