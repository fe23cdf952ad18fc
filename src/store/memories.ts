import { ownedKey } from "./keys.js";
import type { KeyValueStore, StructureSpace } from "./kv.js";
import { memoryId, memorySeq } from "./memory-ids.js";
import { lookupTermsOf, termsOf, type IndexTerm } from "./memory-index.js";
import { rankMemories, words } from "./memory-search.js";
import type { WriteOp } from "./ops.js";
import type { Memory } from "./types.js";

export interface MemoryBookOptions {
  /** Most memories kept per channel; adding one more drops the oldest. @defaultValue 1_000 */
  maxPerChannel?: number;
}

/** What a user teaches with `remember`. */
export interface NewMemory {
  text: string;
  authorKey: string;
  authorName: string;
}

/** A memory as stored: its id is the hash field it is kept under. */
type StoredMemory = Omit<Memory, "id">;

/**
 * Facts taught to each channel, under the channel's own keys, so no memory
 * of one channel can be reached through another: a hash of the memories by
 * id, a sorted set of the ids in the order they were added, a counter that
 * hands out ids, and the search index (sets of ids per word and per word
 * prefix, see `memory-index.ts`).
 *
 * Ids are made from the channel's count of memories ever added (see
 * `memory-ids.ts`): short, never reused, and taken with one atomic
 * increment, so any number of processes adding at once get distinct ids. A memory, its
 * place in the order and its index entries are written, or removed, in one
 * transaction. A search reads only the ids its words find, the matching
 * memories and the channel's count: not the whole channel.
 */
export class MemoryBook {
  readonly #structures: StructureSpace;
  readonly #maxPerChannel: number;

  constructor(store: KeyValueStore, options: MemoryBookOptions = {}) {
    this.#structures = store.structures("memories");
    this.#maxPerChannel = Math.max(1, options.maxPerChannel ?? 1_000);
  }

  /** Stores a fact with a fresh short id, unique within the channel; past the bound, the oldest are dropped. */
  async add(channelKey: string, memory: NewMemory): Promise<Memory> {
    const id = await this.#newId(channelKey);
    const stored: StoredMemory = { text: memory.text, authorKey: memory.authorKey, authorName: memory.authorName, createdAt: Date.now() };
    const [, , count] = await this.#structures.transaction([
      { op: "hashSet", key: factsKey(channelKey), fields: { [id]: JSON.stringify(stored) } },
      { op: "sortedAdd", key: orderKey(channelKey), score: memorySeq(id), member: id },
      { op: "sortedCount", key: orderKey(channelKey) },
      ...termsOf(stored.text).map((term): WriteOp => ({ op: "setAdd", key: termKey(channelKey, term), members: [id] })),
    ]);
    if (count > this.#maxPerChannel) await this.#dropOldest(channelKey);
    return { id, ...stored };
  }

  /** Every memory of the channel, oldest first. */
  async list(channelKey: string): Promise<Memory[]> {
    const [all] = await this.#structures.transaction([{ op: "hashGetAll", key: factsKey(channelKey) }]);
    return oldestFirst(Object.entries(all).map(([id, raw]) => parse(id, raw)));
  }

  /** The `limit` memories most relevant to `query`, best first; the newest ones for a query with no words. */
  async search(channelKey: string, query: string, limit: number): Promise<Memory[]> {
    if (limit <= 0) return [];
    if (words(query).length === 0) return this.#read(channelKey, await this.#newestIds(channelKey, limit));
    const { candidates, total } = await this.#candidates(channelKey, query, 0);
    return rankMemories(candidates, query, limit, total);
  }

  /**
   * The channel's facts for one prompt: the `limit` best matches for the
   * text first, then, while there is room, the newest others, so a fact like
   * "my name is Bob" still reaches a question that shares no word with it.
   */
  async forPrompt(channelKey: string, text: string, limit: number): Promise<Memory[]> {
    if (limit <= 0) return [];
    const { candidates, newest, total } = await this.#candidates(channelKey, text, limit);
    const chosen = rankMemories(candidates, text, limit, total);
    for (const memory of newest) {
      if (chosen.length >= limit) break;
      if (!chosen.some((c) => c.id === memory.id)) chosen.push(memory);
    }
    return chosen;
  }

  /** The memory with this id (`k3f9a`, `#K3F9A ` and the like). */
  async get(channelKey: string, id: string): Promise<Memory | undefined> {
    const wanted = normaliseId(id);
    if (!wanted) return undefined;
    return (await this.#read(channelKey, [wanted]))[0];
  }

  /** Forgets one memory; resolves with it, or undefined when the channel has no such id. */
  async remove(channelKey: string, id: string): Promise<Memory | undefined> {
    const memory = await this.get(channelKey, id);
    if (!memory) return undefined;
    const [removed] = await this.#structures.transaction(removal(channelKey, [memory]));
    // Another process may have forgotten it in between: only one of them says it did.
    return removed > 0 ? memory : undefined;
  }

  /** Forgets every memory of the channel (the id counter stays, so ids are never reused). */
  async clear(channelKey: string): Promise<void> {
    const memories = await this.list(channelKey);
    const terms = new Set(memories.flatMap((memory) => termsOf(memory.text)));
    await this.#structures.transaction([
      { op: "delete", keys: [factsKey(channelKey), orderKey(channelKey), ...[...terms].map((term) => termKey(channelKey, term))] },
    ]);
  }

  /**
   * Takes over memories an older Parley kept in another layout (see
   * `legacy-layout.ts`), with their ids, before the channel's own; an id the
   * channel already has keeps the channel's memory. The old keys, `retire`,
   * are deleted in the same transaction.
   */
  async adoptLegacy(channelKey: string, legacy: readonly Memory[], retire: readonly string[]): Promise<void> {
    const ids = legacy.map((memory) => memory.id);
    const [present] = await this.#structures.transaction([{ op: "hashGetSome", key: factsKey(channelKey), fields: ids }]);
    const adopted = legacy.filter((_, i) => present[i] === undefined);
    const facts = Object.fromEntries(adopted.map(({ id, ...stored }) => [id, JSON.stringify(stored)]));
    const byTerm = new Map<IndexTerm, string[]>();
    for (const memory of adopted) {
      for (const term of termsOf(memory.text)) byTerm.set(term, [...(byTerm.get(term) ?? []), memory.id]);
    }
    const writes: WriteOp[] = [
      { op: "hashSet", key: factsKey(channelKey), fields: facts },
      // Old ids were drawn at random: the counter's ids must step over them (see #newId).
      { op: "hashSet", key: counterKey(channelKey), fields: adopted.length > 0 ? { [legacyField]: "1" } : {} },
      { op: "delete", keys: retire },
      // Scores below the counter's first id (1) put them before every memory added since, in their old order.
      ...adopted.map((memory, i): WriteOp => ({ op: "sortedAdd", key: orderKey(channelKey), score: i - adopted.length, member: memory.id })),
      ...[...byTerm].map(([term, members]): WriteOp => ({ op: "setAdd", key: termKey(channelKey, term), members })),
    ];
    const [count] = await this.#structures.transaction([{ op: "sortedCount", key: orderKey(channelKey) }, ...writes]);
    if (count + adopted.length > this.#maxPerChannel) await this.#dropOldest(channelKey);
  }

  /**
   * The next id from the channel's counter. A channel that took over
   * memories with random ids from an older Parley is marked, and there an
   * id already taken is stepped over; elsewhere no id can be taken twice.
   */
  async #newId(channelKey: string): Promise<string> {
    for (;;) {
      const [seq, [legacy]] = await this.#structures.transaction([
        { op: "hashAdd", key: counterKey(channelKey), field: addedField, by: 1 },
        { op: "hashGetSome", key: counterKey(channelKey), fields: [legacyField] },
      ]);
      const id = memoryId(seq);
      if (legacy === undefined || (await this.#read(channelKey, [id])).length === 0) return id;
    }
  }

  /**
   * The memories the index finds for `query` (oldest first), the `newest`
   * few, and the channel's count: one round trip for the ids, one for the
   * memories.
   */
  async #candidates(channelKey: string, query: string, newest: number): Promise<{ candidates: Memory[]; newest: Memory[]; total: number }> {
    const lookup = lookupTermsOf(query).map((term) => termKey(channelKey, term));
    const [matching, newestIds, total] = await this.#structures.transaction([
      { op: "setUnion", keys: lookup },
      // ZRANGE 0 -1 would be every id: with none wanted, an empty range.
      { op: "sortedRange", key: orderKey(channelKey), ...(newest > 0 ? { start: 0, stop: newest - 1 } : { start: 1, stop: 0 }), highestFirst: true },
      { op: "hashLength", key: factsKey(channelKey) },
    ]);
    const wantedNewest = newestIds;
    const found = new Map((await this.#read(channelKey, [...new Set([...matching, ...wantedNewest])])).map((m) => [m.id, m]));
    return {
      candidates: oldestFirst(matching.flatMap((id) => found.get(id) ?? [])),
      newest: wantedNewest.flatMap((id) => found.get(id) ?? []),
      total,
    };
  }

  async #newestIds(channelKey: string, count: number): Promise<string[]> {
    const [ids] = await this.#structures.transaction([{ op: "sortedRange", key: orderKey(channelKey), start: 0, stop: count - 1, highestFirst: true }]);
    return ids;
  }

  /** The memories with these ids, in the same order; ids not found (forgotten meanwhile) are left out. */
  async #read(channelKey: string, ids: readonly string[]): Promise<Memory[]> {
    if (ids.length === 0) return [];
    const [raws] = await this.#structures.transaction([{ op: "hashGetSome", key: factsKey(channelKey), fields: ids }]);
    return ids.flatMap((id, i) => (raws[i] === undefined ? [] : [parse(id, raws[i])]));
  }

  /** Drops the memories beyond the bound, oldest first. */
  async #dropOldest(channelKey: string): Promise<void> {
    const [ids] = await this.#structures.transaction([
      { op: "sortedRange", key: orderKey(channelKey), start: 0, stop: -(this.#maxPerChannel + 1) },
    ]);
    const memories = await this.#read(channelKey, ids);
    // An id in the order with no memory (a clear raced an add) is dropped from the order all the same.
    const missing = ids.filter((id) => !memories.some((m) => m.id === id));
    await this.#structures.transaction([
      ...removal(channelKey, memories),
      { op: "sortedRemove", key: orderKey(channelKey), members: missing },
    ]);
  }
}

/** Removes memories, their place in the order and their index entries; the first reply counts the memories removed. */
function removal(channelKey: string, memories: readonly Memory[]): [Extract<WriteOp, { op: "hashDelete" }>, ...WriteOp[]] {
  const ids = memories.map((m) => m.id);
  const byTerm = new Map<IndexTerm, string[]>();
  for (const memory of memories) {
    for (const term of termsOf(memory.text)) byTerm.set(term, [...(byTerm.get(term) ?? []), memory.id]);
  }
  return [
    { op: "hashDelete", key: factsKey(channelKey), fields: ids },
    { op: "sortedRemove", key: orderKey(channelKey), members: ids },
    ...[...byTerm].map(([term, members]): WriteOp => ({ op: "setRemove", key: termKey(channelKey, term), members })),
  ];
}

function parse(id: string, raw: string): Memory {
  return { id, ...(JSON.parse(raw) as StoredMemory) };
}

/** In the order they were added: by time, and by id within a millisecond. */
function oldestFirst(memories: readonly Memory[]): Memory[] {
  return memories
    .map((memory) => ({ memory, seq: memorySeq(memory.id) }))
    .sort((a, b) => a.memory.createdAt - b.memory.createdAt || a.seq - b.seq)
    .map(({ memory }) => memory);
}

/** Fields of a channel's counter hash: memories ever added, and the mark of memories taken over from an older Parley. */
const addedField = "added";
const legacyField = "legacy";

function factsKey(channelKey: string): string {
  return ownedKey(channelKey, "facts");
}

function orderKey(channelKey: string): string {
  return ownedKey(channelKey, "order");
}

function counterKey(channelKey: string): string {
  return ownedKey(channelKey, "ids");
}

function termKey(channelKey: string, term: IndexTerm): string {
  return ownedKey(channelKey, "index", term);
}

/** `#K3F9A ` → `k3f9a`; anything that cannot be an id → empty. */
function normaliseId(id: string): string {
  const normal = id.trim().replace(/^#/, "").trim().toLowerCase();
  return /^[0-9a-z]{5,6}$/.test(normal) ? normal : "";
}
