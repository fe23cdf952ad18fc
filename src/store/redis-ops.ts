import type { StoreOp } from "./ops.js";

/** One operation as a Redis command, or the reply it has without asking (an empty SADD is an error in Redis, and means nothing). */
export type Encoded = { args: string[] } | { local: unknown };

/** The Redis command for an operation. */
export function encodeOp(op: StoreOp): Encoded {
  switch (op.op) {
    case "listPush":
      // RPUSH of nothing is an error in Redis; its length is still the answer.
      return { args: op.values.length === 0 ? ["LLEN", op.key] : ["RPUSH", op.key, ...op.values] };
    case "listPushFront":
      return { args: op.values.length === 0 ? ["LLEN", op.key] : ["LPUSH", op.key, ...[...op.values].reverse()] };
    case "listKeepLast":
      return { args: ["LTRIM", op.key, String(-Math.max(1, op.count)), "-1"] };
    case "expire":
      return { args: ["PEXPIRE", op.key, String(Math.max(1, Math.round(op.ttlMs)))] };
    case "hashSet": {
      const pairs = Object.entries(op.fields).flat();
      return pairs.length === 0 ? { local: 0 } : { args: ["HSET", op.key, ...pairs] };
    }
    case "hashDelete":
      return op.fields.length === 0 ? { local: 0 } : { args: ["HDEL", op.key, ...op.fields] };
    case "hashAdd":
      return { args: ["HINCRBY", op.key, op.field, String(Math.trunc(op.by))] };
    case "setAdd":
      return op.members.length === 0 ? { local: 0 } : { args: ["SADD", op.key, ...op.members] };
    case "setRemove":
      return op.members.length === 0 ? { local: 0 } : { args: ["SREM", op.key, ...op.members] };
    case "sortedAdd":
      return { args: ["ZADD", op.key, String(op.score), op.member] };
    case "sortedRemove":
      return op.members.length === 0 ? { local: 0 } : { args: ["ZREM", op.key, ...op.members] };
    case "delete":
      return op.keys.length === 0 ? { local: 0 } : { args: ["DEL", ...op.keys] };
    case "listRange":
      return emptyRange(op) ? { local: [] } : { args: ["LRANGE", op.key, String(op.start), String(op.stop)] };
    case "listLength":
      return { args: ["LLEN", op.key] };
    case "hashGetAll":
      return { args: ["HGETALL", op.key] };
    case "hashGetSome":
      return op.fields.length === 0 ? { local: [] } : { args: ["HMGET", op.key, ...op.fields] };
    case "hashLength":
      return { args: ["HLEN", op.key] };
    case "setUnion":
      return op.keys.length === 0 ? { local: [] } : { args: ["SUNION", ...op.keys] };
    case "sortedRange":
      if (emptyRange(op)) return { local: [] };
      return { args: ["ZRANGE", op.key, String(op.start), String(op.stop), ...(op.highestFirst ? ["REV"] : [])] };
    case "sortedCount":
      return { args: ["ZCARD", op.key] };
  }
}

/** A range that is empty whatever the length (`1..0`, the stores' way of asking for nothing): not worth a command. */
function emptyRange(op: { start: number; stop: number }): boolean {
  return op.start >= 0 && op.stop >= 0 && op.start > op.stop;
}

/** Redis's raw reply to an operation, in the shape the in-memory backend gives. */
export function decodeReply(op: StoreOp, reply: unknown): unknown {
  switch (op.op) {
    case "listKeepLast":
      return undefined;
    case "expire":
      return Number(reply) === 1;
    case "hashGetAll":
      return toRecord(reply);
    case "hashGetSome":
      return (reply as Array<string | null>).map((value) => value ?? undefined);
    case "listRange":
    case "setUnion":
    case "sortedRange":
      return (reply as unknown[]).map(String);
    default:
      return Number(reply);
  }
}

/** HGETALL's reply: a flat list of fields and values (RESP2), or a map (RESP3). */
function toRecord(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1]);
    return record;
  }
  if (reply instanceof Map) return Object.fromEntries([...reply].map(([k, v]) => [String(k), String(v)]));
  return { ...(reply as Record<string, string>) };
}
