import KeyvRedis, { createClient } from "@keyv/redis";
import type { Logger } from "pino";
import type { Backend } from "./backend.js";

/** How to reach Redis and how long to wait for it. */
export interface RedisBackendOptions {
  /** `redis://[user:password@]host:port[/db]`. Never logged: it may hold a password. */
  url: string;
  log: Logger;
  /** Longest wait for one connection attempt, in milliseconds. */
  connectTimeoutMs: number;
}

/** Longest pause between two reconnection attempts, in milliseconds. */
const maxReconnectDelayMs = 2_000;
/** At most one connection-error log line per this many milliseconds. */
const errorLogIntervalMs = 10_000;

/**
 * Connects to Redis through @keyv/redis so that an outage fails fast instead
 * of hanging: with the offline queue disabled a command sent while the
 * connection is down is refused at once, rather than parked until Redis
 * returns; the client keeps reconnecting in the background (capped backoff,
 * never giving up), so the bot recovers by itself when Redis comes back.
 *
 * Resolves once connected, or after `connectTimeoutMs` with a warning if
 * Redis does not answer yet: the bot starts anyway and each store call fails
 * with `store_unavailable` until the connection is made.
 */
export async function createRedisBackend(opts: RedisBackendOptions): Promise<Backend> {
  const { log } = opts;
  const client = createClient({
    url: opts.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: opts.connectTimeoutMs,
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, maxReconnectDelayMs) + Math.floor(Math.random() * 100),
    },
  });
  // Without an 'error' listener a dropped connection would crash the process.
  client.on("error", throttled(errorLogIntervalMs, (error: unknown, suppressed: number) => {
    log.warn({ error: errorMessage(error), suppressed }, "redis connection error; retrying in the background");
  }));
  let wasDown = false;
  client.on("end", () => (wasDown = true));
  client.on("reconnecting", () => (wasDown = true));
  client.on("ready", () => {
    if (wasDown) log.info("redis connection restored");
    wasDown = false;
  });

  const store = new KeyvRedis<string>(client, { throwOnErrors: true, throwOnConnectError: true, connectionTimeout: opts.connectTimeoutMs });
  // KeyvRedis re-emits the client's errors; they are logged above and thrown to callers.
  store.on("error", () => {});

  const connecting = client.connect().then(
    () => true,
    (error: unknown) => {
      log.warn({ error: errorMessage(error) }, "redis connection failed");
      return false;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const connected = await Promise.race([
    connecting,
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), opts.connectTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (connected) log.info("redis connected");
  else log.warn({ timeoutMs: opts.connectTimeoutMs }, "redis is not reachable yet; starting anyway and retrying in the background");

  return {
    kind: "redis",
    get: (key) => store.get(key),
    getMany: (keys) => store.getMany([...keys]),
    set: (key, value, ttlMs) => store.set(key, value, ttlMs),
    setMany: (entries) => store.setMany([...entries]),
    delete: (key) => store.delete(key),
    deleteMany: (keys) => store.deleteMany([...keys]),
    hashIncrement: async (changes) => {
      if (changes.length === 0) return [];
      const multi = client.multi();
      for (const { key, add, ttlMs } of changes) {
        // HINCRBYFLOAT for whole numbers too: HINCRBY refuses a field that once took a fraction (a cost of 0 after 0.5).
        for (const [field, by] of Object.entries(add)) multi.hIncrByFloat(key, field, by);
        if (ttlMs !== undefined) multi.pExpire(key, Math.max(1, Math.round(ttlMs)));
      }
      const replies = (await multi.exec()) as unknown[];
      // The replies come in the order of the commands: each change's fields, then its PEXPIRE.
      let at = 0;
      return changes.map(({ add, ttlMs }) => {
        const after: Record<string, number> = {};
        for (const field of Object.keys(add)) after[field] = Number(replies[at++]);
        if (ttlMs !== undefined) at++;
        return after;
      });
    },
    hashGetAll: async (keys) => {
      if (keys.length === 0) return [];
      const multi = client.multi();
      for (const key of keys) multi.hGetAll(key);
      return (await multi.exec()) as unknown as Array<Record<string, string>>;
    },
    hashGet: async (fields) => {
      if (fields.length === 0) return [];
      const multi = client.multi();
      for (const { key, field } of fields) multi.hGet(key, field);
      const found = (await multi.exec()) as unknown as Array<string | null>;
      return found.map((value) => value ?? undefined);
    },
    hashSet: async (key, field, value) => {
      await client.hSet(key, field, value);
    },
    hashDelete: async (key, field) => (await client.hDel(key, field)) > 0,
    claim: async (key, ttlMs) => (await client.set(key, "1", { condition: "NX", expiration: { type: "PX", value: Math.max(1, Math.round(ttlMs)) } })) === "OK",
    redisClient: client,
    ping: async () => {
      await client.ping();
    },
    close: async () => {
      // Not QUIT (`client.close()`): it waits for every queued reply, forever if Redis is frozen.
      // The caller has let its own operations finish or time out first.
      if (client.isOpen) client.destroy();
    },
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Calls `report` at most once per `intervalMs`, passing how many calls were dropped since. */
function throttled(intervalMs: number, report: (error: unknown, suppressed: number) => void): (error: unknown) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (error) => {
    const now = Date.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = now;
    report(error, suppressed);
    suppressed = 0;
  };
}
