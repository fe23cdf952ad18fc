/** Token accounting: the provider's own counts per user, channel and model, cost from prices, the budget, status totals. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { chatCalls, startRouted } from "./support.js";

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
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** Messages starting with `paid:` go to the priced hosted model; the rest to free local Ollama. */
function start(env: Record<string, string> = {}, currency?: string) {
  return startRouted(
    {
      providers: {
        local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2"] },
        hosted: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini"], prices: { "gpt-4o-mini": { input: 0.15, output: 0.6 } } },
      },
      default: "local/llama3.2",
      routes: [{ pattern: "^paid:", model: "hosted/gpt-4o-mini" }],
      ...(currency ? { currency } : {}),
    },
    env,
  );
}

describe("token accounting", () => {
  it("records exactly the counts each server reported, per user, per channel and per model", async () => {
    bot = await start();
    await bot.say("hello there local model", { user: "1", channel: "-1" });
    await bot.say("paid: hello hosted model", { user: "1", channel: "-2" });
    await bot.say("another one", { user: "2", channel: "-1" });
    const [local1, local2] = chatCalls(ollama.requests).map((r) => r.answer!);
    const [hosted1] = chatCalls(openai.requests).map((r) => r.answer!);
    const usage = bot.app.services.usage;

    expect(await usage.userToday("telegram:1")).toMatchObject({
      promptTokens: local1!.promptTokens + hosted1!.promptTokens,
      completionTokens: local1!.completionTokens + hosted1!.completionTokens,
    });
    expect(await usage.userToday("telegram:2")).toMatchObject({ promptTokens: local2!.promptTokens, completionTokens: local2!.completionTokens, cost: 0 });
    expect(await usage.channelToday("telegram:-1")).toMatchObject({
      promptTokens: local1!.promptTokens + local2!.promptTokens,
      completionTokens: local1!.completionTokens + local2!.completionTokens,
    });
    const models = await usage.modelsToday();
    expect(models.map((m) => [m.model, m.usage.requests, m.usage.promptTokens])).toEqual(
      expect.arrayContaining([
        ["local/llama3.2", 2, local1!.promptTokens + local2!.promptTokens],
        ["hosted/gpt-4o-mini", 1, hosted1!.promptTokens],
      ]),
    );
    expect(models).toHaveLength(2);
  });

  it("turns tokens into cost with the configured prices, and shows it in usage and status", async () => {
    bot = await start();
    openai.setResponder(() => ({ text: "priced", promptTokens: 10_000, completionTokens: 2_000 }));
    ollama.setResponder(() => ({ text: "free", promptTokens: 5_000, completionTokens: 5_000 }));
    await bot.say("paid: what does this cost?", { user: "7" });
    await bot.say("and this?", { user: "7" });
    // 10,000 × 0.15 + 2,000 × 0.60 per million = 0.0027; the local model has no price.
    const today = await bot.app.services.usage.userToday("telegram:7");
    expect(today.cost).toBeCloseTo(0.0027, 10);
    expect(await bot.app.services.usage.totalToday()).toMatchObject({ requests: 2, promptTokens: 15_000, completionTokens: 7_000 });

    const usage = await bot.say("/usage", { user: "7" });
    expect(usage).toContain("Today (UTC): 2 model requests and 0 commands; 22,000 tokens (15,000 in, 7,000 out), costing $0.0027");
    expect(usage).toContain("Token budget: 28,000 of 50,000 left today");
    const status = await bot.say("/status", { user: "7" });
    // The /usage before counts as a command.
    expect(status).toContain("Today (UTC): 2 model requests, 1 command, 22,000 tokens, $0.0027");
    expect(status).toMatch(/^• hosted\/gpt-4o-mini: 1 answer, 12,000 tokens, \$0\.0027$/m);
    expect(status).toMatch(/^• local\/llama3\.2: 1 answer, 10,000 tokens, \$0\.00$/m);
    expect(status).toContain("This channel today: 2 model requests, 22,000 tokens, $0.0027");
  });

  it("shows a currency code after the amount", async () => {
    bot = await start({}, "EUR");
    openai.setResponder(() => ({ text: "priced", promptTokens: 1_000_000, completionTokens: 1_000_000 }));
    await bot.say("paid: big", { user: "8" });
    expect(await bot.say("/usage", { user: "8" })).toContain("costing 0.75 EUR");
  });

  it("blocks the call that would exceed the daily budget, whichever provider would answer", async () => {
    bot = await start({ TOKENS_PER_DAY: "200" });
    openai.setResponder(() => ({ text: "fine", promptTokens: 150, completionTokens: 30 }));
    expect(await bot.say("paid: first", { user: "9" })).toMatch(/^fine\nHeads-up: you've used 90% of your 200 tokens/);
    expect(await bot.say("second question here", { user: "9" })).toMatch(/used 180 of your 200 tokens/);
    expect(chatCalls(ollama.requests)).toHaveLength(0);
    expect(chatCalls(openai.requests)).toHaveLength(1);
  });

  it("shows each provider's median time to the first token in status", async () => {
    bot = await start();
    ollama.setResponder(() => ({ text: "slow start", chunkDelayMs: 60 }));
    await bot.say("one");
    await bot.say("two");
    const line = (await bot.say("/status")).split("\n").find((l) => l.startsWith("local:"))!;
    const median = Number(/median ([\d,]+) ms to first token over 2 answers/.exec(line)?.[1]?.replace(/,/g, ""));
    expect(median).toBeGreaterThanOrEqual(55);
    expect(median).toBeLessThan(2000);
    // No answers from the other provider yet: no median to show.
    expect((await bot.say("/status")).split("\n").find((l) => l.startsWith("hosted:"))).toBe("hosted: answering (1 model)");
  });
});
