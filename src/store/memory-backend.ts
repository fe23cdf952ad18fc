import type { Backend } from "./backend.js";

/**
 * Keeps values in a Map inside this process: nothing survives a restart.
 * Expiry is left to keyv, which stamps each value and drops it when read
 * after its time.
 *
 * @param values - the Map to keep values in; pass the same Map to a second
 *   store to see the first one's data (tests simulate a restart this way).
 */
export function createMemoryBackend(values: Map<string, string> = new Map()): Backend {
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
    ping: async () => {},
    // The Map is the caller's (or garbage): closing only stops using it.
    close: async () => {},
  };
}
