/**
 * What a run measures and how much, from the environment, so a quick run is
 * `BENCH_MESSAGES=200 BENCH_GROWTH_SIZES=100,10000 npm run bench`.
 */

export type ProviderKind = "ollama" | "openai";
export type StoreKind = "memory" | "redis";

export interface BenchSettings {
  /** Timed messages per configuration of the overhead benchmark, each paired with a direct call. @defaultValue 1_000 (`BENCH_MESSAGES`) */
  messages: number;
  /** Untimed message pairs before timing starts. @defaultValue 200 (`BENCH_WARMUP`) */
  warmup: number;
  /** Providers compared in the overhead benchmark. @defaultValue ollama,openai (`BENCH_PROVIDERS`) */
  providers: ProviderKind[];
  /** Stores under the bot in both benchmarks. @defaultValue memory,redis (`BENCH_STORES`) */
  stores: StoreKind[];
  /** Stored turns a channel starts with, one channel per size; the first is the baseline. @defaultValue 100,1000,10000,100000 (`BENCH_GROWTH_SIZES`) */
  growthSizes: number[];
  /** Timed messages per history size. @defaultValue 200 (`BENCH_GROWTH_MESSAGES`) */
  growthMessages: number;
  /** Untimed messages per history size before timing starts. @defaultValue 20 (`BENCH_GROWTH_WARMUP`) */
  growthWarmup: number;
  /** Which benchmarks run. @defaultValue overhead,growth,fallback,memories,processes,embedded (`BENCH_SUITES`; processes needs Redis) */
  suites: Array<"overhead" | "growth" | "fallback" | "memories" | "processes" | "embedded">;
}

type Env = Record<string, string | undefined>;

export function readSettings(env: Env = process.env): BenchSettings {
  return {
    messages: count(env, "BENCH_MESSAGES", 1_000, 1),
    warmup: count(env, "BENCH_WARMUP", 200, 0),
    providers: choices(env, "BENCH_PROVIDERS", ["ollama", "openai"] as const),
    stores: choices(env, "BENCH_STORES", ["memory", "redis"] as const),
    growthSizes: sizes(env, "BENCH_GROWTH_SIZES", [100, 1_000, 10_000, 100_000]),
    growthMessages: count(env, "BENCH_GROWTH_MESSAGES", 200, 1),
    growthWarmup: count(env, "BENCH_GROWTH_WARMUP", 20, 0),
    suites: choices(env, "BENCH_SUITES", ["overhead", "growth", "fallback", "memories", "processes", "embedded"] as const),
  };
}

/** A whole number of at least `min` from the variable `name` (`_` allowed as a separator), else `fallback`. */
export function count(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}, got "${raw}".`);
  return n;
}

function sizes(env: Env, name: string, fallback: number[]): number[] {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const list = raw.split(/[\s,]+/).filter(Boolean).map((s) => Number(s.replace(/_/g, "")));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`${name} must be a comma-separated list of whole numbers, got "${raw}".`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

function choices<T extends string>(env: Env, name: string, all: readonly T[]): T[] {
  const raw = env[name]?.trim();
  if (!raw) return [...all];
  const picked = raw.split(/[\s,]+/).filter(Boolean);
  const bad = picked.filter((p) => !all.includes(p as T));
  if (bad.length > 0 || picked.length === 0) throw new Error(`${name} takes any of ${all.join(", ")}; got "${raw}".`);
  return all.filter((a) => picked.includes(a));
}
