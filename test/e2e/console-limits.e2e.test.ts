/**
 * What the request limits count, through `npm start` in the terminal: model
 * calls and commands apart, failures given back, and on Redis one count for
 * every process.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";
import { redisCommand, startRedis, type TestRedis } from "../support/redis.js";

let ollama: FakeOllama;
const bots: BotProcess[] = [];
const chatCalls = () => ollama.requests.filter((r) => r.path === "/api/chat").length;

beforeAll(async () => {
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.requests.length = 0;
  ollama.setFault(null);
});
afterEach(() => {
  for (const bot of bots.splice(0)) bot.kill();
});

function start(extra: Record<string, string>): BotProcess {
  const bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, RATE_LIMIT_PER_MINUTE: "10", RATE_LIMIT_PER_HOUR: "100", RATE_LIMIT_PER_DAY: "500", RATE_LIMIT_COMMANDS_PER_MINUTE: "30", ...extra }));
  bots.push(bot);
  return bot;
}

describe("request limits in the terminal", () => {
  it("counts only messages that call a model: five commands, then ten chats, are all answered; the eleventh is told to wait", async () => {
    const bot = start({});
    for (const command of ["/remember the office opens at 9", "/recall office", "/persona", "/help", "/status"]) bot.say(command);
    for (let i = 1; i <= 11; i++) bot.say(`chat ${i}`);
    bot.say("/usage");
    await bot.waitFor("Commands left this minute");
    const out = bot.stdout();
    expect(out).toContain("Remembered as #");
    expect(out).toContain("the office opens at 9");
    for (let i = 1; i <= 10; i++) expect(out).toContain(`Echo: chat ${i}\n`);
    expect(out).not.toContain("Echo: chat 11");
    expect(out.match(/Slow down/g)).toHaveLength(1);
    expect(out).toContain("Today (UTC): 10 model requests and 5 commands");
    expect(out).toContain("Model requests left: 0/10 this minute, 90/100 this hour, 490/500 today");
    // /usage itself is the sixth command.
    expect(out).toContain("Commands left this minute: 24/30");
    expect(chatCalls()).toBe(10);
    expect(await bot.end()).toBe(0);
  });

  it("gives commands their own limit, with the same single notice", async () => {
    const bot = start({ RATE_LIMIT_COMMANDS_PER_MINUTE: "3" });
    for (let i = 1; i <= 5; i++) bot.say("/recall");
    bot.say("still chatting");
    await bot.waitFor("Echo: still chatting");
    const out = bot.stdout();
    expect(out.match(/No memories yet|nothing remembered|remember/gi)?.length).toBeGreaterThanOrEqual(3);
    expect(out.match(/Slow down/g)).toHaveLength(1);
    expect(await bot.end()).toBe(0);
  });

  it("does not use up a request when the model server is down", async () => {
    const port = await unusedPort();
    const bot = start({ RATE_LIMIT_PER_MINUTE: "2", OLLAMA_HOST: `http://127.0.0.1:${port}` });
    for (let i = 1; i <= 3; i++) bot.say(`while down ${i}`);
    bot.say("/usage");
    await bot.waitFor("Commands left this minute");
    const out = bot.stdout();
    expect(out.split(`Could not reach Ollama at http://127.0.0.1:${port}`)).toHaveLength(4);
    expect(out).not.toContain("Slow down");
    expect(out).toContain("Today (UTC): 0 model requests");
    expect(out).toContain("Model requests left: 2/2 this minute");
    expect(await bot.end()).toBe(0);
  });

  it("does not use up a request when the model has no answer for it", async () => {
    const bot = start({ RATE_LIMIT_PER_MINUTE: "2" });
    ollama.setFault({ kind: "404-model", sticky: true });
    for (let i = 1; i <= 3; i++) bot.say(`not pulled ${i}`);
    bot.say("/usage");
    await bot.waitFor("Commands left this minute");
    expect(bot.stdout()).toContain("Model requests left: 2/2 this minute");

    ollama.setFault(null);
    const from = bot.stdout().length;
    for (let i = 1; i <= 3; i++) bot.say(`pulled ${i}`);
    bot.say("/help");
    await bot.waitFor("/usage", { from });
    const after = bot.stdout().slice(from);
    expect(after).toContain("Echo: pulled 1");
    expect(after).toContain("Echo: pulled 2");
    expect(after).not.toContain("Echo: pulled 3");
    expect(after).toContain("Slow down");
    expect(await bot.end()).toBe(0);
  });
});

describe("request limits shared on Redis", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis({ ownServer: true });
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await redisCommand(redis.url, "FLUSHDB");
  });

  it("three processes started together let the same user through exactly perMinute times, and a restart keeps the count", async () => {
    const three = [1, 2, 3].map(() => start({ REDIS_URL: redis.url }));
    for (const [n, bot] of three.entries()) for (let i = 1; i <= 5; i++) bot.say(`process ${n + 1} line ${i}`);
    const codes = await Promise.all(three.map((bot) => bot.end(60_000)));
    expect(codes).toEqual([0, 0, 0]);
    expect(chatCalls()).toBe(10);
    const all = three.map((bot) => bot.stdout()).join("");
    expect(all.match(/Echo: process/g)).toHaveLength(10);
    // One notice per wait, whichever process gave it.
    expect(all.match(/Slow down/g)).toHaveLength(1);

    const after = start({ REDIS_URL: redis.url });
    after.say("after the restart");
    after.say("/usage");
    await after.waitFor("Commands left this minute");
    expect(after.stdout()).not.toContain("Echo: after the restart");
    expect(after.stdout()).toContain("Today (UTC): 10 model requests");
    expect(after.stdout()).toContain("Model requests left: 0/10 this minute, 90/100 this hour, 490/500 today");
    expect(chatCalls()).toBe(10);
    expect(await after.end()).toBe(0);
  });
});
