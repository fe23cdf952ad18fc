/** How long to wait before retrying the same model. */
import type { RetrySetup } from "./setup.js";

/**
 * Exponential backoff with jitter before retry number `retry` (1 = the
 * first retry): half of `baseDelayMs · 2^(retry-1)` for sure, the other half
 * at random, capped at `maxDelayMs`, so retries of many users spread out.
 * A `retry-after` the server sent is a floor.
 */
export function backoffMs(retry: number, setup: RetrySetup, retryAfterMs?: number, random: () => number = Math.random): number {
  const exponential = Math.min(setup.maxDelayMs, setup.baseDelayMs * 2 ** (retry - 1));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
