/**
 * The operations on server-side structures (lists, hashes, sets, sorted
 * sets) that the stores combine into transactions: each is one Redis
 * command, and a transaction of them runs as one MULTI/EXEC, so no other
 * client's command lands between two of them. The in-memory backend carries
 * them out on Maps with the same replies.
 */
export type StoreOp = WriteOp | ReadOp;

/** Operations that change data. */
export type WriteOp =
  /** RPUSH: appends to the list's end. Reply: the new length. */
  | { op: "listPush"; key: string; values: readonly string[] }
  /** LPUSH of the values reversed: puts them, in their order, before the list's first item. Reply: the new length. */
  | { op: "listPushFront"; key: string; values: readonly string[] }
  /** LTRIM -count -1: keeps the list's last `count` items. */
  | { op: "listKeepLast"; key: string; count: number }
  /** PEXPIRE: the key expires `ttlMs` milliseconds from now. Reply: whether the key exists. */
  | { op: "expire"; key: string; ttlMs: number }
  /** HSET. Reply: how many fields are new. */
  | { op: "hashSet"; key: string; fields: Readonly<Record<string, string>> }
  /** HDEL. Reply: how many fields were there. */
  | { op: "hashDelete"; key: string; fields: readonly string[] }
  /** HINCRBY (whole numbers). Reply: the field's new value. */
  | { op: "hashAdd"; key: string; field: string; by: number }
  /** SADD. Reply: how many members are new. */
  | { op: "setAdd"; key: string; members: readonly string[] }
  /** SREM. Reply: how many members were there. */
  | { op: "setRemove"; key: string; members: readonly string[] }
  /** ZADD. Reply: 1 when the member is new. */
  | { op: "sortedAdd"; key: string; score: number; member: string }
  /** ZREM. Reply: how many members were there. */
  | { op: "sortedRemove"; key: string; members: readonly string[] }
  /** DEL. Reply: how many keys existed. */
  | { op: "delete"; keys: readonly string[] };

/** Operations that only read. */
export type ReadOp =
  /** LRANGE, Redis's indexes: negative counts from the end, both ends inclusive. */
  | { op: "listRange"; key: string; start: number; stop: number }
  /** LLEN. */
  | { op: "listLength"; key: string }
  /** HGETALL: `{}` for a missing hash. */
  | { op: "hashGetAll"; key: string }
  /** HMGET: undefined for a missing field. */
  | { op: "hashGetSome"; key: string; fields: readonly string[] }
  /** HLEN. */
  | { op: "hashLength"; key: string }
  /** SUNION: every member of any of the sets, each once, in no particular order. */
  | { op: "setUnion"; keys: readonly string[] }
  /** ZRANGE (lowest score first) or ZRANGE REV; Redis's indexes, both ends inclusive. */
  | { op: "sortedRange"; key: string; start: number; stop: number; highestFirst?: boolean }
  /** ZCARD. */
  | { op: "sortedCount"; key: string };

/** What each operation resolves with. */
export type ReplyOf<O extends StoreOp> = O extends { op: "listRange" | "setUnion" | "sortedRange" }
  ? string[]
  : O extends { op: "hashGetAll" }
    ? Record<string, string>
    : O extends { op: "hashGetSome" }
      ? Array<string | undefined>
      : O extends { op: "listKeepLast" }
        ? void
        : O extends { op: "expire" }
          ? boolean
          : number;

/** The replies of a transaction, one per operation, in order. */
export type RepliesOf<T extends readonly StoreOp[]> = { -readonly [K in keyof T]: ReplyOf<T[K]> };

const writes = new Set<StoreOp["op"]>([
  "listPush",
  "listPushFront",
  "listKeepLast",
  "expire",
  "hashSet",
  "hashDelete",
  "hashAdd",
  "setAdd",
  "setRemove",
  "sortedAdd",
  "sortedRemove",
  "delete",
]);

/** Whether the operation changes data (a timed-out transaction with one may still land). */
export function isWrite(op: StoreOp): op is WriteOp {
  return writes.has(op.op);
}

/** The same operation on prefixed keys. */
export function prefixOp<O extends StoreOp>(op: O, prefix: string): O {
  if ("keys" in op) return { ...op, keys: op.keys.map((key) => prefix + key) };
  return { ...op, key: prefix + op.key };
}
