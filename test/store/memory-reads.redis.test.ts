/**
 * What a prompt's memory search asks Redis for, watched with MONITOR on a
 * connection of its own: in a channel of 1,000 memories it reads the ids its
 * words find, the newest few, and those memories only.
 */
import net from "node:net";
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createStores, type Stores } from "../../src/store/index.js";
import { redisCommand, startRedis, type TestRedis } from "../support/redis.js";

let redis: TestRedis;
let stores: Stores;
beforeAll(async () => {
  // A server of its own: MONITOR would show other test files' commands too.
  redis = await startRedis({ ownServer: true });
  stores = await createStores({ log: pino({ level: "silent" }), redisUrl: redis.url });
});
afterAll(async () => {
  await stores?.close();
  await redis?.stop();
});

/** Every command Redis runs while `during` does, as argument lists (MONITOR's output, parsed). */
async function monitor(url: string, during: () => Promise<unknown>): Promise<string[][]> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let output = "";
  socket.on("data", (data) => (output += data.toString("utf8")));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("connect", () => socket.write("MONITOR\r\n"));
    const started = setInterval(() => {
      if (output.startsWith("+OK")) {
        clearInterval(started);
        resolve();
      }
    }, 5);
  });
  await during();
  // A marker: once MONITOR shows it, every command before it has been shown.
  await redisCommand(url, "ECHO", "monitor-done");
  while (!output.includes('"monitor-done"')) await new Promise((r) => setTimeout(r, 5));
  socket.destroy();
  return output
    .split("\r\n")
    .filter((line) => /^\+\d+\.\d+ \[/.test(line) && !line.includes('"monitor-done"'))
    .map((line) => [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!));
}

it("reads only the memories matching the message, and the newest few, in a channel of 1,000", { timeout: 60_000 }, async () => {
  const ch = "telegram:-100321";
  const author = { authorKey: "telegram:42", authorName: "Ann" };
  // Tags t0z … t99z, none a prefix of another: each is in 10 memories.
  const tag = (i: number) => `t${i % 100}z`;
  for (let start = 0; start < 1_000; start += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, k) => stores.memories.add(ch, { text: `note${start + k}q is filed under ${tag(start + k)}`, ...author })));
  }
  const all = await stores.memories.list(ch);
  expect(all).toHaveLength(1_000);
  const matching = new Set(all.filter((m) => m.text.endsWith(" t42z")).map((m) => m.id));
  expect(matching.size).toBe(10);
  const newest = new Set(all.slice(-5).map((m) => m.id));

  let chosen: Awaited<ReturnType<Stores["memories"]["forPrompt"]>> = [];
  const commands = await monitor(redis.url, async () => {
    chosen = await stores.memories.forPrompt(ch, "Tell me what sits in t42z please", 5);
  });

  expect(chosen).toHaveLength(5);
  for (const memory of chosen) expect(matching.has(memory.id)).toBe(true);
  const names = commands.map((c) => c[0]!.toUpperCase());
  // Nothing reads the whole channel.
  for (const whole of ["HGETALL", "HVALS", "HKEYS", "SMEMBERS", "SCAN", "KEYS"]) expect(names).not.toContain(whole);
  const reads = commands.filter((c) => c[0]!.toUpperCase() === "HMGET");
  expect(reads).toHaveLength(1);
  const readIds = reads[0]!.slice(2);
  expect(new Set(readIds)).toEqual(new Set([...matching, ...newest]));
  const ranges = commands.filter((c) => c[0]!.toUpperCase() === "ZRANGE");
  expect(ranges).toEqual([[expect.stringMatching(/^zrange$/i), `parley:memories:${ch}#order`, "0", "4", expect.stringMatching(/^rev$/i)]]);
  // Two round trips: the ids (in one transaction), then the memories.
  expect(names).toEqual(["MULTI", "SUNION", "ZRANGE", "HLEN", "EXEC", "HMGET"]);

  // recall's search: the matching memories only, and no id of the others.
  let found: typeof chosen = [];
  const recallCommands = await monitor(redis.url, async () => {
    found = await stores.memories.search(ch, "t42z", 10);
  });
  expect(new Set(found.map((m) => m.id))).toEqual(matching);
  // It asks for none of the newest: no ZRANGE at all.
  expect(recallCommands.map((c) => c[0]!.toUpperCase())).toEqual(["MULTI", "SUNION", "HLEN", "EXEC", "HMGET"]);
  expect(recallCommands.filter((c) => c[0]!.toUpperCase() === "HMGET").map((c) => new Set(c.slice(2)))).toEqual([matching]);
});
