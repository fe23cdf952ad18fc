import { ownedKey } from "./keys.js";
import type { HashIncrement } from "./backend.js";
import type { HashSpace, KeyValueStore } from "./kv.js";
import type { PendingWrites } from "./pending-writes.js";
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
  /**
   * Hybrid routing: the class the message was given, and what answering it
   * with the complex target would have cost more than it did (negative when
   * it cost more). Counted per class and model when set, with `model`.
   */
  hybrid?: { class: string; saved: number };
  /** Epoch milliseconds; decides the UTC day. @defaultValue now */
  at?: number;
}

/** Tokens and cost of one counter, after an answer was added to it. */
export interface SpentSoFar {
  tokens: number;
  cost: number;
}

/** The user's, the channel's and everyone's spending today, after one answer. */
export interface Spent {
  user: SpentSoFar;
  channel: SpentSoFar;
  total: SpentSoFar;
}

/** What a message was: one that called a model, or a command that called none. */
export type RequestKind = "model" | "command";

const dayMs = 24 * 60 * 60 * 1000;

/**
 * Daily counters per user, per channel, per model and in total, by UTC day.
 * Each counter is a hash whose fields are only ever added to with one
 * atomic server operation (HINCRBY in a MULTI on Redis), so any number of
 * messages and processes counting at once lose nothing.
 */
export class UsageLedger {
  readonly #counters: HashSpace;
  readonly #keepMs: number;
  readonly #pending: PendingWrites | undefined;

  /** @param pending - where a count is kept while the store is away; without it, such a count fails. */
  constructor(store: KeyValueStore, options: UsageLedgerOptions = {}, pending?: PendingWrites) {
    this.#counters = store.hashes("counters");
    this.#pending = pending;
    this.#keepMs = Math.max(1, options.keepDays ?? 3) * dayMs;
  }

  /**
   * Adds one answer's tokens and cost to the user's, the channel's, the
   * model's and the total counters of its day, and says what each of the
   * first three holds now (read in the same atomic step, so a cap crossed
   * by this answer is seen by this answer alone). While the store is away
   * the counts are kept and added when it is back: resolves undefined then,
   * since the totals are not known.
   */
  async record(usage: UsageRecord): Promise<Spent | undefined> {
    const add: Record<string, number> = { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cost: usage.cost ?? 0 };
    const at = usage.at ?? Date.now();
    const changes = dayCounters(usage.userKey, usage.channelKey, at).map((key) => ({ key, add, ttlMs: this.#keepMs }));
    if (usage.model) {
      changes.push({ key: modelCounter(usage.model, at), add: { ...add, requests: 1 }, ttlMs: this.#keepMs });
      changes.push({ key: modelIndex(at), add: { [usage.model]: 1 }, ttlMs: this.#keepMs });
      if (usage.hybrid) {
        const route = `${usage.hybrid.class} ${usage.model}`;
        const fields: Record<string, number> = { saved: usage.hybrid.saved };
        for (const [name, value] of Object.entries({ ...add, requests: 1 })) fields[`${route}|${name}`] = value;
        changes.push({ key: hybridCounter(at), add: fields, ttlMs: this.#keepMs });
      }
    }
    let after: Array<Record<string, number>> = [];
    const outcome = await this.#add(`usage ${usage.userKey}`, changes, (values) => (after = values));
    if (outcome === "kept") return undefined;
    const [user, channel, total] = after;
    return { user: spentOf(user!), channel: spentOf(channel!), total: spentOf(total!) };
  }

  /**
   * Counts one message the user was served: a model request (`requests`) or
   * a command that called no model (`commands`). Messages the bot failed to
   * answer are not counted. Kept while the store is away, like `record`.
   */
  async count(userKey: string, channelKey: string, kind: RequestKind, at: number = Date.now()): Promise<void> {
    const add: Record<string, number> = { [kind === "model" ? "requests" : "commands"]: 1 };
    await this.#add(`count ${userKey}`, dayCounters(userKey, channelKey, at).map((key) => ({ key, add, ttlMs: this.#keepMs })));
  }

  /** Adds to counters now, or keeps the change for when the store is back; `done` sees the new values of a change made now. */
  async #add(what: string, changes: HashIncrement[], done?: (after: Array<Record<string, number>>) => void): Promise<"written" | "kept"> {
    const now = async () => {
      const after = await this.#counters.increment(changes);
      done?.(after);
    };
    if (!this.#pending) return now().then(() => "written");
    // A later flush only adds: the new values are nobody's concern by then.
    return this.#pending.write(what, now, async () => void (await this.#counters.increment(changes)));
  }

  /** The user's counters for the UTC day containing `at`. */
  async userToday(userKey: string, at: number = Date.now()): Promise<DailyUsage> {
    return (await this.#read([userCounter(userKey, at)]))[0]!;
  }

  /** The channel's counters for the UTC day containing `at`. */
  async channelToday(channelKey: string, at: number = Date.now()): Promise<DailyUsage> {
    return (await this.#read([channelCounter(channelKey, at)]))[0]!;
  }

  /** Everyone's counters for the UTC day containing `at`. */
  async totalToday(at: number = Date.now()): Promise<DailyUsage> {
    return (await this.#read([totalCounter(at)]))[0]!;
  }

  /** The user's, the channel's and everyone's counters, in one round trip (what a budget check needs). */
  async today(userKey: string, channelKey: string, at: number = Date.now()): Promise<{ user: DailyUsage; channel: DailyUsage; total: DailyUsage }> {
    const [user, channel, total] = await this.#read(dayCounters(userKey, channelKey, at));
    return { user: user!, channel: channel!, total: total! };
  }

  /** Counters per `provider/model` for the UTC day containing `at` (`requests` = answers), busiest first. */
  async modelsToday(at: number = Date.now()): Promise<Array<{ model: string; usage: DailyUsage }>> {
    const [index] = await this.#counters.getAll([modelIndex(at)]);
    const models = Object.keys(index ?? {});
    if (models.length === 0) return [];
    const counters = await this.#read(models.map((model) => modelCounter(model, at)));
    const all = models.map((model, i) => ({ model, usage: counters[i]! }));
    return all.sort((a, b) => b.usage.promptTokens + b.usage.completionTokens - (a.usage.promptTokens + a.usage.completionTokens));
  }

  /**
   * Hybrid routing's day: counters per class and answering model, busiest
   * first, and the cost saved against answering everything with the complex target.
   */
  async hybridToday(at: number = Date.now()): Promise<{ routes: Array<{ class: string; model: string; usage: DailyUsage }>; saved: number }> {
    const [fields = {}] = await this.#counters.getAll([hybridCounter(at)]);
    const routes = new Map<string, Record<string, string>>();
    for (const [field, value] of Object.entries(fields)) {
      const bar = field.lastIndexOf("|");
      if (bar < 0) continue;
      const route = field.slice(0, bar);
      routes.set(route, { ...routes.get(route), [field.slice(bar + 1)]: value });
    }
    const all = [...routes].map(([route, counters]) => {
      const space = route.indexOf(" ");
      return { class: route.slice(0, space), model: route.slice(space + 1), usage: usageOf(counters) };
    });
    all.sort((a, b) => b.usage.requests - a.usage.requests);
    return { routes: all, saved: Number(fields.saved ?? 0) };
  }

  async #read(keys: string[]): Promise<DailyUsage[]> {
    const hashes = await this.#counters.getAll(keys);
    return hashes.map(usageOf);
  }
}

function usageOf(fields: Record<string, string>): DailyUsage {
  return {
    requests: Number(fields.requests ?? 0),
    commands: Number(fields.commands ?? 0),
    promptTokens: Number(fields.promptTokens ?? 0),
    completionTokens: Number(fields.completionTokens ?? 0),
    cost: Number(fields.cost ?? 0),
  };
}

function spentOf(fields: Record<string, number>): SpentSoFar {
  return { tokens: (fields.promptTokens ?? 0) + (fields.completionTokens ?? 0), cost: fields.cost ?? 0 };
}

/** `2024-05-31` for any moment of that UTC day. */
function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

function dayCounters(userKey: string, channelKey: string, at: number): string[] {
  return [userCounter(userKey, at), channelCounter(channelKey, at), totalCounter(at)];
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

/** Hybrid routing's counters of a day: `<class> <provider/model>|<counter>` fields, and `saved`. */
function hybridCounter(at: number): string {
  return `hybrid#${utcDay(at)}`;
}

/** The models that answered on a day, as fields of one hash: keys cannot be listed on every backend. */
function modelIndex(at: number): string {
  return `models#${utcDay(at)}`;
}
