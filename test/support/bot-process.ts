import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** tsx's loader by path, so the bot starts from any working folder. */
export const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** The bot's entry point as test/support/build-bot.ts transpiled it (the Docker image's `dist/src/main.js`, from esbuild). */
const builtMain = join(root, "node_modules/.cache/parley-test-bot/src/main.js");
/** `parley`'s commands, transpiled the same way (what bin/parley.mjs runs through tsx). */
export const builtCli = join(root, "node_modules/.cache/parley-test-bot/src/cli/main.js");
/** The bot's working folder unless a test names one: the developer's .env and parley.yaml are not here. */
const quietFolder = fileURLToPath(new URL("./", import.meta.url));

/** The bot run as the Docker image runs it (`node main.js`, built from src/), its stdin a pipe. */
export interface BotProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything printed on stdout so far (answers). */
  stdout(): string;
  /** Everything printed on stderr so far (logs). */
  stderr(): string;
  /** Writes one line to the bot. */
  say(line: string): void;
  /** Waits until stdout contains `text` (or matches), after `from` characters; returns the new output. */
  waitFor(text: string | RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** Closes stdin and waits for the exit code. */
  end(timeoutMs?: number): Promise<number | null>;
  kill(): void;
}

/** Environment for a bot that talks to the given fakes and nothing else. */
export function botEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    LOG_LEVEL: "info",
    // No per-minute limit unless a test wants one: tests send lines quickly.
    RATE_LIMIT_PER_MINUTE: "0",
    RATE_LIMIT_PER_HOUR: "0",
    RATE_LIMIT_PER_DAY: "0",
    RATE_LIMIT_COMMANDS_PER_MINUTE: "0",
    // The start's wait for another Telegram poller is tested on its own (telegram-conflict.test.ts).
    TELEGRAM_CONFLICT_CHECK_SEC: "0",
    // A config file in the working tree must not change what tests see.
    PARLEY_CONFIG: fileURLToPath(new URL("./empty-config.yaml", import.meta.url)),
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function startBot(env: Record<string, string>, args: string[] = [], cwd = quietFolder): BotProcess {
  const child = spawn(process.execPath, [builtMain, ...args], { cwd, env, stdio: "pipe" });
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString("utf8");
    for (const w of waiters) w();
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    say(line) {
      child.stdin.write(`${line}\n`);
    },
    waitFor(text, { from = 0, timeoutMs = 15_000 } = {}) {
      const found = () => {
        const tail = out.slice(from);
        return typeof text === "string" ? tail.includes(text) : text.test(tail);
      };
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!found()) return;
          cleanup();
          resolve(out.slice(from));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${String(text)}; stdout so far:\n${out.slice(from)}\nstderr:\n${err.slice(-3000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => {
          if (!found()) {
            cleanup();
            reject(new Error(`bot exited before printing ${String(text)}; stdout:\n${out}\nstderr:\n${err.slice(-3000)}`));
          }
        });
        check();
      });
    },
    async end(timeoutMs = 20_000) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      child.kill("SIGKILL");
    },
  };
}
