import type { Keyv } from "keyv";
import { KeyedQueue } from "../core/keyed-queue.js";
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
 * Each update is read-modify-write, queued in this process, so concurrent
 * messages never lose a count here. Several processes sharing one
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

  /** Adds one answer's tokens and cost to the user's, the channel's, the model's and the total counters of its day. */
  async record(usage: UsageRecord): Promise<void> {
    const add: DailyUsage = { requests: 0, promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cost: usage.cost ?? 0 };
    const at = usage.at ?? Date.now();
    const changes = this.#dayCounters(usage.userKey, usage.channelKey, at).map((key) => ({ key, add }));
    if (usage.model) changes.push({ key: modelCounter(usage.model, at), add: { ...add, requests: 1 } });
    await this.#apply(changes, usage.model ? { index: modelIndex(at), model: usage.model } : undefined);
  }

  /** Counts one request (made before the answer is known, so refused or failed calls count too). */
  async countRequest(userKey: string, channelKey: string, at: number = Date.now()): Promise<void> {
    const add: DailyUsage = { requests: 1, promptTokens: 0, completionTokens: 0, cost: 0 };
    await this.#apply(this.#dayCounters(userKey, channelKey, at).map((key) => ({ key, add })));
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
    if (models.length === 0) return [];
    const counters = await this.#keyv.getMany<DailyUsage>(models.map((model) => modelCounter(model, at)));
    const all = models.map((model, i) => ({ model, usage: counters[i] ?? emptyDay() }));
    return all.sort((a, b) => b.usage.promptTokens + b.usage.completionTokens - (a.usage.promptTokens + a.usage.completionTokens));
  }

  #dayCounters(userKey: string, channelKey: string, at: number): string[] {
    return [userCounter(userKey, at), channelCounter(channelKey, at), totalCounter(at)];
  }

  /**
   * Adds to several counters (and the day's model index) with one read and
   * one write: two round trips to Redis whatever the number of counters.
   * Every change goes through one queue, since each touches the day's total
   * anyway.
   */
  #apply(changes: Array<{ key: string; add: DailyUsage }>, model?: { index: string; model: string }): Promise<void> {
    return this.#writes.run("ledger", async () => {
      const keys = changes.map((c) => c.key);
      const read = await this.#keyv.getMany<unknown>(model ? [...keys, model.index] : keys);
      const entries: Array<{ key: string; value: unknown; ttl: number }> = changes.map(({ key, add }, i) => {
        const now = (read[i] as DailyUsage | undefined) ?? emptyDay();
        const value: DailyUsage = {
          requests: now.requests + add.requests,
          promptTokens: now.promptTokens + add.promptTokens,
          completionTokens: now.completionTokens + add.completionTokens,
          cost: now.cost + add.cost,
        };
        return { key, value, ttl: this.#keepMs };
      });
      if (model) {
        const models = (read[keys.length] as string[] | undefined) ?? [];
        if (!models.includes(model.model)) entries.push({ key: model.index, value: [...models, model.model], ttl: this.#keepMs });
      }
      await this.#keyv.setMany(entries);
    });
  }

  async #read(key: string): Promise<DailyUsage> {
    return (await this.#keyv.get<DailyUsage>(key)) ?? emptyDay();
  }
}

function emptyDay(): DailyUsage {
  return { requests: 0, promptTokens: 0, completionTokens: 0, cost: 0 };
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
