import type { RepliesOf, StoreOp } from "./ops.js";

/**
 * The few raw operations the stores need from a key-value server. Values are
 * the strings keyv has already serialised (with its own expiry stamp), so a
 * backend only moves strings; `ttlMs` lets a server expire keys by itself.
 *
 * Beside keyv's values, hashes of fields: counters and small maps that
 * several processes change at once. Each change of a hash is one atomic
 * server operation (HINCRBY, HSET, HDEL; a MULTI for several), never a read
 * and a write that two processes could interleave.
 *
 * Beside both, lists, sets and sorted sets, changed through transactions:
 * the history's turns, the memories and their search index.
 */
export interface Backend {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<string | undefined>;
  getMany(keys: readonly string[]): Promise<Array<string | undefined>>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  setMany(entries: ReadonlyArray<{ key: string; value: string; ttl?: number }>): Promise<void>;
  delete(key: string): Promise<boolean>;
  deleteMany(keys: readonly string[]): Promise<boolean>;
  /**
   * Adds to numeric fields of each hash (creating it), and sets each hash's
   * expiry; all in one atomic step. Resolves with each changed field's new
   * value, per change.
   */
  hashIncrement(changes: readonly HashIncrement[]): Promise<Array<Record<string, number>>>;
  /** Every field of each hash; `{}` for a hash that does not exist. */
  hashGetAll(keys: readonly string[]): Promise<Array<Record<string, string>>>;
  /** One field of each of several hashes. */
  hashGet(fields: ReadonlyArray<{ key: string; field: string }>): Promise<Array<string | undefined>>;
  hashSet(key: string, field: string, value: string): Promise<void>;
  /** Whether the field was there. */
  hashDelete(key: string, field: string): Promise<boolean>;
  /**
   * Runs the operations as one transaction (MULTI/EXEC on Redis): no other
   * client's command runs between two of them, and its reads see one
   * moment. Resolves with each operation's reply, in order.
   */
  transaction<const T extends readonly StoreOp[]>(ops: T): Promise<RepliesOf<T>>;
  /** Sets `key` only when it does not exist (SET NX), for `ttlMs`: true for the one caller that set it. */
  claim(key: string, ttlMs: number): Promise<boolean>;
  /** Rejects when the server does not answer. */
  ping(): Promise<void>;
  /** Whether the connection is up right now; absent when there is no connection (memory). */
  connected?(): boolean;
  /** Calls `listener` each time the connection is made again after a loss. */
  onReconnect?(listener: () => void): void;
  close(): Promise<void>;
  /** The Redis client, for a library that speaks Redis itself (the rate limiter); absent in memory. */
  readonly redisClient?: unknown;
}

/** Numbers to add to the fields of one hash. */
export interface HashIncrement {
  key: string;
  add: Readonly<Record<string, number>>;
  /** The hash expires this long after this change, in milliseconds. Unset: it does not expire. */
  ttlMs?: number;
}
