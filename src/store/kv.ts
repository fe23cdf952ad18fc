import { Keyv, type KeyvStoreAdapter } from "keyv";
import type { Logger } from "pino";
import type { Backend, HashIncrement } from "./backend.js";
import { StoreBreaker } from "./breaker.js";
import { StoreGuard } from "./guard.js";
import { createMemoryBackend } from "./memory-backend.js";
import { isWrite, prefixOp, type RepliesOf, type StoreOp } from "./ops.js";

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
  /** Lists, hashes, sets and sorted sets of one namespace, changed and read in transactions; same guarantees as `keyv`. */
  structures(namespace: string): StructureSpace;
  /**
   * Redis only: the client and the prefix of a namespace, for a library that
   * speaks Redis itself (the rate limiter). Its calls go through `guarded`.
   */
  redis(namespace: string): { client: unknown; keyPrefix: string } | undefined;
  /** Runs `call` within the store's time bound; any failure becomes a `store_unavailable` ParleyError. */
  guarded<T>(operation: string, call: () => Promise<T>): Promise<T>;
  /** Whether the server answers right now. Never throws. */
  ping(): Promise<boolean>;
  /**
   * False from a timeout or a lost connection until the server answers a
   * PING again; meanwhile every operation fails at once with `store_unavailable`.
   */
  readonly reachable: boolean;
  /** Calls `listener` each time the store is reachable again after being away. */
  onBack(listener: () => void): void;
  /** One probe now, for shutdown: whether the store is reachable within `timeoutMs`. */
  checkReachable(timeoutMs: number): Promise<boolean>;
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
  /** While the store is away, how often it is asked whether it is back, in milliseconds. @defaultValue 1_000 */
  probeIntervalMs?: number;
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

/** One namespace's structures: see {@link Backend.transaction}. Keys are the namespace's own, unprefixed. */
export interface StructureSpace {
  transaction<const T extends readonly StoreOp[]>(ops: T): Promise<RepliesOf<T>>;
}

/** Every key starts with this, so Parley can share a Redis database with others. */
const keyPrefix = "parley";

/** Opens Redis when `redisUrl` is set (see `createRedisBackend` for how an outage is met), else a Map in this process. */
export async function createKeyValueStore(opts: KeyValueStoreOptions): Promise<KeyValueStore> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 2_000;
  // The Redis client is imported only when REDIS_URL is set: it costs a third of a second at every start.
  const backend = opts.redisUrl
    ? await (await import("./redis-backend.js")).createRedisBackend({ url: opts.redisUrl, log: opts.log, connectTimeoutMs })
    : createMemoryBackend(opts.memory);
  const breaker = new StoreBreaker({ ping: () => backend.ping(), log: opts.log, probeIntervalMs: opts.probeIntervalMs });
  backend.onReconnect?.(() => breaker.probeNow());
  const guard = new StoreGuard({ timeoutMs: opts.operationTimeoutMs ?? 2_000, breaker, connected: backend.connected });
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
          guard.run("hashIncrement", () => backend.hashIncrement(changes.map((c) => ({ ...c, key: prefix + c.key }))), true),
        getAll: (keys) => guard.run("hashGetAll", () => backend.hashGetAll(keys.map((key) => prefix + key))),
        get: (fields) => guard.run("hashGet", () => backend.hashGet(fields.map((f) => ({ ...f, key: prefix + f.key })))),
        set: (key, field, value) => guard.run("hashSet", () => backend.hashSet(prefix + key, field, value), true),
        delete: (key, field) => guard.run("hashDelete", () => backend.hashDelete(prefix + key, field), true),
        claim: (key, ttlMs) => guard.run("claim", () => backend.claim(prefix + key, ttlMs), true),
      };
    },
    structures(namespace) {
      const prefix = prefixOf(namespace);
      return {
        transaction: (ops) =>
          guard.run("transaction", () => backend.transaction(ops.map((op) => prefixOp(op, prefix))) as never, ops.some(isWrite)),
      };
    },
    redis(namespace) {
      return backend.redisClient === undefined ? undefined : { client: backend.redisClient, keyPrefix: prefixOf(namespace) };
    },
    guarded: (operation, call) => guard.run(operation, call, true),
    async ping() {
      try {
        await guard.run("ping", () => backend.ping());
        return true;
      } catch {
        return false;
      }
    },
    get reachable() {
      return breaker.reachable;
    },
    onBack: (listener) => breaker.onBack(listener),
    checkReachable: (timeoutMs) => breaker.check(timeoutMs),
    async close() {
      if (guard.closed) return;
      guard.closed = true;
      breaker.stop();
      await guard.idle();
      await backend.close();
    },
  };
}

/** Presents one namespace of the backend to keyv, through the guard. */
class NamespacedAdapter implements KeyvStoreAdapter {
  readonly opts = { dialect: "parley" };
  /** Set by keyv; informative only, the prefix is fixed at construction. */
  namespace?: string;

  constructor(
    private readonly prefix: string,
    private readonly backend: Backend,
    private readonly guard: StoreGuard,
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
    await this.guard.run("set", () => this.backend.set(this.prefix + key, String(value), ttl), true);
    return true;
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    const prefixed = entries.map(({ key, value, ttl }) => ({ key: this.prefix + key, value: String(value), ttl }));
    await this.guard.run("setMany", () => this.backend.setMany(prefixed), true);
  }

  delete(key: string): Promise<boolean> {
    return this.guard.run("delete", () => this.backend.delete(this.prefix + key), true);
  }

  deleteMany(keys: string[]): Promise<boolean> {
    return this.guard.run("deleteMany", () => this.backend.deleteMany(keys.map((key) => this.prefix + key)), true);
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
