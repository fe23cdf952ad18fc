import { KeyedQueue } from "../core/keyed-queue.js";
import { ownedKey } from "./keys.js";
import type { KeyValueStore, StructureSpace } from "./kv.js";
import type { WriteOp } from "./ops.js";
import type { PendingWrites, WriteOutcome } from "./pending-writes.js";
import type { HistoryTurn } from "./types.js";

export interface ChannelHistoryOptions {
  /** Most turns kept per channel; the oldest are dropped first. @defaultValue 1_000 */
  maxStoredMessages?: number;
  /**
   * Idle expiry in milliseconds: a channel with no new turn for this long is
   * forgotten, summary included. Each turn is also left out of prompts this
   * long after it was said. 0 keeps everything. @defaultValue 30 days
   */
  ttlMs?: number;
}

/** Fields of a channel's bookkeeping hash. */
const appendedField = "appended";
const summaryField = "summary";
/** Turns before this index are folded into the summary and left out of `recent`. */
const summarisedBeforeField = "summarisedBefore";

/** A stored turn with its position in the channel. */
export interface IndexedTurn {
  index: number;
  turn: HistoryTurn;
}

const thirtyDaysMs = 30 * 24 * 60 * 60 * 1000;

/**
 * The conversation of each channel, bounded and expiring. A channel is two
 * keys: a list of its turns, and a small hash that counts every turn ever
 * appended (so a turn's index is stable while older ones are trimmed) and
 * holds the running summary. An append pushes the exchange, trims the list
 * to the bound, counts the turns and restarts the idle expiry in one
 * transaction: any number of processes appending to one channel at once
 * lose nothing, and every reader sees the same order.
 */
export class ChannelHistory {
  readonly #structures: StructureSpace;
  /** Keeps this process's appends to a channel in call order, behind any kept while the store was away. */
  readonly #writes = new KeyedQueue();
  readonly #maxStored: number;
  readonly #ttlMs: number | undefined;
  readonly #pending: PendingWrites | undefined;

  /** @param pending - where an append is kept while the store is away; without it, such an append fails. */
  constructor(store: KeyValueStore, options: ChannelHistoryOptions = {}, pending?: PendingWrites) {
    this.#structures = store.structures("history");
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
    const list = turnsKey(channelKey);
    const meta = metaKey(channelKey);
    await this.#structures.transaction([
      { op: "listPush", key: list, values: turns.map((turn) => JSON.stringify(turn)) },
      { op: "listKeepLast", key: list, count: this.#maxStored },
      { op: "hashAdd", key: meta, field: appendedField, by: turns.length },
      ...this.#expiries(channelKey),
    ]);
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
   * What a prompt needs, in one round trip: the running summary and the
   * last `limit` turns it does not cover, oldest first, with their indexes.
   */
  async window(channelKey: string, limit: number): Promise<{ summary?: string; turns: IndexedTurn[] }> {
    const list = turnsKey(channelKey);
    const wanted = Math.max(0, Math.floor(limit));
    const [meta, length, tailTurns] = await this.#structures.transaction([
      { op: "hashGetAll", key: metaKey(channelKey) },
      { op: "listLength", key: list },
      // LRANGE -0 -1 would be the whole list: with no turn wanted, ask for none.
      wanted > 0 ? { op: "listRange", key: list, start: -wanted, stop: -1 } : { op: "listRange", key: list, start: 1, stop: 0 },
    ]);
    const appended = Math.max(Number(meta[appendedField] ?? 0), length);
    const summarisedBefore = Number(meta[summarisedBeforeField] ?? 0);
    const firstIndex = appended - tailTurns.length;
    // A turn older than the expiry is forgotten even while its channel stays active.
    const oldest = this.#ttlMs === undefined ? -Infinity : Date.now() - this.#ttlMs;
    const turns: IndexedTurn[] = [];
    tailTurns.forEach((raw, i) => {
      const index = firstIndex + i;
      const turn = JSON.parse(raw) as HistoryTurn;
      if (index >= summarisedBefore && turn.at >= oldest) turns.push({ index, turn });
    });
    return { summary: meta[summaryField], turns };
  }

  /** How many turns the channel keeps (turns that expired by age may still be counted). */
  async size(channelKey: string): Promise<number> {
    const [length] = await this.#structures.transaction([{ op: "listLength", key: turnsKey(channelKey) }]);
    return length;
  }

  /**
   * Forgets the channel's turns and its summary. The count of turns ever
   * appended stays, so indexes never repeat: a fold that read the turns
   * before the reset cannot hide the ones after it.
   */
  clear(channelKey: string): Promise<void> {
    return this.#writes.run(channelKey, async () => {
      await this.#structures.transaction([
        { op: "delete", keys: [turnsKey(channelKey)] },
        { op: "hashDelete", key: metaKey(channelKey), fields: [summaryField, summarisedBeforeField] },
      ]);
    });
  }

  async getSummary(channelKey: string): Promise<string | undefined> {
    const [[summary]] = await this.#structures.transaction([{ op: "hashGetSome", key: metaKey(channelKey), fields: [summaryField] }]);
    return summary;
  }

  /**
   * Keeps `text` as the channel's running summary; it expires with the
   * channel. With `coversBefore`, the turns before that index count as
   * summarised and `recent` leaves them out.
   */
  setSummary(channelKey: string, text: string, coversBefore?: number): Promise<void> {
    return this.#writes.run(channelKey, async () => {
      const fields: Record<string, string> = { [summaryField]: text };
      if (coversBefore !== undefined) fields[summarisedBeforeField] = String(Math.max(0, Math.floor(coversBefore)));
      await this.#structures.transaction([{ op: "hashSet", key: metaKey(channelKey), fields }, ...this.#expiries(channelKey)]);
    });
  }

  /**
   * Takes over turns an older Parley kept in another layout (see
   * `legacy-layout.ts`): they go before the channel's own turns, which keep
   * their order and stay unsummarised; the old summary is kept unless the
   * channel has one now. The old keys, `retire`, are deleted in the same
   * transaction, so the turns are in one layout or the other, never both.
   */
  adoptLegacy(channelKey: string, legacy: { turns: readonly HistoryTurn[]; summary?: string }, retire: readonly string[]): Promise<void> {
    return this.#writes.run(channelKey, async () => {
      const meta = metaKey(channelKey);
      const [current] = await this.#structures.transaction([{ op: "hashGetAll", key: meta }]);
      const count = legacy.turns.length;
      const fields: Record<string, string> = {};
      if (legacy.summary !== undefined && current[summaryField] === undefined) fields[summaryField] = legacy.summary;
      await this.#structures.transaction([
        { op: "listPushFront", key: turnsKey(channelKey), values: legacy.turns.map((turn) => JSON.stringify(turn)) },
        { op: "listKeepLast", key: turnsKey(channelKey), count: this.#maxStored },
        // Every turn now has an index `count` higher: the count of turns and the summarised mark move with them.
        ...(count > 0 ? [{ op: "hashAdd", key: meta, field: appendedField, by: count } as const] : []),
        ...(count > 0 && current[summarisedBeforeField] !== undefined
          ? [{ op: "hashAdd", key: meta, field: summarisedBeforeField, by: count } as const]
          : []),
        { op: "hashSet", key: meta, fields },
        ...this.#expiries(channelKey),
        { op: "delete", keys: retire },
      ]);
    });
  }

  /** Restarts the channel's idle expiry, on both keys together. */
  #expiries(channelKey: string): WriteOp[] {
    if (this.#ttlMs === undefined) return [];
    return [
      { op: "expire", key: turnsKey(channelKey), ttlMs: this.#ttlMs },
      { op: "expire", key: metaKey(channelKey), ttlMs: this.#ttlMs },
    ];
  }
}

function turnsKey(channelKey: string): string {
  return ownedKey(channelKey, "turns");
}

function metaKey(channelKey: string): string {
  return ownedKey(channelKey, "meta");
}
