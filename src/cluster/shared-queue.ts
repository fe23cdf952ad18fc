/**
 * Work items queued in Redis per key (a Telegram chat), handled one at a
 * time per key in id order by whichever process holds the key's lock, keys
 * in parallel across processes. Each id is taken once (SET NX PX), so an
 * item delivered twice, or to two processes, is queued once.
 *
 * The lock is a token under `SET NX PX`, renewed while an item is handled
 * and deleted the moment the key's queue is empty; popping the next item,
 * and releasing the lock when there is none, happen in one script together
 * with the check that this process still holds it. A process that dies
 * holding a lock delays its key by the lock's expiry at most: every process
 * that queued an item there retries when the lock expires, and a sweep
 * finds keys nobody is waiting for.
 *
 * Why not redlock or BullMQ: redlock (v4, v5 beta) and redis-semaphore take
 * ioredis clients only, redlock-universal needs Node 22, and BullMQ's
 * per-group ordering is a BullMQ Pro feature; all would add a second Redis
 * client beside node-redis, and none can pop an item only while the lock is
 * still held, which is what keeps one key's items in order.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";

/** The few node-redis calls this needs. */
export interface ScriptingClient {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  sMembers(key: string): Promise<string[]>;
}

export interface SharedQueueOptions {
  client: ScriptingClient;
  /** Every key this queue writes starts with this (`parley:telegram-updates:<bot id>:`). */
  keyPrefix: string;
  /** Handles one item; a rejection is logged and the next item comes. */
  handle(key: string, payload: string): Promise<void>;
  /** Runs one Redis call within the store's time bound (`KeyValueStore.guarded`). */
  guarded<T>(operation: string, call: () => Promise<T>): Promise<T>;
  log: Logger;
  /** How long a key's lock lasts without renewal, in milliseconds; a dead holder delays its key this long at most. @defaultValue 30_000 */
  lockMs?: number;
  /** How long an item's id is remembered, so a second delivery is dropped, in milliseconds. @defaultValue 86_400_000 */
  rememberMs?: number;
}

/** Takes the id, queues the item and notes its key as waiting; 0 when the id was taken before. */
const addScript = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return 1`;

/** -2: nothing queued; -1: the lock is ours now; else the lock's remaining milliseconds. */
const acquireScript = `
if redis.call('ZCARD', KEYS[2]) == 0 then return -2 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
return redis.call('PTTL', KEYS[1])`;

/**
 * While the lock is still ours: the next item (and the lock renewed), or ''
 * when the queue is empty (and the lock released). nil: the lock is not ours.
 */
const nextScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local head = redis.call('ZPOPMIN', KEYS[2])
if #head == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[3], ARGV[3])
  return ''
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return head[1]`;

/** 1 when the lock was ours and is renewed (ARGV[2] given) or released (not given). */
const keepScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1`;

/** See the file's comment. */
export class SharedQueue {
  readonly #opts: SharedQueueOptions;
  readonly #lockMs: number;
  readonly #rememberMs: number;
  /** Keys whose lock this process holds or is asking for. */
  readonly #active = new Map<string, Promise<void>>();
  /** Keys asked for again while active: the run may have just seen an empty queue before the new item came. */
  readonly #again = new Set<string>();
  /** Retries of keys locked by another process, at that lock's expiry. */
  readonly #retries = new Map<string, NodeJS.Timeout>();
  readonly #sweeper: NodeJS.Timeout;
  #stopping = false;

  constructor(opts: SharedQueueOptions) {
    this.#opts = opts;
    this.#lockMs = opts.lockMs ?? 30_000;
    this.#rememberMs = opts.rememberMs ?? 86_400_000;
    this.#sweeper = setInterval(() => void this.#sweep(), this.#lockMs);
    this.#sweeper.unref();
  }

  /**
   * Queues `payload` under `key` at position `id`, unless `id` was queued
   * before (by any process): resolves true when it is new. Rejects when
   * Redis does not answer, and then nothing was queued.
   */
  async add(key: string, id: number, payload: string): Promise<boolean> {
    const added = await this.#run("sharedQueueAdd", addScript, [this.#seenKey(id), this.#queueKey(key), this.#waitingKey], [
      String(this.#rememberMs),
      String(id),
      // The id makes every member distinct, whatever the payload.
      `${id}\n${payload}`,
      key,
    ]);
    return added === 1;
  }

  /** Handles `key`'s queue in this process, unless another process (or this one) is already at it. */
  drain(key: string): void {
    if (this.#stopping) return;
    if (this.#active.has(key)) {
      this.#again.add(key);
      return;
    }
    clearTimeout(this.#retries.get(key));
    this.#retries.delete(key);
    const run = this.#drain(key).finally(() => {
      this.#active.delete(key);
      if (this.#again.delete(key)) this.drain(key);
    });
    this.#active.set(key, run);
  }

  /** No new work: the items being handled finish, their locks are released; what is queued is left to the other processes. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#sweeper);
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
    await Promise.allSettled([...this.#active.values()]);
  }

  async #drain(key: string): Promise<void> {
    const { log } = this.#opts;
    const token = randomUUID();
    const lockKey = this.#lockKey(key);
    try {
      const acquired = Number(await this.#run("sharedQueueLock", acquireScript, [lockKey, this.#queueKey(key)], [token, String(this.#lockMs)]));
      if (acquired === -2) return;
      if (acquired !== -1) {
        // Another process is at it; should it die, this one carries on when its lock runs out.
        this.#retryAfter(key, Math.max(acquired, 0) + 20);
        return;
      }
    } catch (error) {
      log.warn({ err: error, key }, "could not take a chat's turn; retrying later");
      this.#retryAfter(key, this.#lockMs);
      return;
    }
    const renew = setInterval(() => void this.#keep(lockKey, token, true), Math.max(1, Math.floor(this.#lockMs / 3)));
    try {
      while (!this.#stopping) {
        const next = await this.#run("sharedQueueNext", nextScript, [lockKey, this.#queueKey(key), this.#waitingKey], [token, String(this.#lockMs), key]);
        if (next === "") return;
        if (typeof next !== "string") {
          log.error({ key }, "lost a chat's lock while answering; another process has its next message");
          return;
        }
        const payload = next.slice(next.indexOf("\n") + 1);
        await this.#opts.handle(key, payload).catch((error: unknown) => log.error({ err: error, key }, "a queued update failed"));
      }
      await this.#keep(lockKey, token, false);
    } catch (error) {
      log.warn({ err: error, key }, "a chat's queue could not be read; retrying later");
      this.#retryAfter(key, this.#lockMs);
    } finally {
      clearInterval(renew);
    }
  }

  /** Renews (`renew`) or releases the lock if it is still ours. */
  async #keep(lockKey: string, token: string, renew: boolean): Promise<void> {
    try {
      const kept = await this.#run("sharedQueueKeep", keepScript, [lockKey], renew ? [token, String(this.#lockMs)] : [token]);
      if (kept !== 1 && renew) this.#opts.log.error({ lockKey }, "a chat's lock expired while answering");
    } catch (error) {
      this.#opts.log.warn({ err: error }, renew ? "could not renew a chat's lock" : "could not release a chat's lock; it expires by itself");
    }
  }

  #retryAfter(key: string, delayMs: number): void {
    if (this.#stopping || this.#retries.has(key)) return;
    const timer = setTimeout(() => {
      this.#retries.delete(key);
      this.drain(key);
    }, delayMs);
    timer.unref();
    this.#retries.set(key, timer);
  }

  /** Keys with queued items that no process may be waiting for (their receiver died too). */
  async #sweep(): Promise<void> {
    try {
      const waiting = await this.#opts.guarded("sharedQueueSweep", () => this.#opts.client.sMembers(this.#waitingKey));
      for (const key of waiting) this.drain(key);
    } catch (error) {
      this.#opts.log.debug({ err: error }, "could not look for waiting chats");
    }
  }

  get #waitingKey(): string {
    return `${this.#opts.keyPrefix}waiting`;
  }

  #seenKey(id: number): string {
    return `${this.#opts.keyPrefix}seen:${id}`;
  }

  #queueKey(key: string): string {
    return `${this.#opts.keyPrefix}queue:${key}`;
  }

  #lockKey(key: string): string {
    return `${this.#opts.keyPrefix}lock:${key}`;
  }

  #run(operation: string, script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.#opts.guarded(operation, () => runScript(this.#opts.client, script, keys, args));
  }
}

const shas = new Map<string, string>();

/** EVALSHA, sending the script itself the first time the server does not know it. */
async function runScript(client: ScriptingClient, script: string, keys: string[], args: string[]): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    shas.set(script, sha);
  }
  try {
    return await client.evalSha(sha, { keys, arguments: args });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.eval(script, { keys, arguments: args });
  }
}
