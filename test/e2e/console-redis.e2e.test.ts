import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, startBot } from "../support/bot-process.js";
import { startRedis, type TestRedis } from "../support/redis.js";

describe("the bot on a real Redis (child processes)", () => {
  let ollama: FakeOllama;
  let redis: TestRedis;

  beforeAll(async () => {
    ollama = await startFakeOllama();
    redis = await startRedis({ ownServer: true });
  });
  afterAll(async () => {
    await ollama.close();
    await redis.stop();
  });

  const env = () => botEnv({ OLLAMA_HOST: ollama.url, REDIS_URL: redis.url, LLM_TIMEOUT_MS: "20000" });

  it("loses no history, persona or memory when the bot is stopped and started again", async () => {
    const first = startBot(env());
    first.say("/remember the release is on the 3rd of March");
    await first.waitFor("Remembered as #");
    first.say("/persona technical");
    await first.waitFor("Persona switched to technical");
    first.say("my favourite editor is vim");
    await first.waitFor("Echo: my favourite editor is vim");
    expect(await first.end()).toBe(0);

    ollama.requests.length = 0;
    const second = startBot(env());
    second.say("/recall release");
    await second.waitFor("the release is on the 3rd of March");
    second.say("which editor do I like?");
    await second.waitFor("Echo: which editor do I like?");
    second.say("/persona");
    const personas = await second.waitFor("▸ technical");
    expect(personas).toContain("▸ technical");
    expect(await second.end()).toBe(0);

    const prompt = (ollama.requests.find((r) => r.path === "/api/chat")!.body as { messages: { role: string; content: string }[] }).messages;
    expect(prompt[0]!.content).toContain("senior software engineer");
    expect(prompt[0]!.content).toContain("the release is on the 3rd of March");
    expect(prompt.slice(1).map((m) => m.content)).toEqual([
      "my favourite editor is vim",
      "Echo: my favourite editor is vim",
      "which editor do I like?",
    ]);
  });

  it("answers quickly with a clear reply while Redis is down, and recovers when it is back", async () => {
    const bot = startBot(env());
    bot.say("/remember redis is up");
    await bot.waitFor("Remembered as #");

    await redis.stop();
    const started = Date.now();
    let from = bot.stdout().length;
    bot.say("hello while redis is down");
    await bot.waitFor(/can't reach my memory store/i, { from });
    expect(Date.now() - started).toBeLessThan(5_000);
    from = bot.stdout().length;
    bot.say("/help");
    await bot.waitFor("/usage", { from });

    await redis.restart();
    // The client reconnects in the background; the store works again within a few seconds.
    const deadline = Date.now() + 15_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      from = bot.stdout().length;
      bot.say("/remember redis is back");
      const answer = await bot.waitFor(/Remembered as #|can't reach my memory store/i, { from });
      recovered = answer.includes("Remembered as #");
      if (!recovered) await new Promise((r) => setTimeout(r, 500));
    }
    expect(recovered).toBe(true);
    from = bot.stdout().length;
    bot.say("are you back?");
    await bot.waitFor("Echo: are you back?", { from });
    expect(await bot.end()).toBe(0);
    expect(bot.stderr()).not.toContain(redis.url.replace("redis://", "redis://:"));
  });

  it("starts even when Redis is not there yet, and says so to users", async () => {
    await redis.stop();
    const bot = startBot(env());
    bot.say("hello");
    await bot.waitFor(/can't reach my memory store/i, { timeoutMs: 15_000 });
    await redis.restart();
    expect(await bot.end()).toBe(0);
  });
});
