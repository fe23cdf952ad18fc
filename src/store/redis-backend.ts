import KeyvRedis, { createClient } from "@keyv/redis";
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Backend } from "./backend.js";
import { decodeReply, encodeOp } from "./redis-ops.js";

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
      // One script: atomic like a MULTI, and one command on the wire instead of one per field.
      const encoded = JSON.stringify(changes.map(({ add, ttlMs }) => [Object.entries(add).map(([f, by]) => [f, String(by)]), ttlMs === undefined ? null : Math.max(1, Math.round(ttlMs))]));
      const replies = (await runScript(client, incrementScript, changes.map((c) => c.key), [encoded])) as string[][];
      return changes.map(({ add }, i) => Object.fromEntries(Object.keys(add).map((field, j) => [field, Number(replies[i]![j])])));
    },
    hashGetAll: async (keys) => {
      if (keys.length === 0) return [];
      // Reads need no transaction: a pipeline sends them in one round trip without MULTI and EXEC.
      const pipeline = client.multi();
      for (const key of keys) pipeline.hGetAll(key);
      return (await pipeline.execAsPipeline()) as unknown as Array<Record<string, string>>;
    },
    hashGet: async (fields) => {
      if (fields.length === 0) return [];
      const pipeline = client.multi();
      for (const { key, field } of fields) pipeline.hGet(key, field);
      const found = (await pipeline.execAsPipeline()) as unknown as Array<string | null>;
      return found.map((value) => value ?? undefined);
    },
    hashSet: async (key, field, value) => {
      await client.hSet(key, field, value);
    },
    hashDelete: async (key, field) => (await client.hDel(key, field)) > 0,
    transaction: async (ops) => {
      const encoded = ops.map(encodeOp);
      const sent = encoded.filter((e): e is { args: string[] } => "args" in e);
      let replies: unknown[] = [];
      if (sent.length === 1) replies = [await client.sendCommand(sent[0]!.args)];
      else if (sent.length > 1) {
        const multi = client.multi();
        for (const { args } of sent) multi.addCommand(args);
        replies = await multi.exec();
      }
      let next = 0;
      return encoded.map((e, i) => ("args" in e ? decodeReply(ops[i]!, replies[next++]) : e.local)) as never;
    },
    claim: async (key, ttlMs) => (await client.set(key, "1", { condition: "NX", expiration: { type: "PX", value: Math.max(1, Math.round(ttlMs)) } })) === "OK",
    redisClient: client,
    ping: async () => {
      await client.ping();
    },
    connected: () => client.isReady,
    onReconnect: (listener) => {
      client.on("ready", listener);
    },
    close: async () => {
      // Not QUIT (`client.close()`): it waits for every queued reply, forever if Redis is frozen.
      // The caller has let its own operations finish or time out first.
      if (client.isOpen) client.destroy();
    },
  };
}

/**
 * Adds to hash fields and sets expiries. KEYS: the hashes; ARGV[1]: JSON,
 * per hash `[[[field, amount], …], ttlMs or null]`. Amounts travel as
 * strings: Redis would cut a Lua number handed to a command to an integer.
 * Returns each hash's new values, as HINCRBYFLOAT gives them (strings).
 */
const incrementScript = `
local changes = cjson.decode(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local values = {}
  for _, pair in ipairs(changes[i][1]) do
    values[#values + 1] = redis.call('HINCRBYFLOAT', key, pair[1], pair[2])
  end
  if changes[i][2] ~= cjson.null then redis.call('PEXPIRE', key, changes[i][2]) end
  out[i] = values
end
return out`;

const scriptShas = new Map<string, string>();

/** EVALSHA, loading the script the first time the server does not know it (after a restart, say). */
interface ScriptClient {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

async function runScript(client: ScriptClient, script: string, keys: string[], args: string[]): Promise<unknown> {
  let sha = scriptShas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    scriptShas.set(script, sha);
  }
  try {
    return await client.evalSha(sha, { keys, arguments: args });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.eval(script, { keys, arguments: args });
  }
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
