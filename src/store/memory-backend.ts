import type { Backend } from "./backend.js";
import { Structures, type Structure } from "./memory-structures.js";
import type { StoreOp } from "./ops.js";

/**
 * The structures (hashes, lists, sets…) kept beside each values Map, so a
 * second backend handed the same Map finds them too, as after a restart.
 */
const structuresOf = new WeakMap<Map<string, string>, Map<string, Structure>>();

/**
 * Keeps values in a Map inside this process: nothing survives a restart.
 * Expiry of keyv's values is left to keyv, which stamps each value and drops
 * it when read after its time; structures and claims carry their own expiry.
 * Every operation runs to its end without awaiting, so it is atomic here,
 * and a transaction is atomic as a whole.
 *
 * @param values - the Map to keep values in; pass the same Map to a second
 *   store to see the first one's data (tests simulate a restart this way).
 */
export function createMemoryBackend(values: Map<string, string> = new Map()): Backend {
  let kept = structuresOf.get(values);
  if (!kept) structuresOf.set(values, (kept = new Map()));
  const structures = new Structures(kept);
  const hashOf = (key: string) => structures.make(key, "hash", () => ({ kind: "hash", fields: new Map() }));

  return {
    kind: "memory",
    get: async (key) => values.get(key),
    getMany: async (keys) => keys.map((key) => values.get(key)),
    set: async (key, value) => {
      values.set(key, value);
    },
    setMany: async (entries) => {
      for (const { key, value } of entries) values.set(key, value);
    },
    delete: async (key) => values.delete(key),
    deleteMany: async (keys) => {
      let any = false;
      for (const key of keys) any = values.delete(key) || any;
      return any;
    },
    hashIncrement: async (changes) => {
      const now = Date.now();
      return changes.map(({ key, add, ttlMs }) => {
        const hash = hashOf(key);
        const after: Record<string, number> = {};
        for (const [field, by] of Object.entries(add)) {
          after[field] = Number(hash.fields.get(field) ?? 0) + by;
          hash.fields.set(field, String(after[field]));
        }
        if (ttlMs !== undefined) hash.expiresAt = now + ttlMs;
        return after;
      });
    },
    hashGetAll: async (keys) => keys.map((key) => Object.fromEntries(structures.find(key, "hash")?.fields ?? [])),
    hashGet: async (fields) => fields.map(({ key, field }) => structures.find(key, "hash")?.fields.get(field)),
    hashSet: async (key, field, value) => {
      hashOf(key).fields.set(field, value);
    },
    hashDelete: async (key, field) => structures.apply({ op: "hashDelete", key, fields: [field] }) === 1,
    claim: async (key, ttlMs) => {
      if (structures.exists(key)) return false;
      structures.setFlag(key, Date.now() + ttlMs);
      return true;
    },
    transaction: async <T extends readonly StoreOp[]>(ops: T) => ops.map((op) => structures.apply(op)) as never,
    ping: async () => {},
    // The Map is the caller's (or garbage): closing only stops using it.
    close: async () => {},
  };
}
