import { Keyv, type KeyvStoreAdapter } from "keyv";
import type { Logger } from "pino";
import { ParleyError } from "../core/errors.js";
import type { Backend, HashIncrement } from "./backend.js";
import { createMemoryBackend } from "./memory-backend.js";
import { createRedisBackend } from "./redis-backend.js";

/** The key-value space every store works in. */
export interface KeyValueStore {
  readonly kind: "memory" | "redis";
  /**
   * A keyv over one namespace (`history`, `memories`, …): its keys cannot
   * meet another namespace's. Every operation fails with a
   * `store_unavailable` ParleyError when the server does not answer in time.
   */
  keyv(namespace: string): Keyv;
  /** Hashes of one namespace, changed atomically (counters, small shared maps); same guarantees as `keyv`. */
  hashes(namespace: string): HashSpace;
  /**
   * Redis only: the client and the prefix of a namespace, for a library that
   * speaks Redis itself (the rate limiter). Its calls go through `guarded`.
   */
  redis(namespace: string): { client: unknown; keyPrefix: string } | undefined;
  /** Runs `call` within the store's time bound; any failure becomes a `store_unavailable` ParleyError. */
  guarded<T>(operation: string, call: () => Promise<T>): Promise<T>;
  /** Whether the server answers right now. Never throws. */
  ping(): Promise<boolean>;
  /** Disconnects; later operations fail with `store_unavailable`. */
  close(): Promise<void>;
}

export interface KeyValueStoreOptions {
  /** Use Redis at this URL; without it, values live in this process only. */
  redisUrl?: string;
  log: Logger;
  /** Longest wait for one Redis connection attempt, in milliseconds. @defaultValue 2_000 */
  connectTimeoutMs?: number;
  /** Longest wait for any one store operation, in milliseconds. @defaultValue 2_000 */
  operationTimeoutMs?: number;
  /**
   * In-memory mode only: the Map that holds the values. Hand the same Map
   * to a new store to find the old one's data (tests simulate a restart).
   */
  memory?: Map<string, string>;
}

/** One namespace's hashes: see {@link Backend} for what each operation promises. */
export interface HashSpace {
  increment(changes: readonly HashIncrement[]): Promise<Array<Record<string, number>>>;
  getAll(keys: readonly string[]): Promise<Array<Record<string, string>>>;
  get(fields: ReadonlyArray<{ key: string; field: string }>): Promise<Array<string | undefined>>;
  set(key: string, field: string, value: string): Promise<void>;
  delete(key: string, field: string): Promise<boolean>;
  claim(key: string, ttlMs: number): Promise<boolean>;
}

const unavailableMessage = "I can't reach my memory store right now; try again in a moment.";
/** Every key starts with this, so Parley can share a Redis database with others. */
const keyPrefix = "parley";

/** Opens Redis when `redisUrl` is set (see `createRedisBackend` for how an outage is met), else a Map in this process. */
export async function createKeyValueStore(opts: KeyValueStoreOptions): Promise<KeyValueStore> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2_000;
  const backend = opts.redisUrl
    ? await createRedisBackend({ url: opts.redisUrl, log: opts.log, connectTimeoutMs })
    : createMemoryBackend(opts.memory);
  const guard = new Guard(opts.operationTimeoutMs ?? 2_000);
  const spaces = new Map<string, Keyv>();
  const prefixOf = (namespace: string) => {
    if (!/^[a-z][a-z0-9-]*$/.test(namespace)) throw new Error(`bad store namespace: ${namespace}`);
    return `${keyPrefix}:${namespace}:`;
  };

  return {
    kind: backend.kind,
    keyv(namespace) {
      let keyv = spaces.get(namespace);
      if (!keyv) {
        const adapter = new NamespacedAdapter(prefixOf(namespace), backend, guard);
        // The adapter prefixes keys itself: keyv's own prefixing stays off, so keys are never prefixed twice.
        keyv = new Keyv(adapter, { namespace, useKeyPrefix: false, throwOnErrors: true });
        spaces.set(namespace, keyv);
      }
      return keyv;
    },
    hashes(namespace) {
      const prefix = prefixOf(namespace);
      return {
        increment: (changes) =>
          guard.run("hashIncrement", () => backend.hashIncrement(changes.map((c) => ({ ...c, key: prefix + c.key })))),
        getAll: (keys) => guard.run("hashGetAll", () => backend.hashGetAll(keys.map((key) => prefix + key))),
        get: (fields) => guard.run("hashGet", () => backend.hashGet(fields.map((f) => ({ ...f, key: prefix + f.key })))),
        set: (key, field, value) => guard.run("hashSet", () => backend.hashSet(prefix + key, field, value)),
        delete: (key, field) => guard.run("hashDelete", () => backend.hashDelete(prefix + key, field)),
        claim: (key, ttlMs) => guard.run("claim", () => backend.claim(prefix + key, ttlMs)),
      };
    },
    redis(namespace) {
      return backend.redisClient === undefined ? undefined : { client: backend.redisClient, keyPrefix: prefixOf(namespace) };
    },
    guarded: (operation, call) => guard.run(operation, call),
    async ping() {
      try {
        await guard.run("ping", () => backend.ping());
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (guard.closed) return;
      guard.closed = true;
      await guard.idle();
      await backend.close();
    },
  };
}

/**
 * The one place where store failures are converted: a time bound on every
 * operation, and any error (refused, offline, timed out, closed) becomes a
 * `store_unavailable` ParleyError. A timed-out operation may still complete
 * on the server later; callers must treat it as "not known to have happened".
 */
class Guard {
  closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  constructor(private readonly timeoutMs: number) {}

  async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    if (this.closed) throw unavailable(operation, new Error("the store is closed"));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    const bounded = Promise.race([call(), timeout]);
    this.#inFlight.add(bounded);
    try {
      return await bounded;
    } catch (error) {
      throw unavailable(operation, error);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(bounded);
    }
  }

  /** Resolves once every operation started so far has finished or timed out. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}

function unavailable(operation: string, cause: unknown): ParleyError {
  if (cause instanceof ParleyError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ParleyError("store_unavailable", unavailableMessage, {
    cause,
    retryable: true,
    detail: `store ${operation} failed: ${reason}`,
  });
}

/** Presents one namespace of the backend to keyv, through the guard. */
class NamespacedAdapter implements KeyvStoreAdapter {
  readonly opts = { dialect: "parley" };
  /** Set by keyv; informative only, the prefix is fixed at construction. */
  namespace?: string;

  constructor(
    private readonly prefix: string,
    private readonly backend: Backend,
    private readonly guard: Guard,
  ) {}

  get<Value>(key: string): Promise<Value | undefined> {
    return this.guard.run("get", () => this.backend.get(this.prefix + key)) as Promise<Value | undefined>;
  }

  getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return this.guard.run("getMany", () => this.backend.getMany(keys.map((key) => this.prefix + key))) as Promise<
      Array<Value | undefined>
    >;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.guard.run("set", () => this.backend.set(this.prefix + key, String(value), ttl));
    return true;
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    const prefixed = entries.map(({ key, value, ttl }) => ({ key: this.prefix + key, value: String(value), ttl }));
    await this.guard.run("setMany", () => this.backend.setMany(prefixed));
  }

  delete(key: string): Promise<boolean> {
    return this.guard.run("delete", () => this.backend.delete(this.prefix + key));
  }

  deleteMany(keys: string[]): Promise<boolean> {
    return this.guard.run("deleteMany", () => this.backend.deleteMany(keys.map((key) => this.prefix + key)));
  }

  async clear(): Promise<void> {
    // Wiping a namespace means scanning the whole server; the stores delete the keys they own instead.
    throw new Error("clear() is not supported by Parley's stores");
  }

  on(): this {
    // Failures are thrown to the caller (through the guard), never emitted.
    return this;
  }
}
