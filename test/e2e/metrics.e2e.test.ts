/**
 * `/metrics` after a run of the whole bot (grammY against the fake Telegram
 * Bot API, the fake Ollama, the in-memory store): what the scrape counts is
 * what the run did, and the token counts are the fake server's own.
 */
import pino from "pino";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { createDiscordAdapter } from "../../src/adapters/discord/index.js";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { startScenario } from "../fakes/discord/scenario.js";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi } from "../fakes/openai.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import { botEnv } from "../support/bot-process.js";
import { parseExposition, type Sample } from "../support/prometheus.js";
import { startRouted } from "../routing/support.js";

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
  ollama.setFault(null);
  ollama.requests.length = 0;
});

async function startWholeBot(env: Record<string, string>): Promise<{ tg: FakeTelegram; port: number }> {
  tg = await startFakeTelegram();
  const port = await unusedPort();
  const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, PARLEY_HTTP_PORT: String(port), PARLEY_HTTP_HOST: "127.0.0.1", ...env }));
  const adapter = createTelegramAdapter({ token: tg.token, apiRoot: tg.apiRoot, conflictCheckSec: 0, botInfo: tg.botInfo, privateEditIntervalMs: 100, groupEditIntervalMs: 300 });
  app = await startApp({ config, log: pino({ level: "silent" }), adapters: [adapter] });
  return { tg, port };
}

async function scrape(port: number): Promise<{ contentType: string; samples: Sample[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  return { contentType: res.headers.get("content-type") ?? "", samples: parseExposition(await res.text()) };
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(labels)}: ${found.length} samples`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

describe("/metrics of the whole bot", () => {
  it("counts messages by command and outcome, the model's tokens and latencies, refusals, 429s and errors by code", { timeout: 60_000 }, async () => {
    const { tg, port } = await startWholeBot({ RATE_LIMIT_PER_MINUTE: "2" });
    const ada = tg.user({ first_name: "Ada" });
    const answers = () => tg.botTexts(ada.id);

    tg.privateMessage(ada, "hello there");
    await tg.waitFor(() => answers().includes("Echo: hello there"), 15_000, "the first answer");

    // A model the server does not have: answered with an error (and the request given back).
    ollama.setFault("404-model");
    tg.privateMessage(ada, "second question");
    await tg.waitFor(() => answers().length === 2, 15_000, "the error reply");

    // Telegram refuses the next send once; grammY's auto-retry waits the second and sends again.
    tg.inject429(1, "sendMessage");
    tg.privateMessage(ada, "third question");
    await tg.waitFor(() => answers().includes("Echo: third question"), 15_000, "the third answer");

    // Two model requests a minute: this one is refused.
    tg.privateMessage(ada, "fourth question");
    await tg.waitFor(() => answers().some((t) => t.startsWith("Slow down")), 15_000, "the rate-limit notice");

    tg.command(tg.privateChat(ada), ada, "help");
    await tg.waitFor(() => answers().length > 4, 15_000, "the help text");
    await app!.dispatcher.idle();

    const { contentType, samples } = await scrape(port);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const messages = (command: string, outcome: string) => value(samples, "parley_messages_total", { platform: "telegram", command, outcome });
    expect(messages("chat", "answered")).toBe(2);
    expect(messages("chat", "failed")).toBe(1);
    expect(messages("chat", "limited")).toBe(1);
    expect(messages("help", "answered")).toBe(1);
    expect(value(samples, "parley_errors_total", { platform: "telegram", command: "chat", code: "model_not_found" })).toBe(1);
    expect(value(samples, "parley_rate_limit_refusals_total", { platform: "telegram", kind: "model", window: "minute" })).toBe(1);
    // The injected one, and any of the fake's flood control on the streamed edits.
    const refusedByTelegram = tg.calls.filter((c) => c.status === 429).length;
    expect(refusedByTelegram).toBeGreaterThanOrEqual(1);
    expect(value(samples, "parley_platform_rate_limited_total", { platform: "telegram" })).toBe(refusedByTelegram);

    const answered = ollama.requests.filter((r) => r.answer);
    const reported = answered.map((r) => r.answer!);
    expect(reported).toHaveLength(2);
    // Labelled with the model as configured, which is the name the router asked the server for.
    const model = { provider: "ollama", model: (answered[0]!.body as { model: string }).model };
    expect(value(samples, "parley_model_tokens_total", { ...model, kind: "prompt" })).toBe(reported[0]!.promptTokens + reported[1]!.promptTokens);
    expect(value(samples, "parley_model_tokens_total", { ...model, kind: "completion" })).toBe(reported[0]!.completionTokens + reported[1]!.completionTokens);
    expect(value(samples, "parley_model_first_token_seconds_count", model)).toBe(2);
    expect(value(samples, "parley_model_answer_seconds_count", model)).toBe(2);
    expect(value(samples, "parley_model_answer_seconds_bucket", { ...model, le: "+Inf" })).toBe(2);
    expect(value(samples, "parley_model_answer_seconds_sum", model)).toBeGreaterThan(0);
    expect(value(samples, "parley_model_call_failures_total", { ...model, code: "model_not_found" })).toBe(1);
    expect(value(samples, "parley_answers_streaming")).toBe(0);
    // Node's own, from collectDefaultMetrics.
    expect(value(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(value(samples, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });

  it("counts Discord's 429s, which discord.js waits out by itself", { timeout: 60_000 }, async () => {
    const discord = await startScenario();
    try {
      const port = await unusedPort();
      const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, PARLEY_HTTP_PORT: String(port), PARLEY_HTTP_HOST: "127.0.0.1" }));
      const adapter = createDiscordAdapter({ token: discord.fake.token, apiUrl: discord.fake.apiUrl });
      app = await startApp({ config, log: pino({ level: "silent" }), adapters: [adapter] });
      discord.fake.inject429({ method: "POST", path: /^\/channels\/\d+\/messages$/, retryAfterSec: 1 });
      await discord.fake.sendDm(discord.dmUser.id, "hello there");
      await discord.fake.waitFor(() => discord.fake.botMessages(discord.fake.dmChannelId(discord.dmUser.id)).some((m) => m.content === "Echo: hello there"), 15_000);
      await app.dispatcher.idle();
      const refused = discord.fake.requests.filter((r) => r.status === 429).length;
      expect(refused).toBeGreaterThanOrEqual(1);
      const { samples } = await scrape(port);
      expect(value(samples, "parley_platform_rate_limited_total", { platform: "discord" })).toBe(refused);
      expect(value(samples, "parley_messages_total", { platform: "discord", command: "chat", outcome: "answered" })).toBe(1);
    } finally {
      await app?.stop();
      app = undefined;
      await discord.fake.close();
    }
  });

  it("adds up the cost of answers at the configured prices, by provider and model", { timeout: 30_000 }, async () => {
    const openai = await startFakeOpenAi({ models: ["gpt-4o-mini"] });
    openai.setResponder(() => ({ text: "from the paid model", promptTokens: 150, completionTokens: 50 }));
    const bot = await startRouted({
      providers: { hosted: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini"], prices: { "gpt-4o-mini": { input: 10, output: 30 } } } },
      default: "hosted/gpt-4o-mini",
    });
    try {
      expect(await bot.say("one")).toBe("from the paid model");
      expect(await bot.say("two", { user: "2" })).toBe("from the paid model");
      const samples = parseExposition(await bot.app.services.metrics.scrape());
      const model = { provider: "hosted", model: "gpt-4o-mini" };
      // Per answer: 150 × 10 + 50 × 30 per million tokens.
      expect(value(samples, "parley_model_cost_total", model)).toBeCloseTo(2 * 0.003, 10);
      expect(value(samples, "parley_model_tokens_total", { ...model, kind: "prompt" })).toBe(300);
      expect(value(samples, "parley_model_tokens_total", { ...model, kind: "completion" })).toBe(100);
    } finally {
      await bot.stop();
      await openai.close();
    }
  });

  it("shows an answer streaming now while the model is still writing", { timeout: 30_000 }, async () => {
    const { tg, port } = await startWholeBot({});
    ollama.setResponder(() => ({ chunks: ["slow ", "answer ", "here"], chunkDelayMs: 1_500 }));
    const ada = tg.user();
    tg.privateMessage(ada, "take your time");
    await tg.waitFor(() => tg.botMessages(ada.id).length === 1, 15_000, "the first part of the answer");
    expect(value((await scrape(port)).samples, "parley_answers_streaming")).toBe(1);
    await tg.waitFor(() => tg.botTexts(ada.id)[0] === "slow answer here", 15_000, "the whole answer");
    await app!.dispatcher.idle();
    expect(value((await scrape(port)).samples, "parley_answers_streaming")).toBe(0);
    ollama.setResponder(null);
  });

  it("keeps each app's counts apart in one process", { timeout: 30_000 }, async () => {
    const { tg, port } = await startWholeBot({});
    const other = await startApp({ config: { ...config(), httpPort: undefined }, log: pino({ level: "silent" }), adapters: [] });
    try {
      const ada = tg.user();
      tg.privateMessage(ada, "only here");
      await tg.waitFor(() => tg.botTexts(ada.id).length === 1, 15_000, "the answer");
      expect(value((await scrape(port)).samples, "parley_messages_total", { command: "chat", outcome: "answered" })).toBe(1);
      const otherText = await other.services.metrics.scrape();
      expect(parseExposition(otherText).some((s) => s.name === "parley_messages_total")).toBe(false);
    } finally {
      await other.stop();
    }
  });
});

function config() {
  return app!.services.config;
}
