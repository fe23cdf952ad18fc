import type { StoreOp } from "./ops.js";

/** One server-side structure as the in-memory backend keeps it, with when it expires (epoch ms). */
export type Structure = { expiresAt?: number } & (
  | { kind: "list"; items: string[] }
  | { kind: "hash"; fields: Map<string, string> }
  | { kind: "set"; members: Set<string> }
  /** `ordered`: the members lowest score first, made when read and dropped when changed (reads far outnumber changes). */
  | { kind: "sorted"; scores: Map<string, number>; ordered?: string[] }
  | { kind: "flag" }
);

type Kind = Structure["kind"];
type Of<K extends Kind> = Extract<Structure, { kind: K }>;

/**
 * Lists, hashes, sets and sorted sets on Maps, with Redis's replies and
 * expiry: a key past its time is gone, and a collection emptied by a
 * removal is deleted (with its expiry), as Redis does. Every call runs to
 * its end without awaiting, so a batch of operations is atomic here.
 */
export class Structures {
  constructor(private readonly keys: Map<string, Structure> = new Map()) {}

  /** The live structure under `key`, or undefined; a structure of another kind is a caller's bug. */
  find<K extends Kind>(key: string, kind: K): Of<K> | undefined {
    const found = this.keys.get(key);
    if (!found) return undefined;
    if (found.expiresAt !== undefined && found.expiresAt <= Date.now()) {
      this.keys.delete(key);
      return undefined;
    }
    if (found.kind !== kind) throw new Error(`WRONGTYPE: ${key} holds a ${found.kind}, not a ${kind}`);
    return found as Of<K>;
  }

  /** The structure under `key`, made empty when there is none. */
  make<K extends Kind>(key: string, kind: K, empty: () => Of<K>): Of<K> {
    const found = this.find(key, kind);
    if (found) return found;
    const made = empty();
    this.keys.set(key, made);
    return made;
  }

  delete(key: string): boolean {
    const existed = this.exists(key);
    this.keys.delete(key);
    return existed;
  }

  exists(key: string): boolean {
    const found = this.keys.get(key);
    if (!found) return false;
    if (found.expiresAt !== undefined && found.expiresAt <= Date.now()) {
      this.keys.delete(key);
      return false;
    }
    return true;
  }

  setFlag(key: string, expiresAt: number): void {
    this.keys.set(key, { kind: "flag", expiresAt });
  }

  /** Carries out one operation; the reply is what Redis would answer. */
  apply(op: StoreOp): unknown {
    switch (op.op) {
      case "listPush": {
        // Nothing to add makes no key, as in Redis.
        if (op.values.length === 0) return this.find(op.key, "list")?.items.length ?? 0;
        const list = this.make(op.key, "list", () => ({ kind: "list", items: [] }));
        list.items.push(...op.values);
        return list.items.length;
      }
      case "listPushFront": {
        if (op.values.length === 0) return this.find(op.key, "list")?.items.length ?? 0;
        const list = this.make(op.key, "list", () => ({ kind: "list", items: [] }));
        list.items.unshift(...op.values);
        return list.items.length;
      }
      case "listKeepLast": {
        const list = this.find(op.key, "list");
        if (!list) return undefined;
        if (list.items.length > op.count) list.items.splice(0, list.items.length - Math.max(0, op.count));
        if (list.items.length === 0) this.keys.delete(op.key);
        return undefined;
      }
      case "expire": {
        if (!this.exists(op.key)) return false;
        this.keys.get(op.key)!.expiresAt = Date.now() + op.ttlMs;
        return true;
      }
      case "hashSet": {
        if (Object.keys(op.fields).length === 0) return 0;
        const hash = this.make(op.key, "hash", () => ({ kind: "hash", fields: new Map() }));
        let added = 0;
        for (const [field, value] of Object.entries(op.fields)) {
          if (!hash.fields.has(field)) added++;
          hash.fields.set(field, value);
        }
        return added;
      }
      case "hashDelete": {
        const hash = this.find(op.key, "hash");
        if (!hash) return 0;
        const removed = op.fields.filter((field) => hash.fields.delete(field)).length;
        if (hash.fields.size === 0) this.keys.delete(op.key);
        return removed;
      }
      case "hashAdd": {
        const hash = this.make(op.key, "hash", () => ({ kind: "hash", fields: new Map() }));
        const value = Number(hash.fields.get(op.field) ?? 0) + op.by;
        hash.fields.set(op.field, String(value));
        return value;
      }
      case "setAdd": {
        if (op.members.length === 0) return 0;
        const set = this.make(op.key, "set", () => ({ kind: "set", members: new Set() }));
        const before = set.members.size;
        for (const member of op.members) set.members.add(member);
        return set.members.size - before;
      }
      case "setRemove": {
        const set = this.find(op.key, "set");
        if (!set) return 0;
        const removed = op.members.filter((member) => set.members.delete(member)).length;
        if (set.members.size === 0) this.keys.delete(op.key);
        return removed;
      }
      case "sortedAdd": {
        const sorted = this.make(op.key, "sorted", () => ({ kind: "sorted", scores: new Map() }));
        const added = sorted.scores.has(op.member) ? 0 : 1;
        sorted.scores.set(op.member, op.score);
        sorted.ordered = undefined;
        return added;
      }
      case "sortedRemove": {
        const sorted = this.find(op.key, "sorted");
        if (!sorted) return 0;
        const removed = op.members.filter((member) => sorted.scores.delete(member)).length;
        if (removed > 0) sorted.ordered = undefined;
        if (sorted.scores.size === 0) this.keys.delete(op.key);
        return removed;
      }
      case "delete":
        return op.keys.filter((key) => this.delete(key)).length;
      case "listRange":
        return slice(this.find(op.key, "list")?.items ?? [], op.start, op.stop);
      case "listLength":
        return this.find(op.key, "list")?.items.length ?? 0;
      case "hashGetAll":
        return Object.fromEntries(this.find(op.key, "hash")?.fields ?? []);
      case "hashGetSome": {
        const fields = this.find(op.key, "hash")?.fields;
        return op.fields.map((field) => fields?.get(field));
      }
      case "hashLength":
        return this.find(op.key, "hash")?.fields.size ?? 0;
      case "setUnion": {
        const union = new Set<string>();
        for (const key of op.keys) for (const member of this.find(key, "set")?.members ?? []) union.add(member);
        return [...union];
      }
      case "sortedRange": {
        const sorted = this.find(op.key, "sorted");
        if (!sorted) return [];
        // Redis orders equal scores by member, bytewise.
        sorted.ordered ??= [...sorted.scores].sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0)).map(([member]) => member);
        const { ordered } = sorted;
        if (!op.highestFirst) return slice(ordered, op.start, op.stop);
        // Highest first: the same range counted from the other end.
        const { from, to } = bounds(ordered.length, op.start, op.stop);
        return from > to ? [] : ordered.slice(ordered.length - 1 - to, ordered.length - from).reverse();
      }
      case "sortedCount":
        return this.find(op.key, "sorted")?.scores.size ?? 0;
    }
  }
}

/** Items `start` to `stop` inclusive, with Redis's negative indexes. */
function slice<T>(items: readonly T[], start: number, stop: number): T[] {
  const { from, to } = bounds(items.length, start, stop);
  return from > to ? [] : items.slice(from, to + 1);
}

/** Redis's range indexes resolved against a length: `from > to` means empty. */
function bounds(length: number, start: number, stop: number): { from: number; to: number } {
  return {
    from: start < 0 ? Math.max(0, length + start) : start,
    to: stop < 0 ? length + stop : Math.min(stop, length - 1),
  };
}
