import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeDiscord, type FakeDiscord } from "../fakes/discord/index.js";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import { botEnv, builtCli } from "../support/bot-process.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { runDoctor } from "../../src/cli/doctor.js";
import { listModels } from "../../src/cli/models.js";
import { checkStart } from "../../src/cli/check.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs `parley <args>` in a child process: through bin/parley.mjs (tsx, what `npx parley` runs) when `viaBin`,
 * else the same commands transpiled once for the tests (a second less of start-up each).
 */
function parley(args: string[], env: Record<string, string>, viaBin = false): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // Not run from the root: a developer's .env there would be read.
    const child = spawn(process.execPath, [viaBin ? join(root, "bin/parley.mjs") : builtCli, ...args], { cwd: join(root, "test/support"), env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

/**
 * The same check in this process: what bin/parley.mjs runs for `doctor` and `models`, without
 * a child's second of start-up. The runs through bin/parley.mjs (`parley` above) cover the wiring.
 */
async function inProcess(
  run: typeof runDoctor | typeof listModels,
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  let out = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString("utf8");
      done();
    },
  });
  const code = await run(env, sink);
  return { code, out };
}

describe("parley doctor and parley models", () => {
  let ollama: FakeOllama;
  let telegram: FakeTelegram;
  let discord: FakeDiscord;
  let redis: TestRedis;

  beforeAll(async () => {
    ollama = await startFakeOllama({ models: ["llama3.2:latest", "qwen2.5-coder:7b"] });
    telegram = await startFakeTelegram({ botUsername: "parley_test_bot" });
    discord = await startFakeDiscord();
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all([ollama.close(), telegram.close(), discord.close(), redis.stop()]);
  });

  const healthy = () =>
    botEnv({
      OLLAMA_HOST: ollama.url,
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      REDIS_URL: redis.url,
    });

  it("passes every check when everything answers, one line per check", async () => {
    const { code, out } = await parley(["doctor"], healthy());
    expect(out).toMatch(/^ok +configuration/m);
    expect(out).toMatch(/^ok +telegram: token belongs to @parley_test_bot/m);
    expect(out).toMatch(/^ok +discord: token belongs to/m);
    expect(out).toMatch(/^ok +provider ollama: answering in \d+ ms, 2 models, every configured model available/m);
    expect(out).toMatch(/^ok +redis: answering/m);
    expect(out).toContain("All checks passed.");
    expect(code).toBe(0);
  });

  it("fails, saying what to do, when a token is wrong, the model is missing, Redis is down", async () => {
    const deadPort = await unusedPort();
    const env = {
      ...healthy(),
      TELEGRAM_BOT_TOKEN: "123456:AAwrongwrongwrongwrongwrongwrongwrong",
      DISCORD_TOKEN: "not.a-real.token",
      LLM_MODEL: "mistral-nemo",
      REDIS_URL: `redis://127.0.0.1:${deadPort}`,
    };
    const { code, out } = await inProcess(runDoctor, env);
    expect(out).toMatch(/^FAIL +telegram: Telegram refused the token/m);
    expect(out).toMatch(/^FAIL +discord: Discord refused the token/m);
    expect(out).toMatch(/^FAIL +provider ollama: .*ollama pull mistral-nemo/m);
    expect(out).toMatch(/^FAIL +redis: not answering/m);
    expect(out).not.toContain("AAwrongwrong");
    expect(out).not.toContain("not.a-real.token");
    expect(code).toBe(1);
  });

  it("checks every configured provider and model of a multi-provider config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-doctor-"));
    const file = join(dir, "parley.yaml");
    const down = await unusedPort();
    writeFileSync(
      file,
      [
        "llm:",
        "  providers:",
        `    local: { kind: ollama, baseUrl: "${ollama.url}", models: [llama3.2, qwen2.5-coder:7b, phi4] }`,
        `    spare: { kind: ollama, baseUrl: "http://127.0.0.1:${down}", models: [llama3.2] }`,
        "  default: local/llama3.2",
        "  fallback: [spare/llama3.2]",
      ].join("\n"),
    );
    const { code, out } = await inProcess(runDoctor, botEnv({ PARLEY_CONFIG: file }));
    expect(out).toMatch(/^FAIL +provider local: answering, but phi4 is missing \(ollama pull phi4\)/m);
    expect(out).toMatch(/^FAIL +provider spare: Could not reach/m);
    expect(code).toBe(1);
  });

  it("stops at a broken configuration", async () => {
    const { code, out } = await inProcess(runDoctor, { ...healthy(), OLLAMA_HOST: "not a url" });
    expect(out).toMatch(/^FAIL +configuration: Invalid setting llm\.ollamaHost \(OLLAMA_HOST\)/m);
    expect(code).toBe(1);
  });

  it("lists every provider's models, and fails when a provider does not answer", async () => {
    const ok = await parley(["models"], healthy());
    expect(ok.out).toContain("ollama: 2 models");
    expect(ok.out).toContain("  qwen2.5-coder:7b");
    expect(ok.code).toBe(0);
    const down = await inProcess(listModels, { ...healthy(), OLLAMA_HOST: `http://127.0.0.1:${await unusedPort()}` });
    expect(down.out).toContain("ollama: not answering");
    expect(down.code).toBe(1);
  });
});

describe("parley --help and --version", () => {
  it("prints its version and its usage, and refuses an unknown command", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    // Once through bin/parley.mjs, as npx runs it.
    expect(await parley(["--version"], botEnv({}), true)).toMatchObject({ code: 0, out: `parley ${version}\n` });
    const help = await parley(["--help"], botEnv({}));
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: parley <command>/);
    expect(help.out).toContain("doctor");
    const unknown = await parley(["bogus"], botEnv({}));
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command bogus");
  });
});

describe("parley check (what a container runs before the bot)", () => {
  const run = (env: Record<string, string | undefined>) => {
    let err = "";
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        err += chunk.toString();
        done();
      },
    });
    return { code: checkStart(env, sink), err: () => err };
  };

  it("passes with a platform token, names the variables without one, and stops at a bad setting", () => {
    expect(run(botEnv({ TELEGRAM_BOT_TOKEN: "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef12345" })).code).toBe(0);
    const none = run(botEnv({}));
    expect(none.code).toBe(78);
    expect(none.err()).toMatch(/TELEGRAM_BOT_TOKEN or DISCORD_TOKEN/);
    const bad = run(botEnv({ DISCORD_TOKEN: "x", LLM_TIMEOUT_MS: "soon" }));
    expect(bad.code).toBe(2);
    expect(bad.err()).toMatch(/^parley: LLM_TIMEOUT_MS must be a number/);
  });
});
