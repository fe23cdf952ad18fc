import { randomInt } from "node:crypto";
import type { Keyv } from "keyv";
import { KeyedQueue } from "../core/keyed-queue.js";
import { ownedKey } from "./keys.js";
import type { KeyValueStore } from "./kv.js";
import { rankMemories } from "./memory-search.js";
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

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
const idLength = 5;

/**
 * Facts taught to each channel. A channel's memories are one small list
 * under the channel's own key (they are added rarely and searched whole),
 * so no memory of one channel can be reached through another.
 *
 * Changes are read-modify-write, queued per channel in this process; two
 * processes adding to one channel at the same moment could lose one add.
 */
export class MemoryBook {
  readonly #keyv: Keyv;
  readonly #writes = new KeyedQueue();
  readonly #maxPerChannel: number;

  constructor(store: KeyValueStore, options: MemoryBookOptions = {}) {
    this.#keyv = store.keyv("memories");
    this.#maxPerChannel = Math.max(1, options.maxPerChannel ?? 1_000);
  }

  /** Stores a fact with a fresh short id, unique within the channel. */
  add(channelKey: string, memory: NewMemory): Promise<Memory> {
    return this.#writes.run(channelKey, async () => {
      const memories = await this.list(channelKey);
      const taken = new Set(memories.map((m) => m.id));
      let id = newId();
      while (taken.has(id)) id = newId();
      const added: Memory = { id, text: memory.text, authorKey: memory.authorKey, authorName: memory.authorName, createdAt: Date.now() };
      memories.push(added);
      await this.#keyv.set(listKey(channelKey), memories.slice(-this.#maxPerChannel));
      return added;
    });
  }

  /** Every memory of the channel, oldest first. */
  async list(channelKey: string): Promise<Memory[]> {
    return (await this.#keyv.get<Memory[]>(listKey(channelKey))) ?? [];
  }

  /** The `limit` memories most relevant to `query`, best first; the newest ones for an empty query. */
  async search(channelKey: string, query: string, limit: number): Promise<Memory[]> {
    return rankMemories(await this.list(channelKey), query, limit);
  }

  /** The memory with this id (`k3f9a`, `#K3F9A ` and the like). */
  async get(channelKey: string, id: string): Promise<Memory | undefined> {
    const wanted = normaliseId(id);
    return (await this.list(channelKey)).find((memory) => memory.id === wanted);
  }

  /** Forgets one memory; resolves with it, or undefined when the channel has no such id. */
  remove(channelKey: string, id: string): Promise<Memory | undefined> {
    return this.#writes.run(channelKey, async () => {
      const wanted = normaliseId(id);
      const memories = await this.list(channelKey);
      const index = memories.findIndex((memory) => memory.id === wanted);
      if (index < 0) return undefined;
      const [removed] = memories.splice(index, 1);
      if (memories.length > 0) await this.#keyv.set(listKey(channelKey), memories);
      else await this.#keyv.delete(listKey(channelKey));
      return removed;
    });
  }

  /** Forgets every memory of the channel. */
  clear(channelKey: string): Promise<void> {
    return this.#writes.run(channelKey, async () => {
      await this.#keyv.delete(listKey(channelKey));
    });
  }
}

function listKey(channelKey: string): string {
  return ownedKey(channelKey, "memories");
}

function normaliseId(id: string): string {
  return id.trim().replace(/^#/, "").trim().toLowerCase();
}

function newId(): string {
  let id = "";
  for (let i = 0; i < idLength; i++) id += idAlphabet[randomInt(idAlphabet.length)];
  return id;
}
