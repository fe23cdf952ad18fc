/**
 * Keeps a platform's "typing…" indicator alive while the model thinks: the
 * indicator fades by itself (Telegram after ~5 s, Discord after ~10 s), so it
 * is re-sent until the first message of the answer goes out.
 */
export interface TypingIndicator {
  /** Starts showing "typing…"; does nothing if already started or stopped. */
  start(): void;
  /** Stops for good (the first message went out, or the reply ended). */
  stop(): void;
}

export interface TypingOptions {
  /** Sends one typing action; failures are swallowed (logged by the caller). */
  send(): Promise<void>;
  /** Re-send interval in milliseconds, a little under the indicator's lifetime. */
  everyMs: number;
  /** Stop by itself after this many milliseconds, so a reply that never answers cannot type forever. @defaultValue 180_000 */
  maxMs?: number;
}

/** An indicator for one reply; `send` is re-sent every `everyMs` until `stop()` or `maxMs`. */
export function createTypingIndicator(opts: TypingOptions): TypingIndicator {
  let timer: NodeJS.Timeout | undefined;
  let startedAt = 0;
  let state: "idle" | "typing" | "stopped" = "idle";
  const maxMs = opts.maxMs ?? 180_000;

  const tick = () => {
    if (state !== "typing") return;
    if (Date.now() - startedAt >= maxMs) return stop();
    opts.send().catch(() => {});
    timer = setTimeout(tick, opts.everyMs);
    timer.unref?.();
  };
  const stop = () => {
    state = "stopped";
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return {
    start() {
      if (state !== "idle") return;
      state = "typing";
      startedAt = Date.now();
      tick();
    },
    stop,
  };
}
