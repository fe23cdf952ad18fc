import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, startBot, tsxLoader } from "../support/bot-process.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const notice = "no TELEGRAM_BOT_TOKEN or DISCORD_TOKEN is set and there was no input to chat with; set one of them (see .env.example)";

/** The last model the fake was asked to chat with. */
function lastModel(ollama: FakeOllama): string | undefined {
  return (ollama.requests.filter((r) => r.path === "/api/chat").at(-1)?.body as { model?: string } | undefined)?.model;
}

describe("starting without a token, and reading .env (child process, fake Ollama)", () => {
  let ollama: FakeOllama;
  let folder: string;

  beforeAll(async () => {
    ollama = await startFakeOllama({ models: ["from-dotenv:latest", "from-env:latest"] });
    folder = mkdtempSync(join(tmpdir(), "parley-env-"));
  });
  afterAll(async () => {
    await ollama.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it("with no token and stdin at /dev/null (a container), says which variable to set and exits 78", async () => {
    // stdio "ignore" is /dev/null, what `docker run` without -i gives the bot.
    const child = spawn(process.execPath, ["--import", tsxLoader, join(root, "src/main.ts")], {
      cwd: folder,
      env: botEnv({ OLLAMA_HOST: ollama.url }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(78);
    expect(err).toContain(`parley: ${notice}`);
  });

  it("with no token and an empty pipe, exits 78 too; one line piped is answered and exits 0", async () => {
    const empty = startBot(botEnv({ OLLAMA_HOST: ollama.url }), [], folder);
    expect(await empty.end()).toBe(78);
    expect(empty.stderr()).toContain(notice);

    const bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, LLM_MODEL: "from-env" }), [], folder);
    bot.say("hi");
    await bot.waitFor("Echo: hi");
    expect(await bot.end()).toBe(0);
    expect(bot.stderr()).not.toContain(notice);
  });

  it("with no model configured and no Ollama answering, not in a terminal: says the three ways to get a model, exits 78", async () => {
    const bare = mkdtempSync(join(tmpdir(), "parley-no-model-"));
    try {
      // Nothing answers at Ollama's default address here (as on a fresh machine, and in CI); no key, no model named.
      const bot = startBot(botEnv({ PARLEY_MODELS_DIR: join(bare, "models") }), [], bare);
      bot.say("hello?");
      expect(await bot.end()).toBe(78);
      expect(bot.stdout()).toBe("");
      expect(bot.stderr()).toMatch(/parley: there is no model to answer with: nothing answers at http:\/\/127\.0\.0\.1:11434 .*Start Ollama .*or set a key.*or run `npx parley pull` once/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it("reads .env in the working folder; a variable set in the environment wins over it", async () => {
    writeFileSync(join(folder, ".env"), `# as in .env.example\nOLLAMA_HOST=${ollama.url}\nLLM_MODEL=from-dotenv   # inline comment\n`);
    try {
      const fromFile = startBot(botEnv({}), [], folder);
      fromFile.say("which model?");
      await fromFile.waitFor("Echo: which model?");
      expect(await fromFile.end()).toBe(0);
      expect(lastModel(ollama)).toBe("from-dotenv");

      const fromEnv = startBot(botEnv({ LLM_MODEL: "from-env" }), [], folder);
      fromEnv.say("and now?");
      await fromEnv.waitFor("Echo: and now?");
      expect(await fromEnv.end()).toBe(0);
      expect(lastModel(ollama)).toBe("from-env");
    } finally {
      rmSync(join(folder, ".env"));
    }
  });
});
