/**
 * The abort signal of one model-server call: it fires when the caller
 * aborts, or when the server has been silent for `timeoutMs` (waiting for
 * the answer to start, or between two chunks of a stream).
 */
export interface CallGuard {
  /** Pass to the client; aborts on caller abort, silence or `dispose()`. */
  readonly signal: AbortSignal;
  /** The server was silent for `timeoutMs`. */
  readonly timedOut: boolean;
  /** The caller's own signal aborted. */
  readonly callerAborted: boolean;
  /** The caller's abort reason, to rethrow as is. */
  readonly callerReason: unknown;
  /**
   * Stops the silence timer while our consumer holds a chunk (a slow
   * Discord edit is not the server's silence); `resume()` restarts it in full.
   */
  pause(): void;
  resume(): void;
  /** Settles like `promise`, or rejects with the abort reason as soon as `signal` aborts. */
  race<T>(promise: Promise<T>): Promise<T>;
  /**
   * Iterates `source`, ending with the abort reason as soon as `signal`
   * aborts. Needed because undici (Node 20) leaves a read pending forever
   * when a fetch is aborted after its body arrived but before it was read.
   * Every item restarts the silence timer, text or not: a thinking model
   * streams reasoning chunks (Ollama `thinking`, `reasoning_content`) long
   * before its first word, and is not silent meanwhile. The timer is
   * stopped while the consumer holds an item.
   */
  iterate<T>(source: AsyncIterable<T>): AsyncGenerator<T>;
  /** Ends the call: clears the timer and aborts whatever is still in flight. */
  dispose(): void;
}

/** Starts guarding a call: the timer runs from now. */
export function startCallGuard(timeoutMs: number, callerSignal?: AbortSignal): CallGuard {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;

  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) onCallerAbort();
  else callerSignal?.addEventListener("abort", onCallerAbort, { once: true });

  const arm = () => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException("The model server was silent for too long", "TimeoutError"));
    }, timeoutMs);
  };
  const disarm = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const rearm = () => {
    disarm();
    arm();
  };
  arm();

  const race = <T>(promise: Promise<T>): Promise<T> => {
    const signal = controller.signal;
    if (signal.aborted) {
      promise.catch(() => {}); // settles later, unobserved
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  };

  async function* iterate<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    const iterator = source[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (true) {
        const step = await race(iterator.next());
        if (step.done) {
          finished = true;
          return;
        }
        disarm();
        yield step.value;
        rearm();
      }
    } finally {
      // Not awaited: after an abort, the source's cleanup may itself wait on the stuck read.
      if (!finished) Promise.resolve(iterator.return?.()).catch(() => {});
    }
  }

  return {
    race,
    iterate,
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    get callerAborted() {
      return callerSignal?.aborted === true;
    },
    get callerReason() {
      return callerSignal?.reason;
    },
    pause: disarm,
    resume: rearm,
    dispose() {
      disarm();
      callerSignal?.removeEventListener("abort", onCallerAbort);
      if (!controller.signal.aborted) controller.abort(new DOMException("The call is over", "AbortError"));
    },
  };
}
