import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import { botEnv, startBot } from "../support/bot-process.js";

const key = "sk-test-0123456789abcdefghijklmnop";

describe("the console bot on an OpenAI-compatible server (child process)", () => {
  let openai: FakeOpenAi;

  beforeAll(async () => {
    openai = await startFakeOpenAi({ apiKey: key, models: ["gpt-4o-mini"] });
  });
  afterAll(async () => {
    await openai.close();
  });

  const env = (extra: Record<string, string> = {}) =>
    botEnv({ LLM_PROVIDER: "openai", OPENAI_BASE_URL: openai.baseURL, OPENAI_API_KEY: key, LOG_LEVEL: "debug", ...extra });

  it("streams answers with the provider's own token counts", async () => {
    openai.setResponder(() => ({ text: "Hello from the compatible server", promptTokens: 321, completionTokens: 12 }));
    const bot = startBot(env());
    bot.say("hi");
    await bot.waitFor("Hello from the compatible server");
    bot.say("/usage");
    expect(await bot.waitFor("Token budget")).toContain("333 tokens (321 in, 12 out)");
    bot.say("/status");
    expect(await bot.waitFor("Uptime")).toContain("gpt-4o-mini via openai");
    expect(await bot.end()).toBe(0);
    const body = openai.requests.find((r) => r.path === "/v1/chat/completions")!.body as Record<string, unknown>;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    openai.setResponder(null);
  });

  it("says the key was refused, and never prints or logs the key", async () => {
    const wrong = "sk-wrong-9876543210zyxwvutsrqponm";
    const bot = startBot(env({ OPENAI_API_KEY: wrong }));
    bot.say("hi");
    await bot.waitFor(/refused our API key/);
    expect(await bot.end()).toBe(0);
    expect(bot.stdout()).not.toContain(wrong);
    expect(bot.stderr()).not.toContain(wrong);
    expect(bot.stderr()).toContain("message failed");
  });

  it("refuses to start without a key for a hosted provider", async () => {
    const bot = startBot(botEnv({ LLM_PROVIDER: "groq" }));
    expect(await bot.end()).toBe(2);
    expect(bot.stderr()).toContain("needs an API key in GROQ_API_KEY");
  });
});
