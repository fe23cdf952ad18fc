/**
 * What a dead model server costs a user: the time to answer when the first
 * provider refuses connections, or hangs until its timeout, and the backup
 * of the fallback chain answers, as ratios to a healthy call measured in the
 * same run. Each case is measured with the cool-down off (every message
 * pays for the dead server: retries, backoff, timeouts) and once the
 * cool-down has opened (the dead server is skipped).
 *
 * The whole bot answers (dispatcher, chat command, router, the real ollama
 * and openai clients) against the fakes: primary is the fake Ollama, backup
 * the fake OpenAI-compatible server. Retries use the shipped defaults
 * (2 tries, 250 ms base backoff).
 *
 * `npx tsx bench/fallback.ts` prints the table; `measureFallback` and
 * `fallbackTable` are for `bench/run.ts`.
 */
import { count } from "./settings.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { startApp, type App } from "../src/app.js";
import { loadConfig } from "../src/config/load.js";
import { createLogger } from "../src/log.js";
import { startFakeOllama, unusedPort } from "../test/fakes/ollama.js";
import { startFakeOpenAi } from "../test/fakes/openai.js";
import { benchMessage, CollectingReply } from "./harness.js";
import { ms, ratio, summarise, table, type Summary } from "./stats.js";

type Env = Record<string, string | undefined>;

export interface FallbackSettings {
  /** Timed messages per fast case (healthy, refused). @defaultValue 100 (`BENCH_FALLBACK_MESSAGES`) */
  messages: number;
  /** Timed messages per hanging case without cool-down, each waiting out the timeout twice. @defaultValue 5 (`BENCH_FALLBACK_HANG_MESSAGES`) */
  hangMessages: number;
  /** The primary's timeout in the hanging case, in milliseconds. @defaultValue 1000 (`BENCH_FALLBACK_TIMEOUT_MS`) */
  timeoutMs: number;
  /** Untimed messages before each case. @defaultValue 10 (`BENCH_FALLBACK_WARMUP`) */
  warmup: number;
}

export function readFallbackSettings(env: Env = process.env): FallbackSettings {
  return {
    messages: count(env, "BENCH_FALLBACK_MESSAGES", 100, 1),
    hangMessages: count(env, "BENCH_FALLBACK_HANG_MESSAGES", 5, 1),
    timeoutMs: count(env, "BENCH_FALLBACK_TIMEOUT_MS", 1000, 50),
    warmup: count(env, "BENCH_FALLBACK_WARMUP", 10, 0),
  };
}

/** One measured case. */
export interface FallbackCase {
  name: string;
  summary: Summary;
  /** Median of this case over the healthy primary's median. */
  ratio: number;
}

export interface FallbackResult {
  settings: FallbackSettings;
  cases: FallbackCase[];
}


const BACKUP_NOTE = /^Echo: .*\n\n\*\(answered by backup\/gpt-4o-mini because primary\/llama3\.2 was unavailable\)\*$/s;

interface Scenario {
  name: string;
  primaryUrl: string;
  primaryTimeoutMs: number;
  /** Cool-down opened before timing: the dead primary is skipped. */
  cooled: boolean;
  /** Who must answer: the primary (no note) or the backup (with the note). */
  answeredBy: "primary" | "backup";
  messages: number;
  /** Makes the primary hang (sticky) or heals it. */
  hang: boolean;
  /** The backup is the default: the fallback's own speed, for context. */
  backupOnly?: boolean;
}

async function startScenarioBot(dir: string, scenario: Scenario, backupUrl: string): Promise<App> {
  const path = join(dir, `${scenario.name.replace(/\W+/g, "-")}.yaml`);
  writeFileSync(
    path,
    stringify({
      llm: {
        providers: {
          primary: { kind: "ollama", baseUrl: scenario.primaryUrl, timeoutMs: scenario.primaryTimeoutMs, models: ["llama3.2"] },
          backup: { kind: "openai", baseUrl: backupUrl, timeoutMs: 10_000, models: ["gpt-4o-mini"] },
        },
        default: scenario.backupOnly ? "backup/gpt-4o-mini" : "primary/llama3.2",
        fallback: scenario.backupOnly ? [] : ["backup/gpt-4o-mini"],
        // Off: every message pays for the dead server. On: the first failure opens it for the rest of the run.
        cooldown: scenario.cooled ? { failures: 1, ms: 3_600_000 } : { failures: 1_000_000, ms: 1 },
      },
      limits: { perMinute: 0, perHour: 0, perDay: 0, tokensPerDay: 0 },
      logLevel: "silent",
    }),
  );
  const config = loadConfig({ PARLEY_CONFIG: path });
  return startApp({ config, log: createLogger("silent", []), adapters: [] });
}

async function answerOnce(app: App, scenario: Scenario, i: number): Promise<number> {
  const text = `Message ${i}: why is the sky blue during the day and red at sunset?`;
  const reply = new CollectingReply();
  const started = performance.now();
  // A channel per message: the history stays the same size in every case.
  await app.dispatcher.handle(benchMessage(`console:fallback-${scenario.name}-${i}`, text), reply);
  const elapsed = performance.now() - started;
  const expected = scenario.answeredBy === "primary" ? reply.answer === `Echo: ${text}` : BACKUP_NOTE.test(reply.answer);
  if (!expected || reply.sent.length > 0) {
    throw new Error(`${scenario.name}: unexpected answer ${JSON.stringify(reply.sent[0] ?? reply.answer).slice(0, 300)}`);
  }
  return elapsed;
}

/** Runs every case against fresh fakes; progress goes to `progress`. */
export async function measureFallback(settings: FallbackSettings, progress: (text: string) => void = () => {}): Promise<FallbackResult> {
  const ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
  const openai = await startFakeOpenAi({ models: ["gpt-4o-mini"] });
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-fallback-"));
  const refusedUrl = `http://127.0.0.1:${await unusedPort()}`;
  const healthyTimeoutMs = 10_000;
  const scenarios: Scenario[] = [
    { name: "healthy primary (baseline)", primaryUrl: ollama.url, primaryTimeoutMs: healthyTimeoutMs, cooled: false, answeredBy: "primary", messages: settings.messages, hang: false },
    { name: "healthy backup alone", primaryUrl: ollama.url, primaryTimeoutMs: healthyTimeoutMs, cooled: false, answeredBy: "primary", messages: settings.messages, hang: false, backupOnly: true },
    { name: "primary refused, no cool-down", primaryUrl: refusedUrl, primaryTimeoutMs: healthyTimeoutMs, cooled: false, answeredBy: "backup", messages: settings.messages, hang: false },
    { name: "primary refused, cooling down", primaryUrl: refusedUrl, primaryTimeoutMs: healthyTimeoutMs, cooled: true, answeredBy: "backup", messages: settings.messages, hang: false },
    { name: `primary hangs (${settings.timeoutMs} ms timeout), no cool-down`, primaryUrl: ollama.url, primaryTimeoutMs: settings.timeoutMs, cooled: false, answeredBy: "backup", messages: settings.hangMessages, hang: true },
    { name: `primary hangs (${settings.timeoutMs} ms timeout), cooling down`, primaryUrl: ollama.url, primaryTimeoutMs: settings.timeoutMs, cooled: true, answeredBy: "backup", messages: settings.messages, hang: true },
  ];
  const cases: FallbackCase[] = [];
  try {
    let baselineMs: number | undefined;
    for (const scenario of scenarios) {
      ollama.setFault(scenario.hang ? { kind: "hang", sticky: true } : null);
      const app = await startScenarioBot(dir, scenario, openai.baseURL);
      try {
        // The backup-only bot answers from the backup without a note: check it as a plain echo.
        const checked = scenario.backupOnly ? { ...scenario, answeredBy: "primary" as const } : scenario;
        // With the cool-down on, one failure opens it; warm-up includes it. Hanging warm-ups would only wait.
        const warmup = scenario.cooled ? Math.max(1, settings.warmup) : scenario.hang ? 0 : settings.warmup;
        progress(`fallback: ${scenario.name}: ${warmup} warm-up + ${scenario.messages} timed`);
        for (let i = 0; i < warmup; i++) await answerOnce(app, checked, -1 - i);
        const samples: number[] = [];
        for (let i = 0; i < scenario.messages; i++) samples.push(await answerOnce(app, checked, i));
        const summary = summarise(samples);
        baselineMs ??= summary.medianMs;
        cases.push({ name: scenario.name, summary, ratio: summary.medianMs / baselineMs });
        ollama.requests.length = 0;
        openai.requests.length = 0;
      } finally {
        await app.stop();
      }
    }
  } finally {
    ollama.setFault(null);
    await Promise.allSettled([ollama.close(), openai.close()]);
  }
  return { settings, cases };
}

export function fallbackTable(result: FallbackResult): string {
  return table(
    ["case", "n", "median", "p95", "median / healthy"],
    result.cases.map((c) => [c.name, String(c.summary.count), `${ms(c.summary.medianMs)} ms`, `${ms(c.summary.p95Ms)} ms`, ratio(c.ratio)]),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await measureFallback(readFallbackSettings(), (text) => process.stderr.write(`bench: ${text}\n`));
  process.stdout.write(`Time to answer when the first provider is down (whole bot, fakes; retries at their defaults)\n\n${fallbackTable(result)}\n`);
}
