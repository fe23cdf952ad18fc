/**
 * `parley --shards auto|N`: runs every Discord shard of this machine, one
 * bot process each, under discord.js's ShardingManager. Each process gets
 * its DISCORD_SHARDS and DISCORD_SHARD_COUNT; Telegram runs only in shard
 * 0's process (one poller, one webhook port), and a health port, when set,
 * is PARLEY_HTTP_PORT plus the shard id.
 */
import { createRequire } from "node:module";
import { extname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startShards } from "../adapters/discord/shard-manager.js";
import { ConfigError, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { configSecrets } from "../config/secrets.js";
import { createLogger } from "../log.js";

type Env = Record<string, string | undefined>;

/** Runs until SIGINT or SIGTERM; returns the exit code (2 for a bad setting or argument). */
export async function runShards(arg: string | undefined, env: Env, err: NodeJS.WritableStream): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env, []);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`parley: ${e.message}\n`);
    return 2;
  }
  const shardCount = parseShardCount(arg, config);
  const refusal = shardCount === undefined ? `--shards takes a number of shards or auto, got "${arg}"` : refuse(config);
  if (refusal || shardCount === undefined) {
    err.write(`parley: ${refusal}\n`);
    return 2;
  }

  const log = createLogger(config.logLevel, configSecrets(config), process.stderr, { pretty: process.stderr.isTTY });
  const { httpPort } = config;
  let running;
  try {
    running = await startShards({
      token: config.discord.token!,
      apiUrl: config.discord.apiUrl,
      shardCount,
      ...botScript(),
      envFor: (id, count) => ({
        DISCORD_SHARDS: String(id),
        DISCORD_SHARD_COUNT: String(count),
        // An empty variable wins over .env and means unset.
        ...(id === 0 ? {} : { TELEGRAM_BOT_TOKEN: "" }),
        ...(httpPort === undefined ? {} : { PARLEY_HTTP_PORT: String(httpPort + id) }),
      }),
      stopGraceMs: config.shutdownGraceMs,
      log,
    });
  } catch (e) {
    log.fatal({ err: e }, "could not start the shards");
    err.write(`parley: could not start the shards: ${(e as Error).message}\n`);
    return 1;
  }
  log.info({ count: running.count }, "discord: every shard is running");

  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, "stopping the shard processes");
      void running.stop().then(() => resolve(0));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  const failed = running.failed.then(async () => {
    await running.stop();
    return 1;
  });
  return Promise.race([stopped, failed]);
}

/** `--shards` alone takes DISCORD_SHARD_COUNT, else Discord's recommendation. */
function parseShardCount(arg: string | undefined, config: Config): number | "auto" | undefined {
  if (arg === undefined) return config.discord.shardCount ?? "auto";
  if (/^auto$/i.test(arg)) return "auto";
  return /^[1-9]\d*$/.test(arg) ? Number(arg) : undefined;
}

function refuse(config: Config): string | undefined {
  if (!config.discord.token) return "--shards runs Discord shards and needs DISCORD_TOKEN";
  if (config.discord.shards) return "--shards runs every shard on this machine; DISCORD_SHARDS chooses them per process instead: unset one of them";
  return undefined;
}

/** The bot's main script beside this file: `src/main.ts` through tsx, or the built `dist/src/main.js` with plain node. */
function botScript(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const extension = extname(here);
  const file = fileURLToPath(new URL(`../main${extension}`, import.meta.url));
  if (extension !== ".ts") return { file, execArgv: [] };
  // tsx by path, so a shard starts whatever the working folder.
  return { file, execArgv: ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href] };
}
