import type { Backend } from "./backend.js";

/** A hash as the in-memory backend keeps it: its fields and when it expires (epoch ms). */
interface StoredHash {
  fields: Record<string, string>;
  expiresAt?: number;
}

/**
 * Keeps values in a Map inside this process: nothing survives a restart.
 * Expiry of keyv's values is left to keyv, which stamps each value and drops
 * it when read after its time; hashes and claims carry their own expiry.
 * Every operation runs to its end without awaiting, so it is atomic here.
 *
 * @param values - the Map to keep values in; pass the same Map to a second
 *   store to see the first one's data (tests simulate a restart this way).
 */
export function createMemoryBackend(values: Map<string, string> = new Map()): Backend {
  function readHash(key: string): StoredHash | undefined {
    const raw = values.get(key);
    if (raw === undefined) return undefined;
    const hash = JSON.parse(raw) as StoredHash;
    if (hash.expiresAt !== undefined && hash.expiresAt <= Date.now()) {
      values.delete(key);
      return undefined;
    }
    return hash;
  }
  const writeHash = (key: string, hash: StoredHash) => values.set(key, JSON.stringify(hash));

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
        const hash = readHash(key) ?? { fields: {} };
        const after: Record<string, number> = {};
        for (const [field, by] of Object.entries(add)) {
          after[field] = Number(hash.fields[field] ?? 0) + by;
          hash.fields[field] = String(after[field]);
        }
        if (ttlMs !== undefined) hash.expiresAt = now + ttlMs;
        writeHash(key, hash);
        return after;
      });
    },
    hashGetAll: async (keys) => keys.map((key) => ({ ...readHash(key)?.fields })),
    hashGet: async (fields) => fields.map(({ key, field }) => readHash(key)?.fields[field]),
    hashSet: async (key, field, value) => {
      const hash = readHash(key) ?? { fields: {} };
      hash.fields[field] = value;
      writeHash(key, hash);
    },
    hashDelete: async (key, field) => {
      const hash = readHash(key);
      if (!hash || !(field in hash.fields)) return false;
      delete hash.fields[field];
      if (Object.keys(hash.fields).length === 0) values.delete(key);
      else writeHash(key, hash);
      return true;
    },
    claim: async (key, ttlMs) => {
      if (readHash(key)) return false;
      writeHash(key, { fields: {}, expiresAt: Date.now() + ttlMs });
      return true;
    },
    ping: async () => {},
    // The Map is the caller's (or garbage): closing only stops using it.
    close: async () => {},
  };
}
