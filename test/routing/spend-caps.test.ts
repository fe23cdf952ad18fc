/** Caps on what the whole bot spends a day: refused before the model is called, or answered by the free model. */
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Budgets } from "../../src/chat/budgets.js";
import { configSchema } from "../../src/config/schema.js";
import { createStores, type Stores } from "../../src/store/index.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { chatCalls, modelsAsked, startRouted } from "./support.js";

let ollama: FakeOllama;
let openai: FakeOpenAi;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
  openai = await startFakeOpenAi({ models: ["gpt-4o-mini"] });
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close()]);
});
beforeEach(() => {
  for (const fake of [ollama, openai]) {
    fake.setResponder(null);
    fake.requests.length = 0;
  }
  openai.setResponder(() => ({ text: "from the paid model", promptTokens: 150, completionTokens: 50 }));
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** A paid hosted model answers by default; a local Ollama model is free. */
function start(budgets: Record<string, unknown>, env: Record<string, string> = {}) {
  return startRouted(
    {
      providers: {
        local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
        hosted: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini"], prices: { "gpt-4o-mini": { input: 10, output: 30 } } },
      },
      default: "hosted/gpt-4o-mini",
    },
    { TOKENS_PER_DAY: "0", ...env },
    { budgets },
  ).then((b) => (bot = b));
}

const resets = /it resets at midnight UTC \(in (\d+ h )?\d+ min\)\.$/;

describe("spend caps", () => {
  it("refuses the message that would pass the bot's daily tokens, without calling any model", async () => {
    const b = await start({ dailyTokens: 500 });
    expect(await b.say("one", { user: "1" })).toMatch(/from the paid model$/);
    expect(await b.say("two", { user: "2" })).toMatch(/from the paid model$/);
    // 400 spent: the next prompt would pass 500.
    const refused = await b.say("three", { user: "3" });
    expect(refused).toMatch(/^The bot has used all the tokens it may spend today; /);
    expect(refused).toMatch(resets);
    expect(chatCalls(openai.requests)).toHaveLength(2);
    expect(chatCalls(ollama.requests)).toHaveLength(0);
    // Refused for want of budget, the user's request is given back.
    expect(await b.app.services.usage.userToday("telegram:3")).toMatchObject({ requests: 0 });

    const status = await b.say("/status", { user: "3" });
    expect(status).toContain("Budgets (reset at midnight UTC; then messages are refused):");
    expect(status).toContain("• the bot: 100 tokens left of 500 tokens today");
  });

  it("answers with the free model once a cap is reached, saying so", async () => {
    const b = await start({ dailyCost: 0.003, whenSpent: "fallback", freeModel: "local/llama3.2" });
    // 150 × 10 + 50 × 30 per million = 0.003: the first answer spends the day's money.
    expect(await b.say("one", { user: "1" })).toBe("from the paid model");
    const free = await b.say("two", { user: "2" });
    expect(free).toMatch(/^Echo: .*two\n\n\*\(answered by local\/llama3\.2: the bot has spent all it may spend on models today\)\*$/);
    expect(modelsAsked(openai.requests)).toEqual(["gpt-4o-mini"]);
    expect(modelsAsked(ollama.requests)).toEqual(["llama3.2"]);
    expect(await b.say("/status")).toContain("• the bot: $0.00 left of $0.0030 today");
  });

  it("caps one channel's tokens, leaving the others", async () => {
    const b = await start({ channelDailyTokens: 300 });
    expect(await b.say("one", { channel: "-1" })).toMatch(/from the paid model$/);
    expect(await b.say("two", { channel: "-1" })).toMatch(/^This channel has used all the tokens it may spend today; /);
    expect(await b.say("two", { channel: "-2" })).toMatch(/from the paid model$/);
    expect(chatCalls(openai.requests)).toHaveLength(2);
  });

  it("refuses a bad fallback setting at start", async () => {
    await expect(start({ whenSpent: "fallback" })).rejects.toThrow(/budgets\.freeModel: whenSpent: fallback needs freeModel/);
  });
});

describe("budget crossings", () => {
  let stores: Stores;
  const lines: Array<{ msg: string; cap?: string }> = [];
  beforeEach(async () => {
    lines.length = 0;
    stores = await createStores({ log: pino({ level: "silent" }) });
  });
  afterEach(async () => {
    await stores.close();
  });

  function budgets(caps: Record<string, unknown>, userTokensPerDay = 0): Budgets {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        done();
      },
    });
    return new Budgets({
      userTokensPerDay,
      caps: configSchema.parse({ budgets: caps }).budgets,
      usage: stores.usage,
      log: pino({ level: "warn" }, sink),
      formatCost: (n) => `$${n}`,
    });
  }

  async function answer(b: Budgets, user: string, tokens: number): Promise<string | undefined> {
    const spent = await stores.usage.record({ userKey: user, channelKey: "telegram:-1", promptTokens: tokens, completionTokens: 0 });
    return b.afterAnswer(spent!, { tokens, cost: 0 });
  }

  it("logs 80% and 100% of a cap once each, when an answer crosses them", async () => {
    const b = budgets({ dailyTokens: 1000 });
    await answer(b, "telegram:1", 500);
    expect(lines).toEqual([]);
    await answer(b, "telegram:2", 350);
    expect(lines.map((l) => [l.msg, l.cap])).toEqual([["80% of the daily tokens cap is spent", "daily tokens"]]);
    await answer(b, "telegram:3", 100);
    await answer(b, "telegram:3", 100);
    expect(lines.map((l) => l.msg)).toEqual(["80% of the daily tokens cap is spent", "100% of the daily tokens cap is spent"]);
  });

  it("gives a user a heads-up once, with the answer that takes them past 80% of their own tokens", async () => {
    const b = budgets({}, 1000);
    expect(await answer(b, "telegram:1", 700)).toBeUndefined();
    expect(await answer(b, "telegram:1", 150)).toMatch(/^Heads-up: you've used 85% of your 1,000 tokens for today; they reset at midnight UTC/);
    expect(await answer(b, "telegram:1", 50)).toBeUndefined();
    expect(await answer(b, "telegram:2", 100)).toBeUndefined();
  });
});
