import type { Keyv } from "keyv";
import { KeyedQueue } from "./keyed-queue.js";
import { ownedKey } from "./keys.js";
import type { KeyValueStore } from "./kv.js";
import type { DailyUsage } from "./types.js";

export interface UsageLedgerOptions {
  /** How long a day's counters are kept, in days after they were last written. @defaultValue 3 */
  keepDays?: number;
}

/** One answered request, with the provider's own token counts. */
export interface UsageRecord {
  userKey: string;
  channelKey: string;
  promptTokens: number;
  completionTokens: number;
  /** In the currency of the configured prices. @defaultValue 0 */
  cost?: number;
  /** `provider/model` that answered; counted per model too when set. */
  model?: string;
  /** Epoch milliseconds; decides the UTC day. @defaultValue now */
  at?: number;
}

const dayMs = 24 * 60 * 60 * 1000;

/**
 * Daily counters per user, per channel and in total, by UTC day.
 *
 * Each counter is read-modify-write, queued per counter in this process, so
 * concurrent messages never lose a count here. Several processes sharing one
 * Redis could lose an increment when they update the same counter at the same
 * moment (INCRBY on the Redis client would be the fix); the counters feed
 * budgets and `/usage`, where that is tolerable.
 */
export class UsageLedger {
  readonly #keyv: Keyv;
  readonly #writes = new KeyedQueue();
  readonly #keepMs: number;

  constructor(store: KeyValueStore, options: UsageLedgerOptions = {}) {
    this.#keyv = store.keyv("usage");
    this.#keepMs = Math.max(1, options.keepDays ?? 3) * dayMs;
  }

  /** Adds one answer's tokens and cost to the user's, the channel's and the total counters of its day. */
  async record(usage: UsageRecord): Promise<void> {
    const add: DailyUsage = { requests: 0, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cost: usage.cost ?? 0 };
    const at = usage.at ?? Date.now();
    await this.#addToAll(usage.userKey, usage.channelKey, at, add);
    if (usage.model) await this.#addToModel(usage.model, at, { ...add, requests: 1 });
  }

  /** Counts one request (made before the answer is known, so refused or failed calls count too). */
  async countRequest(userKey: string, channelKey: string, at: number = Date.now()): Promise<void> {
    await this.#addToAll(userKey, channelKey, at, { requests: 1, promptTokens: 0, completionTokens: 0, cost: 0 });
  }

  /** The user's counters for the UTC day containing `at`. */
  userToday(userKey: string, at: number = Date.now()): Promise<DailyUsage> {
    return this.#read(userCounter(userKey, at));
  }

  /** The channel's counters for the UTC day containing `at`. */
  channelToday(channelKey: string, at: number = Date.now()): Promise<DailyUsage> {
    return this.#read(channelCounter(channelKey, at));
  }

  /** Everyone's counters for the UTC day containing `at`. */
  totalToday(at: number = Date.now()): Promise<DailyUsage> {
    return this.#read(totalCounter(at));
  }

  /** Counters per `provider/model` for the UTC day containing `at` (`requests` = answers), busiest first. */
  async modelsToday(at: number = Date.now()): Promise<Array<{ model: string; usage: DailyUsage }>> {
    const models = (await this.#keyv.get<string[]>(modelIndex(at))) ?? [];
    const all = await Promise.all(models.map(async (model) => ({ model, usage: await this.#read(modelCounter(model, at)) })));
    return all.sort((a, b) => b.usage.promptTokens + b.usage.completionTokens - (a.usage.promptTokens + a.usage.completionTokens));
  }

  async #addToModel(model: string, at: number, add: DailyUsage): Promise<void> {
    const index = modelIndex(at);
    await this.#writes.run(index, async () => {
      const models = (await this.#keyv.get<string[]>(index)) ?? [];
      if (!models.includes(model)) await this.#keyv.set(index, [...models, model], this.#keepMs);
    });
    await this.#add(modelCounter(model, at), add);
  }

  async #addToAll(userKey: string, channelKey: string, at: number, add: DailyUsage): Promise<void> {
    const counters = [userCounter(userKey, at), channelCounter(channelKey, at), totalCounter(at)];
    await Promise.all(counters.map((key) => this.#add(key, add)));
  }

  #add(key: string, add: DailyUsage): Promise<void> {
    return this.#writes.run(key, async () => {
      const now = await this.#read(key);
      const next: DailyUsage = {
        requests: now.requests + add.requests,
        promptTokens: now.promptTokens + add.promptTokens,
        completionTokens: now.completionTokens + add.completionTokens,
        cost: now.cost + add.cost,
      };
      await this.#keyv.set(key, next, this.#keepMs);
    });
  }

  async #read(key: string): Promise<DailyUsage> {
    return (await this.#keyv.get<DailyUsage>(key)) ?? { requests: 0, promptTokens: 0, completionTokens: 0, cost: 0 };
  }
}

/** `2024-05-31` for any moment of that UTC day. */
function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

// Users and channels can share a key (`console:local` is both), so each counter kind has its own first part.
function userCounter(userKey: string, at: number): string {
  return `user:${ownedKey(userKey, utcDay(at))}`;
}

function channelCounter(channelKey: string, at: number): string {
  return `channel:${ownedKey(channelKey, utcDay(at))}`;
}

function totalCounter(at: number): string {
  return `total#${utcDay(at)}`;
}

function modelCounter(model: string, at: number): string {
  return `model:${model}#${utcDay(at)}`;
}

/** The models that answered on a day: keyv cannot list keys on every backend. */
function modelIndex(at: number): string {
  return `models#${utcDay(at)}`;
}
