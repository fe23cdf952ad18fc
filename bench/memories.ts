/**
 * Benchmark 4: the time to handle one chat message in channels holding
 * 0, 100, 1,000 and 10,000 memories, measured round-robin across the
 * channels in one run; each size's median is compared with the channel
 * without memories.
 */
import { count } from "./settings.js";
import { performance } from "node:perf_hooks";
import type { MemoryBook } from "../src/store/memories.js";
import { promptText, startBot, timeBot, type BenchEnvironment } from "./harness.js";
import { commandsProcessed } from "./redis-stats.js";
import type { StoreKind } from "./settings.js";
import { ms, ratio, summarise, table, type Summary } from "./stats.js";

/** What the memories benchmark measures, from the environment. */
export interface MemoryBenchSettings {
  /** Memories a channel holds, one channel per size; the first is the baseline. @defaultValue 0,100,1000,10000 (`BENCH_MEMORY_SIZES`) */
  sizes: number[];
  /** Timed messages per size. @defaultValue 200 (`BENCH_MEMORY_MESSAGES`) */
  messages: number;
  /** Untimed messages per size first. @defaultValue 20 (`BENCH_MEMORY_WARMUP`) */
  warmup: number;
}

export function readMemoryBenchSettings(env: Record<string, string | undefined> = process.env): MemoryBenchSettings {
  const sizes = (env.BENCH_MEMORY_SIZES?.trim() || "0,100,1000,10000").split(/[\s,]+/).filter(Boolean).map((s) => Number(s.replace(/_/g, "")));
  if (sizes.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`BENCH_MEMORY_SIZES must be whole numbers, got "${env.BENCH_MEMORY_SIZES}".`);
  return {
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    messages: count(env, "BENCH_MEMORY_MESSAGES", 200, 1),
    warmup: count(env, "BENCH_MEMORY_WARMUP", 20, 0),
  };
}

export interface MemoryRow {
  /** Memories the channel held. */
  size: number;
  handle: Summary;
  /** Time to add the memories through the store API, in milliseconds. */
  prefillMs: number;
  /** Memories sharing a word with the message, on average: what its search reads and ranks. */
  matchingPerMessage: number;
  /** Commands Redis processed per message, on average (Redis only). */
  redisCommandsPerMessage?: number;
}

export interface MemoryResult {
  store: StoreKind;
  rows: MemoryRow[];
}

/** Memories added at once while pre-filling. */
const prefillBatch = 200;

export async function measureMemories(env: BenchEnvironment, store: StoreKind, opts: MemoryBenchSettings): Promise<MemoryResult> {
  const largest = opts.sizes.at(-1) ?? 0;
  const app = await startBot(env, { provider: "ollama", store });
  const room = app.services.config.memories.maxPerChannel;
  if (largest > room) throw new Error(`the largest channel (${largest} memories) is past memories.maxPerChannel (${room}) of bench/bench.yaml`);
  const channelOf = (size: number) => `console:bench-memories-${store}-${size}`;
  try {
    const prefillMs = new Map<number, number>();
    for (const size of opts.sizes) {
      const started = performance.now();
      await prefill(app.services.memories, channelOf(size), size);
      prefillMs.set(size, performance.now() - started);
      const held = (await app.services.memories.list(channelOf(size))).length;
      if (held !== size) throw new Error(`added ${size} memories but the channel holds ${held}`);
    }

    const samples = new Map<number, number[]>(opts.sizes.map((s) => [s, []]));
    const redisCommands = new Map<number, number>(opts.sizes.map((s) => [s, 0]));
    const redisUrl = store === "redis" ? env.redis?.url : undefined;
    for (let round = 0; round < opts.warmup + opts.messages; round++) {
      // Rotate which size goes first, so none always follows the same one.
      for (let k = 0; k < opts.sizes.length; k++) {
        const size = opts.sizes[(round + k) % opts.sizes.length]!;
        const counting = round >= opts.warmup && redisUrl !== undefined;
        const before = counting ? await commandsProcessed(redisUrl) : 0;
        const turn = await timeBot(app, env, "ollama", channelOf(size), promptText(round));
        // Less the INFO call that took the first reading.
        if (counting) redisCommands.set(size, redisCommands.get(size)! + (await commandsProcessed(redisUrl)) - before - 1);
        if (round >= opts.warmup) samples.get(size)!.push(turn.ms);
      }
    }
    const matching = new Map<number, number>();
    for (const size of opts.sizes) {
      let found = 0;
      for (let round = opts.warmup; round < opts.warmup + opts.messages; round++) {
        found += (await app.services.memories.search(channelOf(size), promptText(round), size + 1)).length;
      }
      matching.set(size, found / opts.messages);
    }
    return {
      store,
      rows: opts.sizes.map((size) => ({
        size,
        handle: summarise(samples.get(size)!),
        prefillMs: prefillMs.get(size)!,
        matchingPerMessage: matching.get(size)!,
        redisCommandsPerMessage: redisUrl ? redisCommands.get(size)! / opts.messages : undefined,
      })),
    };
  } finally {
    await app.stop();
  }
}

export function memoriesTable(results: readonly MemoryResult[]): string {
  const rows: string[][] = [];
  for (const result of results) {
    const base = result.rows[0]!.handle;
    for (const row of result.rows) {
      rows.push([
        result.store,
        row.size.toLocaleString("en"),
        `${ms(row.handle.medianMs)} ms`,
        `${ms(row.handle.p95Ms)} ms`,
        ratio(row.handle.medianMs / base.medianMs),
        ratio(row.handle.p95Ms / base.p95Ms),
        row.matchingPerMessage.toFixed(1),
        row.redisCommandsPerMessage === undefined ? "-" : row.redisCommandsPerMessage.toFixed(1),
        `${ms(row.prefillMs)} ms`,
      ]);
    }
  }
  const first = results[0]?.rows[0]?.size.toLocaleString("en") ?? "first";
  return table(["store", "memories", "median", "p95", `med / ${first}`, `p95 / ${first}`, "matching/msg", "redis cmds/msg", "pre-fill"], rows);
}

/** Adds `size` memories of the kind people teach a bot, in parallel batches. */
async function prefill(memories: MemoryBook, channelKey: string, size: number): Promise<void> {
  for (let start = 0; start < size; start += prefillBatch) {
    const batch = Array.from({ length: Math.min(prefillBatch, size - start) }, (_, k) => start + k);
    await Promise.all(batch.map((i) => memories.add(channelKey, { text: fact(i), authorKey: "console:bench", authorName: "bench" })));
  }
}

const people = "Ana Bo Chen Dara Emil Femi Gita Hugo Ines Jon Kira Lars Mei Nils Omar Pia Quinn Rosa Sami Tove".split(" ");
const topics = [
  "the staging server",
  "the release train",
  "the mobile app",
  "the billing service",
  "the office wifi",
  "the on-call rota",
  "the design review",
  "the Frankfurt cluster",
  "the coffee machine",
  "the quarterly report",
  "the support inbox",
  "the weekend deploy freeze",
];
const claims = ["is owned by", "was last changed by", "should be asked about by", "has a runbook written by", "is reviewed every Tuesday by", "needs a sign-off from"];

/**
 * A varied fact: `Ticket 1042: the billing service is owned by Rosa.`
 * One in a hundred also shares a word with the benchmark's prompts (which
 * ask why the sky is blue), as some facts of a real channel would with a
 * real question: those are the memories a prompt's search reads and ranks.
 */
function fact(i: number): string {
  const shared = i % 100 === 0 ? " Its status light is blue." : "";
  return `Ticket ${1_000 + i}: ${topics[i % topics.length]} ${claims[Math.floor(i / topics.length) % claims.length]} ${people[i % people.length]}.${shared}`;
}
