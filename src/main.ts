import { startApp } from "./app.js";
import { ConfigError, loadConfig } from "./config/load.js";
import type { Config } from "./config/schema.js";
import { configSecrets } from "./config/secrets.js";
import type { Adapter } from "./core/adapter.js";
import { createConsoleAdapter, type ConsoleAdapter } from "./adapters/console/index.js";
import { createLogger } from "./log.js";
import { loadDotEnv } from "./env-file.js";
import { countMessages, noInputExitCode, noInputNotice } from "./no-input.js";
import { chooseFirstRunModel } from "./first-run.js";
import { downloadEmbeddedModels } from "./llm/embedded-setup.js";

/** The adapters whose tokens are set; the console when none is (or `--console`). */
async function chooseAdapters(config: Config): Promise<Adapter[]> {
  const adapters: Adapter[] = [];
  if (config.telegram.token) {
    const { createTelegramAdapter } = await import("./adapters/telegram/index.js");
    const { telegram } = config;
    adapters.push(
      createTelegramAdapter({
        token: telegram.token!,
        apiRoot: telegram.apiRoot,
        webhook: telegram.webhookUrl ? { url: telegram.webhookUrl, secretToken: telegram.webhookSecret, port: telegram.webhookPort } : undefined,
        chatLockMs: telegram.chatLockMs,
        conflictCheckSec: telegram.conflictCheckSec,
      }),
    );
  }
  if (config.discord.token) {
    const { createDiscordAdapter } = await import("./adapters/discord/index.js");
    const { discord } = config;
    adapters.push(
      createDiscordAdapter({
        token: discord.token!,
        apiUrl: discord.apiUrl,
        guildId: discord.guildId,
        prefix: config.prefixes.find((p) => p !== "/") ?? "!",
        moderatorPermission: discord.moderatorPermission,
        moderatorRoleIds: discord.moderatorRoleIds,
        shardCount: discord.shardCount,
        shards: discord.shards,
      }),
    );
  }
  if (adapters.length === 0 || config.console) adapters.push(createConsoleAdapter());
  return adapters;
}

/** npm hands its own copy of a signal to the bot: two within this many milliseconds are one. */
const SAME_SIGNAL_MS = 500;

/**
 * SIGINT and SIGTERM stop the bot: no new messages, answers in flight
 * finished, then exit 0; past `graceMs` it quits anyway. A second signal
 * (not npm's echo of the first) quits at once.
 */
function stopOnSignals(stop: () => Promise<void>, graceMs: number, log: ReturnType<typeof createLogger>): void {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt !== undefined) {
      if (now - firstAt < SAME_SIGNAL_MS) return;
      log.warn({ signal }, "second signal: quitting without waiting for answers in flight");
      process.exit(1);
    }
    firstAt = now;
    log.info({ signal, graceMs }, "stopping: finishing the answers in flight");
    setTimeout(() => {
      log.warn({ graceMs }, "answers still in flight after the shutdown grace period; quitting");
      process.exit(0);
    }, graceMs).unref();
    void stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "could not stop cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function main(): Promise<void> {
  // Before the config is read, so .env settings count; variables already set win.
  loadDotEnv();
  let config: Config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`parley: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  // Nothing configured and no Ollama answering: the default small model, inside the bot, or a word on how to get one.
  const firstRun = await chooseFirstRunModel(process.env, config, { input: process.stdin, output: process.stderr });
  if (firstRun.use === "none") {
    process.stderr.write(firstRun.message);
    process.exit(noInputExitCode);
  }
  if (firstRun.use === "embedded") {
    config.llm.provider = "embedded";
    config.llm.embeddedModel = firstRun.model;
  }
  // A model given by URL or hf: URI is downloaded once, before the bot answers; later starts find it.
  if (!(await downloadEmbeddedModels(config, process.env, process.stderr))) process.exit(1);
  const secrets = configSecrets(config);
  const adapters = await chooseAdapters(config);
  // Whether the terminal said anything: with no token and no input there is nothing to do.
  const messagesRead = adapters.every((a) => a.platform === "console") ? countMessages(adapters[0]!) : () => 0;
  // Someone typing in a terminal wants answers, not JSON lines between them.
  const typing = adapters.every((a) => a.platform === "console") && process.stdin.isTTY && !process.env.LOG_LEVEL;
  // In a terminal, readable lines, printed above the console's prompt; piped, JSON lines.
  const terminal = adapters.find((a): a is ConsoleAdapter => "printAbove" in a);
  const log = createLogger(typing && config.logLevel === "info" ? "warn" : config.logLevel, secrets, process.stderr, {
    pretty: process.stderr.isTTY,
    around: terminal && ((print) => terminal.printAbove(print)),
  });
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled rejection"));

  let app;
  try {
    app = await startApp({ config, log, adapters });
  } catch (e) {
    log.fatal({ err: e }, "could not start");
    process.stderr.write(`parley: could not start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  stopOnSignals(() => app.stop(), config.shutdownGraceMs, log);

  if (adapters.every((a) => a.platform === "console")) {
    await app.done;
    await app.stop();
    if (!process.stdin.isTTY && messagesRead() === 0) {
      process.stderr.write(noInputNotice);
      process.exit(noInputExitCode);
    }
    process.exit(0);
  }
}

await main();
