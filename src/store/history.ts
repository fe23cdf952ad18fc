import type { Keyv } from "keyv";
import { KeyedQueue } from "../core/keyed-queue.js";
import { ownedKey } from "./keys.js";
import { isStoreUnavailable } from "./guard.js";
import type { KeyValueStore } from "./kv.js";
import type { PendingWrites, WriteOutcome } from "./pending-writes.js";
import type { HistoryTurn } from "./types.js";

export interface ChannelHistoryOptions {
  /** Most turns kept per channel; the oldest are dropped first. @defaultValue 1_000 */
  maxStoredMessages?: number;
  /**
   * Idle expiry in milliseconds: a channel with no new turn for this long is
   * forgotten, summary included. Each turn is also forgotten this long after
   * it was stored. 0 keeps everything. @defaultValue 30 days
   */
  ttlMs?: number;
}

/**
 * Where a channel's turns are. Turn `i` lives under its own key, so an
 * append writes the new turns and this small record, and reading the recent
 * window fetches just that window: the cost of a message does not grow with
 * the length of the stored history.
 */
interface ChannelRecord {
  /** Index of the oldest kept turn. */
  head: number;
  /** Index the next turn will get. */
  tail: number;
  /** Running summary of the older conversation. */
  summary?: string;
  /** Turns before this index are folded into `summary` and left out of `recent`. */
  summarisedBefore?: number;
}

/** A stored turn with its position in the channel. */
export interface IndexedTurn {
  index: number;
  turn: HistoryTurn;
}

const thirtyDaysMs = 30 * 24 * 60 * 60 * 1000;
/** Keys deleted per store call when a whole channel is cleared. */
const deleteBatch = 1_000;

/**
 * The conversation of each channel, bounded and expiring.
 *
 * keyv has no atomic append, so an append is read-record, write-turns,
 * write-record; the core handles one message per channel at a time and this
 * class queues its own writes per channel, which makes that safe within one
 * process. Two processes appending to the same channel at the same moment
 * could both take the same turn index and one exchange would overwrite the
 * other (the Redis client's `multi().rPush().lTrim()` would be the fix).
 */
export class ChannelHistory {
  readonly #keyv: Keyv;
  readonly #writes = new KeyedQueue();
  readonly #maxStored: number;
  readonly #ttlMs: number | undefined;
  readonly #pending: PendingWrites | undefined;

  /** @param pending - where an append is kept while the store is away; without it, such an append fails. */
  constructor(store: KeyValueStore, options: ChannelHistoryOptions = {}, pending?: PendingWrites) {
    this.#keyv = store.keyv("history");
    this.#pending = pending;
    this.#maxStored = Math.max(1, options.maxStoredMessages ?? 1_000);
    const ttlMs = options.ttlMs ?? thirtyDaysMs;
    this.#ttlMs = ttlMs > 0 ? ttlMs : undefined;
  }

  /**
   * Stores the turns of one exchange together, drops the oldest beyond the
   * bound, and restarts the idle expiry. While the store is away the turns
   * are kept in memory and stored, in order, when it is back ("kept").
   */
  append(channelKey: string, turns: readonly HistoryTurn[]): Promise<WriteOutcome> {
    if (turns.length === 0) return Promise.resolve("written");
    const queued = () => this.#writes.run(channelKey, () => this.#appendNow(channelKey, turns));
    if (!this.#pending) return queued().then(() => "written");
    // Decided inside the channel's queue, so an append cannot overtake one kept before it.
    return this.#writes.run(channelKey, () => this.#pending!.write(`history ${channelKey}`, () => this.#appendNow(channelKey, turns), queued));
  }

  async #appendNow(channelKey: string, turns: readonly HistoryTurn[]): Promise<void> {
    const record = (await this.#record(channelKey)) ?? { head: 0, tail: 0 };
    const tail = record.tail + turns.length;
    const head = Math.max(record.head, tail - this.#maxStored);
    const firstWritten = Math.max(record.tail, head);
    const entries: Array<{ key: string; value: unknown; ttl?: number }> = [];
    for (let index = firstWritten; index < tail; index++) {
      entries.push({ key: turnKey(channelKey, index), value: turns[index - record.tail], ttl: this.#ttlMs });
    }
    // Turns and record go in one call, so a reader sees the exchange whole or not at all.
    entries.push({ key: recordKey(channelKey), value: { ...record, head, tail }, ttl: this.#ttlMs });
    await this.#keyv.setMany(entries);
    const dropped = indexKeys(channelKey, record.head, Math.min(head, record.tail));
    if (dropped.length === 0) return;
    // The exchange is stored: turns past the bound are already out of reach, and expire with their TTL if this fails.
    await this.#keyv.deleteMany(dropped).catch((e: unknown) => {
      if (!isStoreUnavailable(e)) throw e;
    });
  }

  /** The last `limit` turns not yet folded into the summary, oldest first. */
  async recent(channelKey: string, limit: number): Promise<HistoryTurn[]> {
    return (await this.window(channelKey, limit)).turns.map((t) => t.turn);
  }

  /** Like `recent`, with each turn's index (what `setSummary` takes). */
  async unsummarised(channelKey: string, limit: number): Promise<IndexedTurn[]> {
    return (await this.window(channelKey, limit)).turns;
  }

  /**
   * What a prompt needs, in two reads: the running summary and the last
   * `limit` turns it does not cover, oldest first, with their indexes.
   */
  async window(channelKey: string, limit: number): Promise<{ summary?: string; turns: IndexedTurn[] }> {
    const record = await this.#record(channelKey);
    if (!record) return { turns: [] };
    const from = Math.max(record.head, record.tail - Math.max(0, limit), record.summarisedBefore ?? 0);
    const keys = indexKeys(channelKey, from, record.tail);
    const turns: IndexedTurn[] = [];
    if (keys.length > 0) {
      const found = await this.#keyv.getMany<HistoryTurn>(keys);
      // A turn older than the expiry may be gone while its channel is still active.
      found.forEach((turn, i) => {
        if (turn !== undefined) turns.push({ index: from + i, turn });
      });
    }
    return { summary: record.summary, turns };
  }

  /** How many turns the channel keeps (turns that expired by age may still be counted). */
  async size(channelKey: string): Promise<number> {
    const record = await this.#record(channelKey);
    return record ? record.tail - record.head : 0;
  }

  /** Forgets the channel's turns and its summary. */
  clear(channelKey: string): Promise<void> {
    return this.#writes.run(channelKey, async () => {
      const record = await this.#record(channelKey);
      if (!record) return;
      // The record goes first: once it is gone the turns are unreachable, even if deleting them fails halfway.
      await this.#keyv.delete(recordKey(channelKey));
      for (let start = record.head; start < record.tail; start += deleteBatch) {
        await this.#keyv.deleteMany(indexKeys(channelKey, start, Math.min(start + deleteBatch, record.tail)));
      }
    });
  }

  async getSummary(channelKey: string): Promise<string | undefined> {
    return (await this.#record(channelKey))?.summary;
  }

  /**
   * Keeps `text` as the channel's running summary; it expires with the
   * channel. With `coversBefore`, the turns before that index count as
   * summarised and `recent` leaves them out.
   */
  setSummary(channelKey: string, text: string, coversBefore?: number): Promise<void> {
    return this.#writes.run(channelKey, async () => {
      const record = (await this.#record(channelKey)) ?? { head: 0, tail: 0 };
      const summarisedBefore = coversBefore === undefined ? record.summarisedBefore : Math.min(coversBefore, record.tail);
      await this.#keyv.set(recordKey(channelKey), { ...record, summary: text, summarisedBefore }, this.#ttlMs);
    });
  }

  #record(channelKey: string): Promise<ChannelRecord | undefined> {
    return this.#keyv.get<ChannelRecord>(recordKey(channelKey));
  }
}

function recordKey(channelKey: string): string {
  return ownedKey(channelKey, "record");
}

function turnKey(channelKey: string, index: number): string {
  return ownedKey(channelKey, "turn", index);
}

/** Keys of turns `from` (inclusive) to `to` (exclusive). */
function indexKeys(channelKey: string, from: number, to: number): string[] {
  const keys: string[] = [];
  for (let index = from; index < to; index++) keys.push(turnKey(channelKey, index));
  return keys;
}
