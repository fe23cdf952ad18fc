/**
 * Upgrading from Parley 0.1.0, whose stores kept history and memories as
 * keyv values: the old keys are written here raw, byte for byte as 0.1.0
 * wrote them, and a new start must show the same conversation and the same
 * memories (with their ids), once, whatever the number of processes.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createStores, type Stores } from "../../src/store/index.js";
import { moveLegacyLayout } from "../../src/store/legacy-layout.js";
import { memoryId } from "../../src/store/memory-ids.js";
import { redisCommand, redisKeys, startRedis, type TestRedis } from "../support/redis.js";

const silent = pino({ level: "silent" });
const day = 24 * 3_600_000;

let redis: TestRedis;
const open: Stores[] = [];
beforeAll(async () => {
  // A server of its own: these tests scan and flush the whole database, and one freezes it.
  redis = await startRedis({ ownServer: true });
});
afterAll(async () => {
  await redis?.stop();
});
beforeEach(async () => {
  await redisCommand(redis.url, "FLUSHDB");
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((stores) => stores.close()));
});

async function start(options: Partial<Parameters<typeof createStores>[0]> = {}): Promise<Stores> {
  const stores = await createStores({ log: silent, redisUrl: redis.url, ...options });
  open.push(stores);
  return stores;
}

/** A value as keyv wrote it: JSON of `{ value, expires }`, strings starting with ":" escaped with one more. */
function keyvValue(value: unknown, expires?: number): string {
  const escaped = JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === "string" && v.startsWith(":") ? `:${v}` : v)) as unknown;
  return JSON.stringify(expires === undefined ? { value: escaped } : { value: escaped, expires });
}

/** 0.1.0's key for a channel's data: the channel key with `%` and `#` escaped, then `#` and the parts. */
function oldKey(namespace: string, channelKey: string, ...parts: Array<string | number>): string {
  return [`parley:${namespace}:${channelKey.replaceAll("%", "%25").replaceAll("#", "%23")}`, ...parts].join("#");
}

/** Writes a channel's history as 0.1.0 did: a record, and one key per turn from `head` on. */
async function writeOldHistory(
  channelKey: string,
  turns: ReadonlyArray<{ role: "user" | "assistant"; content: string; author?: string; at: number }>,
  record: { head?: number; summary?: string; summarisedBefore?: number } = {},
): Promise<void> {
  const head = record.head ?? 0;
  const expires = Date.now() + 30 * day;
  for (const [i, turn] of turns.entries()) {
    if (i < head) continue;
    await redisCommand(redis.url, "SET", oldKey("history", channelKey, "turn", i), keyvValue(turn, expires), "PX", String(30 * day));
  }
  const value = { head, tail: turns.length, summary: record.summary, summarisedBefore: record.summarisedBefore };
  await redisCommand(redis.url, "SET", oldKey("history", channelKey, "record"), keyvValue(value, expires), "PX", String(30 * day));
}

async function writeOldMemories(channelKey: string, memories: ReadonlyArray<{ id: string; text: string; createdAt: number }>): Promise<void> {
  const list = memories.map((m) => ({ id: m.id, text: m.text, authorKey: "telegram:42", authorName: "Ann", createdAt: m.createdAt }));
  await redisCommand(redis.url, "SET", oldKey("memories", channelKey, "memories"), keyvValue(list));
}

const t0 = Date.now() - 3 * day;
const talk = [
  { role: "user" as const, content: "first question", author: "Ann", at: t0 },
  { role: "assistant" as const, content: "first answer", at: t0 + 1 },
  { role: "user" as const, content: "second question", author: "Bob", at: t0 + 2 },
  { role: "assistant" as const, content: ":) second answer", at: t0 + 3 },
  { role: "user" as const, content: "third question", author: "Ann", at: t0 + 4 },
  { role: "assistant" as const, content: "third answer", at: t0 + 5 },
];

describe("data kept by Parley 0.1.0", () => {
  it("is there after the upgrade: the conversation, its summary, the memories with their ids; the old keys are gone", async () => {
    const channel = "discord:1#odd%key";
    await writeOldHistory(channel, talk, { summary: "Ann and Bob said hello.", summarisedBefore: 2 });
    await writeOldMemories(channel, [
      { id: "k3f9a", text: "Oslo is cold in winter", createdAt: t0 },
      { id: "0zq7x", text: ":) Bob likes emoticons", createdAt: t0 + 10 },
    ]);
    await writeOldHistory("telegram:7", talk.slice(0, 2));

    const stores = await start();
    const window = await stores.history.window(channel, 20);
    expect(window.summary).toBe("Ann and Bob said hello.");
    // The two turns folded into the summary stay folded; the rest keep their order, authors and times.
    expect(window.turns.map((t) => t.turn)).toEqual(talk.slice(2));
    expect((await stores.history.recent("telegram:7", 20)).map((t) => t.content)).toEqual(["first question", "first answer"]);

    expect(await stores.memories.list(channel)).toEqual([
      { id: "k3f9a", text: "Oslo is cold in winter", authorKey: "telegram:42", authorName: "Ann", createdAt: t0 },
      { id: "0zq7x", text: ":) Bob likes emoticons", authorKey: "telegram:42", authorName: "Ann", createdAt: t0 + 10 },
    ]);
    expect((await stores.memories.get(channel, "#K3F9A "))?.text).toBe("Oslo is cold in winter");
    expect((await stores.memories.search(channel, "is it cold in Oslo?", 5)).map((m) => m.id)).toEqual(["k3f9a"]);

    // Nothing of the old layout is left, and what moved expires like the rest.
    expect(await redisKeys(redis.url, "*#record")).toEqual([]);
    expect(await redisKeys(redis.url, "*#turn#*")).toEqual([]);
    expect(await redisKeys(redis.url, "*#memories")).toEqual([]);
    const ttl = Number((await redisCommand(redis.url, "PTTL", oldKey("history", channel, "turns"))).slice(1));
    expect(ttl).toBeGreaterThan(29 * day);
    expect(await redisCommand(redis.url, "GET", "parley:upgrades:layout-2")).toBe("$4\r\ndone\r\n");

    // The moved data works like any other: new turns come after it, a new memory after the old ones.
    await stores.history.append(channel, [
      { role: "user", content: "fourth question", author: "Ann", at: Date.now() },
      { role: "assistant", content: "fourth answer", at: Date.now() },
    ]);
    expect((await stores.history.recent(channel, 3)).map((t) => t.content)).toEqual(["third answer", "fourth question", "fourth answer"]);
    const added = await stores.memories.add(channel, { text: "Bergen is rainy", authorKey: "telegram:42", authorName: "Ann" });
    expect((await stores.memories.list(channel)).map((m) => m.id)).toEqual(["k3f9a", "0zq7x", added.id]);
    expect((await stores.memories.remove(channel, "k3f9a"))?.text).toBe("Oslo is cold in winter");
    expect(await stores.memories.search(channel, "Oslo", 5)).toEqual([]);
  });

  it("is moved once: a later start finds the database marked and moves nothing", async () => {
    await writeOldHistory("telegram:7", talk);
    const first = await start();
    await first.close();
    const again = await start();
    const report = await moveLegacyLayout({ store: again.kv, history: again.history, memories: again.memories, log: silent });
    expect(report).toEqual({ histories: 0, turns: 0, memoryLists: 0, memories: 0 });
    expect((await again.history.recent("telegram:7", 20)).map((t) => t.content)).toEqual(talk.map((t) => t.content));
  });

  it("is moved by one of three processes starting at once; each starts only once the data is there, and nothing is doubled", async () => {
    for (let c = 0; c < 30; c++) {
      await writeOldHistory(`telegram:${c}`, talk);
      await writeOldMemories(`telegram:${c}`, [{ id: "k3f9a", text: `fact of chat ${c}`, createdAt: t0 }]);
    }
    const three = await Promise.all([start(), start(), start()]);
    for (const stores of three) {
      for (const c of [0, 17, 29]) {
        expect((await stores.history.recent(`telegram:${c}`, 20)).map((t) => t.content)).toEqual(talk.map((t) => t.content));
        expect((await stores.memories.list(`telegram:${c}`)).map((m) => m.text)).toEqual([`fact of chat ${c}`]);
      }
    }
    expect(await redisKeys(redis.url, "*#record")).toEqual([]);
  });

  it("is moved by another process when the one moving it died: its lease runs out", async () => {
    await writeOldHistory("telegram:7", talk);
    // What a mover that died at once leaves behind: its lease, for 600 ms more.
    await redisCommand(redis.url, "SET", "parley:upgrades:layout-2", "a-dead-process", "PX", "600");
    const lines: string[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const started = Date.now();
    const stores = await start({ log });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(lines.join("")).toContain("another Parley process is moving stored data to the new layout; waiting for it");
    expect((await stores.history.recent("telegram:7", 20)).map((t) => t.content)).toEqual(talk.map((t) => t.content));
  });

  it("goes before what the new layout already holds, and a new memory's id steps over an old one", async () => {
    const stores = await start();
    const now = Date.now();
    await stores.history.append("telegram:7", [
      { role: "user", content: "new question", author: "Ann", at: now },
      { role: "assistant", content: "new answer", at: now },
    ]);
    const kept = await stores.memories.add("telegram:7", { text: "kept in the new layout", authorKey: "telegram:1", authorName: "Cy" });
    expect(kept.id).toBe(memoryId(1));
    await redisCommand(redis.url, "DEL", "parley:upgrades:layout-2");
    await writeOldHistory("telegram:7", talk.slice(0, 2), { summary: "An old summary." });
    // 0.1.0 drew ids at random: one of them is the id the channel's counter gives next.
    await writeOldMemories("telegram:7", [{ id: memoryId(2), text: "an old fact", createdAt: t0 }]);

    const report = await moveLegacyLayout({ store: stores.kv, history: stores.history, memories: stores.memories, log: silent });
    expect(report).toEqual({ histories: 1, turns: 2, memoryLists: 1, memories: 1 });
    const window = await stores.history.window("telegram:7", 20);
    expect(window.summary).toBe("An old summary.");
    expect(window.turns.map((t) => t.turn.content)).toEqual(["first question", "first answer", "new question", "new answer"]);
    expect(window.turns.map((t) => t.index)).toEqual([0, 1, 2, 3]);
    expect((await stores.memories.list("telegram:7")).map((m) => m.text)).toEqual(["an old fact", "kept in the new layout"]);

    const next = await stores.memories.add("telegram:7", { text: "added after the move", authorKey: "telegram:1", authorName: "Cy" });
    expect(next.id).toBe(memoryId(3));
    expect((await stores.memories.get("telegram:7", memoryId(2)))?.text).toBe("an old fact");
    expect((await stores.memories.list("telegram:7")).map((m) => m.text)).toEqual(["an old fact", "kept in the new layout", "added after the move"]);
  });

  it("leaves a value it cannot read where it is, says so, and moves the others", async () => {
    await redisCommand(redis.url, "SET", oldKey("memories", "telegram:1", "memories"), "{not json");
    await writeOldMemories("telegram:2", [{ id: "k3f9a", text: "readable", createdAt: t0 }]);
    const lines: string[] = [];
    const log = pino({ level: "info" }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const stores = await start({ log });
    expect((await stores.memories.list("telegram:2")).map((m) => m.text)).toEqual(["readable"]);
    expect(await redisKeys(redis.url, "*#memories")).toEqual([oldKey("memories", "telegram:1", "memories")]);
    expect(lines.join("")).toContain("could not move a value kept by an older Parley; left as it was");
  });

  it("is moved when Redis answers again, if it did not answer at the start", async () => {
    await writeOldHistory("telegram:7", talk);
    redis.pause();
    let stores: Stores;
    try {
      stores = await start({ connectTimeoutMs: 300, operationTimeoutMs: 300, probeIntervalMs: 100 });
    } finally {
      redis.resume();
    }
    const deadline = Date.now() + 10_000;
    let contents: string[] = [];
    while (Date.now() < deadline) {
      contents = await stores.history.recent("telegram:7", 20).then(
        (turns) => turns.map((t) => t.content),
        () => [],
      );
      if (contents.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(contents).toEqual(talk.map((t) => t.content));
  });
});
