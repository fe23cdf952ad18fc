/**
 * The in-memory backend's lists, hashes, sets and sorted sets answer as
 * Redis does: the same random transactions run on both, reply for reply.
 */
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Backend } from "../../src/store/backend.js";
import { createMemoryBackend } from "../../src/store/memory-backend.js";
import type { StoreOp } from "../../src/store/ops.js";
import { createRedisBackend } from "../../src/store/redis-backend.js";
import { redisCommand, startRedis, type TestRedis } from "../support/redis.js";

let redis: TestRedis;
let onRedis: Backend;
beforeAll(async () => {
  redis = await startRedis({ ownServer: true });
  onRedis = await createRedisBackend({ url: redis.url, log: pino({ level: "silent" }), connectTimeoutMs: 2_000 });
});
afterAll(async () => {
  await onRedis?.close();
  await redis?.stop();
});

/** A deterministic random sequence (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomOp(next: () => number): StoreOp {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const index = () => Math.floor(next() * 14) - 7;
  const some = (prefix: string, max: number) => Array.from({ length: Math.floor(next() * max) }, () => `${prefix}${Math.floor(next() * 8)}`);
  // One pool of keys per kind, so no operation meets a key of another kind.
  const list = pick(["l1", "l2"]);
  const hash = pick(["h1", "h2"]);
  const set = pick(["s1", "s2", "s3"]);
  const sorted = pick(["z1", "z2"]);
  const ops: Array<() => StoreOp> = [
    () => ({ op: "listPush", key: list, values: some("v", 4) }),
    () => ({ op: "listPushFront", key: list, values: some("w", 4) }),
    () => ({ op: "listKeepLast", key: list, count: 1 + Math.floor(next() * 6) }),
    () => ({ op: "listRange", key: list, start: index(), stop: index() }),
    () => ({ op: "listLength", key: list }),
    () => ({ op: "hashSet", key: hash, fields: Object.fromEntries(some("f", 3).map((f) => [f, String(next())])) }),
    () => ({ op: "hashDelete", key: hash, fields: some("f", 3) }),
    () => ({ op: "hashAdd", key: pick(["c1", "c2"]), field: pick(["a", "b"]), by: Math.floor(next() * 10) - 3 }),
    () => ({ op: "hashGetAll", key: pick([hash, "c1"]) }),
    () => ({ op: "hashGetSome", key: hash, fields: some("f", 4) }),
    () => ({ op: "hashLength", key: hash }),
    () => ({ op: "setAdd", key: set, members: some("m", 4) }),
    () => ({ op: "setRemove", key: set, members: some("m", 3) }),
    () => ({ op: "setUnion", keys: [set, pick(["s1", "s2", "s3", "nothing"])] }),
    () => ({ op: "sortedAdd", key: sorted, score: Math.floor(next() * 5), member: `m${Math.floor(next() * 8)}` }),
    () => ({ op: "sortedRemove", key: sorted, members: some("m", 3) }),
    () => ({ op: "sortedRange", key: sorted, start: index(), stop: index(), highestFirst: next() < 0.5 }),
    () => ({ op: "sortedCount", key: sorted }),
    () => ({ op: "expire", key: pick([list, hash, set, sorted, "gone"]), ttlMs: 60_000 }),
    () => ({ op: "delete", keys: [pick([list, hash, set, sorted, "gone"])] }),
  ];
  return pick(ops)();
}

/** Set members come back in no particular order: compare them sorted. */
function comparable(op: StoreOp, reply: unknown): unknown {
  return op.op === "setUnion" ? [...(reply as string[])].sort() : reply;
}

it("answers 2,000 random operations, in transactions of 1 to 5, as Redis does", { timeout: 60_000 }, async () => {
  await redisCommand(redis.url, "FLUSHDB");
  const inMemory = createMemoryBackend();
  const next = random(42);
  for (let t = 0; t < 500; t++) {
    const ops = Array.from({ length: 1 + Math.floor(next() * 5) }, () => randomOp(next));
    const [mine, theirs] = await Promise.all([inMemory.transaction(ops), onRedis.transaction(ops)]);
    expect(ops.map((op, i) => comparable(op, mine[i])), JSON.stringify(ops)).toEqual(ops.map((op, i) => comparable(op, theirs[i])));
  }
});

it("expires a structure after its time, as Redis does", async () => {
  const inMemory = createMemoryBackend();
  for (const backend of [inMemory, onRedis]) {
    await backend.transaction([
      { op: "listPush", key: "short", values: ["a"] },
      { op: "expire", key: "short", ttlMs: 50 },
    ]);
  }
  await new Promise((r) => setTimeout(r, 120));
  for (const backend of [inMemory, onRedis]) {
    expect(await backend.transaction([{ op: "listLength", key: "short" }, { op: "expire", key: "short", ttlMs: 10 }])).toEqual([0, false]);
  }
});
