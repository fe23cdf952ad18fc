/**
 * Discord's per-route rate limits as the fake enforces them: a bucket per
 * route and major parameter (channel, webhook token), announced in
 * `X-RateLimit-*` headers on every answer, and a 429 with `retry_after` when a
 * client goes over. Tests can also inject 429s.
 */
import { createHash } from "node:crypto";

export interface BucketLimit {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
}

/** A 429 the next matching request(s) get, whatever the bucket says. */
export interface Injected429 {
  method?: string;
  /** Matched against the path after `/api/v10`, e.g. `/channels/123/messages`. */
  path?: RegExp;
  retryAfterSec: number;
  global?: boolean;
  /** How many requests get it; 1 unless told. */
  count?: number;
}

export type RateLimitDecision =
  | { limited: false; headers: Record<string, string> }
  | { limited: true; status: 429; headers: Record<string, string>; body: Record<string, unknown> };

interface BucketState {
  used: number;
  resetAtMs: number;
}

export class RateLimits {
  private readonly buckets = new Map<string, BucketState>();
  private readonly injected: (Injected429 & { left: number })[] = [];

  inject(rule: Injected429): void {
    this.injected.push({ ...rule, left: rule.count ?? 1 });
  }

  /**
   * Counts one request against its bucket. `bucketKey` is the route template
   * (`POST /channels/:id/messages`) and `majorId` its major parameter; no key
   * means the route is not limited.
   */
  check(method: string, path: string, route: { key: string; majorId: string; limit: BucketLimit } | undefined): RateLimitDecision {
    const rule = this.injected.find((r) => r.left > 0 && (!r.method || r.method === method) && (!r.path || r.path.test(path)));
    if (rule) {
      rule.left--;
      return tooMany(rule.retryAfterSec, rule.global ?? false, route ? { ...route.limit, hash: hashOf(route.key) } : undefined);
    }
    if (!route) return { limited: false, headers: {} };

    const now = Date.now();
    const id = `${route.key}:${route.majorId}`;
    let state = this.buckets.get(id);
    if (!state || now >= state.resetAtMs) {
      state = { used: 0, resetAtMs: now + route.limit.windowMs };
      this.buckets.set(id, state);
    }
    const hash = hashOf(route.key);
    if (state.used >= route.limit.limit) {
      return tooMany((state.resetAtMs - now) / 1000, false, { ...route.limit, hash });
    }
    state.used++;
    const resetAfterSec = (state.resetAtMs - now) / 1000;
    return {
      limited: false,
      headers: {
        "X-RateLimit-Limit": String(route.limit.limit),
        "X-RateLimit-Remaining": String(route.limit.limit - state.used),
        "X-RateLimit-Reset": (state.resetAtMs / 1000).toFixed(3),
        "X-RateLimit-Reset-After": resetAfterSec.toFixed(3),
        "X-RateLimit-Bucket": hash,
      },
    };
  }
}

function tooMany(retryAfterSec: number, global: boolean, bucket?: BucketLimit & { hash: string }): RateLimitDecision {
  const headers: Record<string, string> = {
    // Discord's header is whole seconds; the body has the precise value.
    "Retry-After": String(Math.max(1, Math.ceil(retryAfterSec))),
    "X-RateLimit-Scope": global ? "global" : "user",
  };
  if (global) headers["X-RateLimit-Global"] = "true";
  if (bucket) {
    headers["X-RateLimit-Limit"] = String(bucket.limit);
    headers["X-RateLimit-Remaining"] = "0";
    headers["X-RateLimit-Reset"] = ((Date.now() + retryAfterSec * 1000) / 1000).toFixed(3);
    headers["X-RateLimit-Reset-After"] = retryAfterSec.toFixed(3);
    headers["X-RateLimit-Bucket"] = bucket.hash;
  }
  return {
    limited: true,
    status: 429,
    headers,
    body: { message: "You are being rate limited.", retry_after: Number(retryAfterSec.toFixed(3)), global },
  };
}

function hashOf(key: string): string {
  return createHash("sha1").update(key).digest("hex").slice(0, 32);
}
