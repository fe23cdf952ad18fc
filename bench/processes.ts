/**
 * Several bot processes on one Redis as one bot: messages per second through
 * the whole bot with 1, 2, 3… processes (fake model, no delay), as ratios to
 * one process, and Redis commands per message. Every process handles the
 * same number of messages over its own channels; the clock runs from `go`
 * to the last process done.
 */
import { count } from "./settings.js";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { BenchEnvironment } from "./harness.js";
import { commandsProcessed } from "./redis-stats.js";
import { ratio, table } from "./stats.js";

export interface ProcessesSettings {
  /** Process counts compared; the first is the baseline. @defaultValue 1,2,3 (`BENCH_PROCESSES`) */
  counts: number[];
  /** Messages each process handles. @defaultValue 400 (`BENCH_PROCESS_MESSAGES`) */
  messages: number;
  /** Channels each process spreads its messages over. @defaultValue 8 (`BENCH_PROCESS_CHANNELS`) */
  channels: number;
}

export function readProcessesSettings(env: Record<string, string | undefined> = process.env): ProcessesSettings {
  const list = (env.BENCH_PROCESSES ?? "1,2,3").split(/[\s,]+/).filter(Boolean).map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_PROCESSES must list whole numbers ≥ 1, got "${env.BENCH_PROCESSES}".`);
  return { counts: list, messages: count(env, "BENCH_PROCESS_MESSAGES", 400, 1), channels: count(env, "BENCH_PROCESS_CHANNELS", 8, 1) };
}

export interface ProcessesResult {
  processes: number;
  messages: number;
  seconds: number;
  perSecond: number;
  redisCommandsPerMessage: number;
}

const workerPath = fileURLToPath(new URL("./process-worker.ts", import.meta.url));
const tsx = createRequire(import.meta.url).resolve("tsx");

function startWorker(id: number, env: BenchEnvironment, settings: ProcessesSettings): { child: ChildProcess; said(word: string): Promise<void> } {
  const child = spawn(process.execPath, ["--import", tsx, workerPath], {
    env: {
      ...process.env,
      BENCH_WORKER_ID: String(id),
      BENCH_WORKER_CHANNELS: String(settings.channels),
      BENCH_WORKER_MESSAGES: String(settings.messages),
      BENCH_OLLAMA_URL: env.ollama.url,
      BENCH_REDIS_URL: env.redis!.url,
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  const waiters: Array<{ word: string; resolve: () => void }> = [];
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      if (out.split("\n").includes(w.word)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`bench worker ${id} exited with ${code} before it was done`))));
  exited.catch(() => {});
  return {
    child,
    said: (word) =>
      Promise.race([
        new Promise<void>((resolve) => (out.split("\n").includes(word) ? resolve() : waiters.push({ word, resolve }))),
        exited,
      ]),
  };
}

export async function measureProcesses(env: BenchEnvironment, settings: ProcessesSettings): Promise<ProcessesResult[]> {
  if (!env.redis) throw new Error("the processes benchmark needs Redis");
  const results: ProcessesResult[] = [];
  for (const count of settings.counts) {
    await env.flushRedis();
    const workers = Array.from({ length: count }, (_, id) => startWorker(id, env, settings));
    try {
      await Promise.all(workers.map((w) => w.said("ready")));
      const commandsBefore = await commandsProcessed(env.redis.url);
      const started = performance.now();
      for (const w of workers) w.child.stdin!.write("go\n");
      await Promise.all(workers.map((w) => w.said("done")));
      const seconds = (performance.now() - started) / 1000;
      const commands = (await commandsProcessed(env.redis.url)) - commandsBefore - 1;
      const messages = count * settings.messages;
      results.push({ processes: count, messages, seconds, perSecond: messages / seconds, redisCommandsPerMessage: commands / messages });
    } finally {
      for (const w of workers) w.child.kill();
    }
    env.ollama.requests.length = 0;
  }
  return results;
}

export function processesTable(results: ProcessesResult[]): string {
  const base = results[0]!;
  return table(
    ["processes", "messages", "seconds", "messages/s", "ratio to 1", "redis cmds/msg"],
    results.map((r) => [String(r.processes), String(r.messages), r.seconds.toFixed(2), r.perSecond.toFixed(1), ratio(r.perSecond / base.perSecond), r.redisCommandsPerMessage.toFixed(1)]),
  );
}
