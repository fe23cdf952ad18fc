/**
 * Stopping the whole bot (real grammY adapter, fake Telegram, fake Ollama)
 * while five answers stream: each one either finishes or ends with a mark,
 * within the grace period.
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import { botEnv } from "../support/bot-process.js";

let ollama: FakeOllama;
let tg: FakeTelegram | undefined;
let app: App | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
});
afterAll(async () => {
  await ollama.close();
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  await tg?.close();
  tg = undefined;
  ollama.setResponder(null);
});

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

describe("stopping while answers stream on Telegram", () => {
  it("finishes the short answers, marks the long ones stopped, and stops within the grace period", async () => {
    tg = await startFakeTelegram();
    const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, PARLEY_SHUTDOWN_GRACE_MS: "4000" }));
    const adapter = createTelegramAdapter({ token: tg.token, apiRoot: tg.apiRoot, botInfo: tg.botInfo, conflictCheckSec: 0 });
    app = await startApp({ config, log: pino({ level: "silent" }), adapters: [adapter] });
    // "short" answers take about a second; "long" ones would take a minute.
    ollama.setResponder((call) => {
      const long = call.messages.at(-1)!.content.includes("long");
      return { text: words(long ? 600 : 10), chunkDelayMs: 100 };
    });
    const users = Array.from({ length: 5 }, () => tg!.user());
    users.forEach((u, i) => tg!.privateMessage(u, i < 3 ? "short please" : "long please"));
    await tg.waitFor(() => ollama.requests.filter((r) => r.path === "/api/chat").length === 5, 10_000, "five model calls");

    const started = Date.now();
    await app.stop();
    app = undefined;
    const ms = Date.now() - started;
    expect(ms).toBeLessThan(4_000 + 1_000);
    for (const [i, u] of users.entries()) {
      const texts = tg.botTexts(u.id);
      expect(texts).toHaveLength(1);
      if (i < 3) expect(texts[0]).toBe(words(10));
      else expect(texts[0]).toMatch(/^w0 w1 .*\n\n\(stopped: the bot is restarting\)$/);
    }
  });
});
