import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic.js";
import { botEnv, startBot } from "../support/bot-process.js";

const key = "sk-ant-api03-test-0123456789abcdefghijklmnop";

describe("the console bot on Anthropic's API (child process)", () => {
  let anthropic: FakeAnthropic;

  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ apiKey: key, models: ["claude-haiku-5-5"] });
  });
  afterAll(async () => {
    await anthropic.close();
  });

  const env = (extra: Record<string, string> = {}) =>
    botEnv({ LLM_PROVIDER: "anthropic", ANTHROPIC_BASE_URL: anthropic.url, ANTHROPIC_API_KEY: key, LOG_LEVEL: "debug", ...extra });

  it("streams answers of the default model with Anthropic's own token counts; the persona's prompt goes in system", async () => {
    anthropic.setResponder(() => ({ text: "Hello from Claude", promptTokens: 321, completionTokens: 12 }));
    const bot = startBot(env());
    bot.say("hi");
    await bot.waitFor("Hello from Claude");
    bot.say("and again");
    await bot.waitFor("Hello from Claude", { from: bot.stdout().indexOf("Hello from Claude") + 1 });
    bot.say("/usage");
    expect(await bot.waitFor("Token budget")).toContain("666 tokens (642 in, 24 out)");
    bot.say("/status");
    expect(await bot.waitFor("Uptime")).toContain("claude-haiku-5-5 via anthropic");
    expect(await bot.end()).toBe(0);
    const calls = anthropic.requests.filter((r) => r.path === "/v1/messages");
    expect(calls).toHaveLength(2);
    const body = calls[1]!.body as { system?: unknown; messages: { role: string; content: string }[]; stream?: unknown; max_tokens?: unknown };
    expect(body.stream).toBe(true);
    expect(body.max_tokens).toBe(1024);
    expect(typeof body.system).toBe("string");
    expect(body.system).not.toBe("");
    // The second call carries the first turn: user, assistant, user.
    expect(body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(body.messages.at(-1)!.content).toContain("and again");
    anthropic.setResponder(null);
  });

  it("says the key was refused, and never prints or logs the key", async () => {
    const wrong = "sk-ant-api03-wrong-9876543210zyxwvutsrqponm";
    const bot = startBot(env({ ANTHROPIC_API_KEY: wrong }));
    bot.say("hi");
    await bot.waitFor(/refused our API key/);
    expect(await bot.end()).toBe(0);
    expect(bot.stdout()).not.toContain(wrong);
    expect(bot.stderr()).not.toContain(wrong);
    expect(bot.stderr()).toContain("message failed");
  });

  it("refuses to start without ANTHROPIC_API_KEY", async () => {
    const bot = startBot(botEnv({ LLM_PROVIDER: "anthropic" }));
    expect(await bot.end()).toBe(2);
    expect(bot.stderr()).toContain("needs an API key in ANTHROPIC_API_KEY");
  });
});
