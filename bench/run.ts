/**
 * `npm run bench`: the bot's own cost per chat message, as ratios to
 * baselines measured in the same run. See bench/README.md.
 *
 * Tables go to stdout, progress to stderr.
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import { embeddedHeading, embeddedTable, measureEmbedded, readEmbeddedBenchSettings } from "./embedded.js";
import { fallbackTable, measureFallback, readFallbackSettings } from "./fallback.js";
import { measureGrowth, type GrowthResult } from "./growth.js";
import { measureMemories, memoriesTable, readMemoryBenchSettings } from "./memories.js";
import { startEnvironment, type BenchEnvironment } from "./harness.js";
import { measureOverhead, type OverheadResult } from "./overhead.js";
import { measureProcesses, processesTable, readProcessesSettings } from "./processes.js";
import { readSettings, type BenchSettings } from "./settings.js";
import { ms, ratio, table } from "./stats.js";

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function runOverhead(env: BenchEnvironment, settings: BenchSettings): Promise<OverheadResult[]> {
  const results: OverheadResult[] = [];
  for (const provider of settings.providers) {
    for (const store of settings.stores) {
      progress(`overhead ${provider}/${store}: ${settings.warmup} warm-up + ${settings.messages} timed pairs`);
      await env.flushRedis();
      results.push(await measureOverhead(env, { provider, store, messages: settings.messages, warmup: settings.warmup }));
    }
  }
  return results;
}

async function runGrowth(env: BenchEnvironment, settings: BenchSettings): Promise<GrowthResult[]> {
  const results: GrowthResult[] = [];
  for (const store of settings.stores) {
    progress(`history growth ${store}: sizes ${settings.growthSizes.join(", ")}, ${settings.growthWarmup} warm-up + ${settings.growthMessages} timed each`);
    await env.flushRedis();
    results.push(
      await measureGrowth(env, {
        store,
        sizes: settings.growthSizes,
        messages: settings.growthMessages,
        warmup: settings.growthWarmup,
      }),
    );
  }
  await env.flushRedis();
  return results;
}

function overheadTable(results: OverheadResult[]): string {
  return table(
    ["provider", "store", "direct med", "direct p95", "bot med", "bot p95", "bot/direct med", "bot/direct p95"],
    results.map((r) => [
      r.provider,
      r.store,
      `${ms(r.direct.medianMs)} ms`,
      `${ms(r.direct.p95Ms)} ms`,
      `${ms(r.bot.medianMs)} ms`,
      `${ms(r.bot.p95Ms)} ms`,
      ratio(r.bot.medianMs / r.direct.medianMs),
      ratio(r.bot.p95Ms / r.direct.p95Ms),
    ]),
  );
}

/** Where the bot's extra time goes: the work behind each message. */
function overheadDetailTable(results: OverheadResult[]): string {
  return table(
    ["provider", "store", "bot-direct med", "model calls/msg", "1-call med", "1-call p95", "1-call/direct med", "1-call/direct p95", "redis cmds/msg"],
    results.map((r) => {
      const single = r.botSingleCall;
      return [
        r.provider,
        r.store,
        `${ms(r.bot.medianMs - r.direct.medianMs)} ms`,
        r.modelCallsPerMessage.toFixed(2),
        single ? `${ms(single.medianMs)} ms` : "-",
        single ? `${ms(single.p95Ms)} ms` : "-",
        single ? ratio(single.medianMs / r.direct.medianMs) : "-",
        single ? ratio(single.p95Ms / r.direct.p95Ms) : "-",
        r.redisCommandsPerMessage === undefined ? "-" : r.redisCommandsPerMessage.toFixed(1),
      ];
    }),
  );
}

function growthTable(results: GrowthResult[]): string {
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
        row.modelCallsPerMessage.toFixed(2),
        row.redisCommandsPerMessage === undefined ? "-" : row.redisCommandsPerMessage.toFixed(1),
        `${ms(row.prefillMs)} ms`,
      ]);
    }
  }
  const first = results[0]?.rows[0]?.size.toLocaleString("en") ?? "first";
  return table(
    ["store", "stored turns", "median", "p95", `med / ${first}`, `p95 / ${first}`, "model calls/msg", "redis cmds/msg", "pre-fill"],
    rows,
  );
}

async function main(): Promise<void> {
  const settings = readSettings();
  const cpus = os.cpus();
  console.log(
    `Parley bench, ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${os.platform()} ${os.arch()}, ` +
      `${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown CPU"}, load average ${os.loadavg()[0]!.toFixed(2)} at start`,
  );
  const started = performance.now();
  const env = await startEnvironment(settings.stores.includes("redis"));
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress("interrupted; stopping the servers");
    void env.close().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    if (settings.suites.includes("overhead")) {
      const results = await runOverhead(env, settings);
      console.log(
        `\n1. One chat message through the whole bot vs the same request sent directly with the provider's client` +
          `\n   (${settings.messages} messages per row after ${settings.warmup} warm-up, bot and direct alternating; times per message)\n`,
      );
      console.log(overheadTable(results));
      console.log(
        `\n   Behind each bot message: extra time, model calls (a second one when old turns are folded into the summary),` +
          `\n   times of the messages that made one model call only ("1-call"), and Redis commands.\n`,
      );
      console.log(overheadDetailTable(results));
    }
    if (settings.suites.includes("growth")) {
      const results = await runGrowth(env, settings);
      console.log(
        `\n2. Handling one chat message (Ollama) as the channel's stored history grows` +
          `\n   (${settings.growthMessages} messages per size after ${settings.growthWarmup} warm-up, sizes round-robin; ratios to the smallest size)\n`,
      );
      console.log(growthTable(results));
    }
    if (settings.suites.includes("fallback")) {
      const result = await measureFallback(readFallbackSettings(), progress);
      console.log(
        `\n3. Answering when the first provider is down: refused, or hanging until its timeout, with and without` +
          `\n   the cool-down that skips a failing provider; ratios to a healthy call\n`,
      );
      console.log(fallbackTable(result));
    }
    if (settings.suites.includes("memories")) {
      const memorySettings = readMemoryBenchSettings();
      const results = [];
      for (const store of settings.stores) {
        progress(`memories ${store}: sizes ${memorySettings.sizes.join(", ")}, ${memorySettings.warmup} warm-up + ${memorySettings.messages} timed each`);
        await env.flushRedis();
        results.push(await measureMemories(env, store, memorySettings));
      }
      await env.flushRedis();
      console.log(
        `\n4. Handling one chat message (Ollama) as the channel's memories grow` +
          `\n   (${memorySettings.messages} messages per size after ${memorySettings.warmup} warm-up, sizes round-robin; ratios to the first size)\n`,
      );
      console.log(memoriesTable(results));
    }
    if (settings.suites.includes("processes") && env.redis) {
      const processSettings = readProcessesSettings();
      progress(`processes: ${processSettings.counts.join(", ")} bot processes on one Redis, ${processSettings.messages} messages each`);
      const results = await measureProcesses(env, processSettings);
      await env.flushRedis();
      console.log(
        `\n5. Several bot processes on one Redis as one bot (fake Ollama, no delay): messages per second` +
          `\n   (${processSettings.messages} messages per process over ${processSettings.channels} channels each; ratios to one process)\n`,
      );
      console.log(processesTable(results));
    }
    if (settings.suites.includes("embedded")) {
      const result = await measureEmbedded(readEmbeddedBenchSettings(), progress);
      console.log(`\n6. ${embeddedHeading(result)}\n`);
      console.log(embeddedTable(result));
    }
    console.log(`\nTotal ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  } finally {
    await env.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

main().then(
  () => reportLingering(),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
    reportLingering();
  },
);

/**
 * Everything is closed by now, so the process should end by itself. If some
 * handle still keeps it alive, say so and exit rather than hang: the timer
 * is unref'd, so it never delays a clean exit.
 */
function reportLingering(): void {
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles?.() ?? [];
    const kinds = handles.map((h) => (h as object).constructor?.name ?? typeof h);
    console.error(`bench: finished, but something still keeps the process alive (${kinds.join(", ") || "unknown"}); exiting.`);
    process.exit(process.exitCode ?? 1);
  }, 5_000).unref();
}
