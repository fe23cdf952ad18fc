/**
 * Benchmark 2: the time to handle one chat message in channels whose stored
 * history starts at different sizes (100 to 100,000 turns), measured
 * round-robin across the channels in one run; each size's median is
 * compared with the smallest size's.
 */
import { performance } from "node:perf_hooks";
import type { ChannelHistory } from "../src/store/history.js";
import type { HistoryTurn } from "../src/store/types.js";
import { startBot, timeBot, promptText, type BenchEnvironment } from "./harness.js";
import { commandsProcessed } from "./redis-stats.js";
import type { StoreKind } from "./settings.js";
import { summarise, type Summary } from "./stats.js";

export interface GrowthRow {
  /** Stored turns the channel held before the first timed message. */
  size: number;
  handle: Summary;
  /** Time to pre-fill the channel through the store API, in milliseconds. */
  prefillMs: number;
  /** Model calls per message, on average (summary folds add one), to show every size did the same work. */
  modelCallsPerMessage: number;
  /** Commands Redis processed per message, on average (Redis only): flat if the store's work does not grow. */
  redisCommandsPerMessage?: number;
}

export interface GrowthResult {
  store: StoreKind;
  rows: GrowthRow[];
}

export interface GrowthOptions {
  store: StoreKind;
  /** Starting history sizes, ascending; the first is the baseline. */
  sizes: number[];
  /** Timed messages per size. */
  messages: number;
  /** Untimed messages per size first. */
  warmup: number;
}

/** Turns per `append` call while pre-filling: one store round trip each. */
const prefillBatch = 1_000;

export async function measureGrowth(env: BenchEnvironment, opts: GrowthOptions): Promise<GrowthResult> {
  const largest = opts.sizes.at(-1) ?? 0;
  // Room for every pre-filled turn; a channel at the bound drops its oldest turns as new ones come, as it would in use.
  const app = await startBot(env, { provider: "ollama", store: opts.store, maxStoredMessages: Math.max(largest, 1_000) });
  const channelOf = (size: number) => `console:bench-growth-${opts.store}-${size}`;
  try {
    const prefillMs = new Map<number, number>();
    for (const size of opts.sizes) {
      const started = performance.now();
      await prefill(app.services.history, channelOf(size), size);
      prefillMs.set(size, performance.now() - started);
      const stored = await app.services.history.size(channelOf(size));
      if (stored !== size) throw new Error(`pre-filled ${size} turns but the channel holds ${stored}`);
    }

    const samples = new Map<number, number[]>(opts.sizes.map((s) => [s, []]));
    const modelCalls = new Map<number, number>(opts.sizes.map((s) => [s, 0]));
    const redisCommands = new Map<number, number>(opts.sizes.map((s) => [s, 0]));
    const redisUrl = opts.store === "redis" ? env.redis?.url : undefined;
    for (let round = 0; round < opts.warmup + opts.messages; round++) {
      // Rotate which size goes first, so none always follows the same one.
      for (let k = 0; k < opts.sizes.length; k++) {
        const size = opts.sizes[(round + k) % opts.sizes.length]!;
        const counting = round >= opts.warmup && redisUrl !== undefined;
        const before = counting ? await commandsProcessed(redisUrl) : 0;
        const turn = await timeBot(app, env, "ollama", channelOf(size), promptText(round));
        // Less the INFO call that took the first reading.
        if (counting) redisCommands.set(size, redisCommands.get(size)! + (await commandsProcessed(redisUrl)) - before - 1);
        if (round >= opts.warmup) {
          samples.get(size)!.push(turn.ms);
          modelCalls.set(size, modelCalls.get(size)! + turn.modelCalls);
        }
      }
    }
    return {
      store: opts.store,
      rows: opts.sizes.map((size) => ({
        size,
        handle: summarise(samples.get(size)!),
        prefillMs: prefillMs.get(size)!,
        modelCallsPerMessage: modelCalls.get(size)! / opts.messages,
        redisCommandsPerMessage: redisUrl ? redisCommands.get(size)! / opts.messages : undefined,
      })),
    };
  } finally {
    await app.stop();
  }
}

/** Fills a channel with `size` turns of alternating question and answer, in batches. */
async function prefill(history: ChannelHistory, channelKey: string, size: number): Promise<void> {
  const at = Date.now();
  for (let start = 0; start < size; start += prefillBatch) {
    const turns: HistoryTurn[] = [];
    for (let i = start; i < Math.min(start + prefillBatch, size); i++) {
      turns.push(
        i % 2 === 0
          ? { role: "user", content: promptText(i), author: "bench", at }
          : { role: "assistant", content: `Echo: ${promptText(i - 1)}`, at },
      );
    }
    await history.append(channelKey, turns);
  }
}
