/**
 * The few raw operations the stores need from a key-value server. Values are
 * the strings keyv has already serialised (with its own expiry stamp), so a
 * backend only moves strings; `ttlMs` lets a server expire keys by itself.
 */
export interface Backend {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<string | undefined>;
  getMany(keys: readonly string[]): Promise<Array<string | undefined>>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  setMany(entries: ReadonlyArray<{ key: string; value: string; ttl?: number }>): Promise<void>;
  delete(key: string): Promise<boolean>;
  deleteMany(keys: readonly string[]): Promise<boolean>;
  /** Rejects when the server does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
