/**
 * `parley --shards`: every shard of one machine under discord.js's own
 * ShardingManager, one bot process per shard. The manager forks the bot's
 * main script with SHARDING_MANAGER, SHARDS and SHARD_COUNT in its
 * environment, waits for each shard's ready, respawns a process that dies,
 * and on stop lets each process drain as on SIGTERM.
 */
import type { ChildProcess } from "node:child_process";
import { ShardingManager, type Shard } from "discord.js";
import type { Logger } from "pino";
import { ParleyError } from "../../core/errors.js";
import { fetchGatewayInfo } from "./gateway-info.js";

/**
 * Discord lets `max_concurrency` shards identify per 5 s; spawning one every
 * this many milliseconds divided by it keeps inside that with a margin
 * (consecutive shard ids fall in different identify buckets).
 */
const IDENTIFY_WINDOW_MS = 5_500;

/** How long one shard's process may take from spawn to its shard's ready, in milliseconds. */
const SHARD_READY_TIMEOUT_MS = 60_000;

export interface ShardManagerOptions {
  token: string;
  /** DISCORD_API_URL; asked for the recommended count and passed on to the shards through their environment. */
  apiUrl?: string;
  /** Shards to run, or `auto` for Discord's recommendation. */
  shardCount: number | "auto";
  /** The bot's main script, run once per shard. */
  file: string;
  /** Node options for the shards' processes (`--import tsx` when running from the TypeScript sources). */
  execArgv: string[];
  /** Environment for shard `id`'s process on top of the manager's own. */
  envFor(id: number, count: number): Record<string, string>;
  /** How long a shard's process may take to finish its answers when stopped, in milliseconds; then it is killed. */
  stopGraceMs: number;
  log: Logger;
}

export interface RunningShards {
  /** The shard count in use. */
  count: number;
  /** Resolves once a shard process died for good: its respawn failed. */
  failed: Promise<Error>;
  /** Stops respawning, SIGTERMs every shard's process and waits for them to exit. */
  stop(): Promise<void>;
}

/** Spawns every shard (resolves once all are ready); a shard that cannot start stops the others and rejects. */
export async function startShards(options: ShardManagerOptions): Promise<RunningShards> {
  const { log } = options;
  const info = await fetchGatewayInfo({ token: options.token, apiUrl: options.apiUrl });
  const count = options.shardCount === "auto" ? info.recommendedShards : options.shardCount;
  const manager = new ShardingManager(options.file, { token: options.token, totalShards: count, execArgv: options.execArgv, respawn: true, mode: "process" });
  let reportFailure: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));

  manager.on("shardCreate", (shard: Shard) => {
    // DISCORD_* beside discord.js's SHARDS: the shard's process reads its settings the one way every process does.
    Object.assign(shard.env as Record<string, string>, options.envFor(shard.id, count));
    shard.on("ready", () => log.info({ shard: shard.id, count }, "discord: shard process ready"));
    shard.on("death", (child) => log.warn({ shard: shard.id, exitCode: (child as ChildProcess).exitCode, respawn: manager.respawn }, "discord: shard process exited"));
    shard.on("error", (error) => {
      log.error({ shard: shard.id, reason: error.message }, "discord: shard process could not be respawned");
      reportFailure(error);
    });
  });

  const stop = async () => {
    manager.respawn = false;
    await Promise.all(manager.shards.map((shard) => stopProcess(shard.process, options.stopGraceMs)));
  };

  const delayMs = Math.ceil(IDENTIFY_WINDOW_MS / info.maxConcurrency);
  log.info({ count, recommended: info.recommendedShards, delayMs }, "discord: spawning shard processes");
  try {
    await manager.spawn({ amount: count, delay: delayMs, timeout: SHARD_READY_TIMEOUT_MS });
  } catch (error) {
    await stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ParleyError("platform_error", "A shard's process did not start.", { detail: `A shard's process did not start: ${reason}` });
  }
  return { count, failed, stop };
}

/** SIGTERM, then SIGKILL after `graceMs` plus a little for the process's own exit. */
async function stopProcess(child: ChildProcess | null, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs + 2_000);
  await exited;
  clearTimeout(timer);
}
