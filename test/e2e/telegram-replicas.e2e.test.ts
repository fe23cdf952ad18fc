/**
 * Several webhook replicas as one Telegram bot: three whole bots (real
 * grammY adapter in webhook mode, each on its own port) on one real Redis,
 * the fake Telegram and the fake Ollama. The test is the load balancer: it
 * posts each update to a replica of its choosing, with the secret header,
 * and waits for the HTTP answer as Telegram would.
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { startFakeTelegram, type FakeTelegram, type FakeUpdate } from "../fakes/telegram.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";
import { redisCommand, startRedis, type TestRedis } from "../support/redis.js";

const SECRET = "replica-secret_1";
/** Short, so that a dead replica's chat comes back quickly; the point is that it does within this. */
const CHAT_LOCK_MS = 1_500;

interface Replica {
  app: App;
  url: string;
}

let redis: TestRedis;
let ollama: FakeOllama;
let tg: FakeTelegram;
let replicas: Replica[] = [];
let child: BotProcess | undefined;

beforeAll(async () => {
  redis = await startRedis({ ownServer: true });
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
});
afterAll(async () => {
  await ollama.close();
  await redis.stop();
});
afterEach(async () => {
  await Promise.allSettled(replicas.map((r) => r.app.stop()));
  replicas = [];
  child?.kill();
  child = undefined;
  await tg.close();
  ollama.setResponder(null);
  ollama.requests.length = 0;
  await redisCommand(redis.url, "FLUSHALL");
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return { OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "20000", REDIS_URL: redis.url, ...extra };
}

async function startReplicas(count: number, extraEnv: Record<string, string> = {}): Promise<void> {
  tg = await startFakeTelegram({ flood: false });
  for (let i = 0; i < count; i++) {
    const port = await unusedPort();
    const url = `http://127.0.0.1:${port}/hook`;
    const adapter = createTelegramAdapter({
      token: tg.token,
      apiRoot: tg.apiRoot,
      botInfo: tg.botInfo,
      webhook: { url, secretToken: SECRET, port, host: "127.0.0.1" },
      chatLockMs: CHAT_LOCK_MS,
      privateEditIntervalMs: 50,
    });
    const app = await startApp({ config: loadConfig(botEnv(env(extraEnv))), log: pino({ level: "silent" }), adapters: [adapter] });
    replicas.push({ app, url });
  }
  // Telegram would push to the last URL registered; the test is the load balancer instead, so updates stay with the fake.
  tg.webhook = undefined;
}

/** Posts `update` as Telegram does; resolves with the HTTP status. */
async function post(url: string, update: FakeUpdate): Promise<number> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET },
    body: JSON.stringify(update),
  });
  await res.arrayBuffer();
  return res.status;
}

type ChatBody = { messages: Array<{ role: string; content: string }> };
const chatCalls = () => ollama.requests.filter((r) => r.path === "/api/chat").map((r) => r.body as ChatBody);
const asked = (body: ChatBody) => body.messages.at(-1)!.content;

describe("Telegram webhook replicas on one Redis", () => {
  it("answers 60 messages over 10 chats, posted round-robin to three replicas, each once and in order per chat", async () => {
    await startReplicas(3);
    // Each chat's first answer takes longer (about 2.4 s) than a webhook request is ever held, the others vary:
    // without one turn per chat across replicas, the later messages, posted to other replicas, would overtake it.
    ollama.setResponder((call) => {
      const text = call.messages.at(-1)!.content;
      return { text: `Echo: ${text}`, chunkDelayMs: text.startsWith("m0 ") ? 600 : 10 + Math.floor(Math.random() * 60) };
    });
    const users = Array.from({ length: 10 }, () => tg.user());
    const sent: Array<{ update: FakeUpdate; user: (typeof users)[number] }> = [];
    // A chat's messages one after another, so that each next one reaches another replica while the first is being answered.
    for (const user of users) {
      for (let k = 0; k < 6; k++) sent.push({ update: recorded(user, `m${k} from ${user.id}`), user });
    }
    for (const [i, { update }] of sent.entries()) expect(await post(replicas[i % 3]!.url, update)).toBe(200);

    await tg.waitFor(() => users.every((u) => tg.botTexts(u.id).length === 6), 60_000, "six answers in every chat");
    for (const user of users) {
      const expected = Array.from({ length: 6 }, (_, k) => `Echo: m${k} from ${user.id}`);
      expect(tg.botTexts(user.id)).toEqual(expected);
      // One at a time: each model call for this chat saw every earlier turn of it, complete.
      const calls = chatCalls().filter((c) => asked(c).endsWith(`from ${user.id}`));
      expect(calls.map(asked)).toEqual(expected.map((e) => e.slice("Echo: ".length)));
      for (const [k, call] of calls.entries()) {
        const history = call.messages.filter((m) => m.role !== "system").map((m) => m.content);
        expect(history).toEqual(expected.slice(0, k).flatMap((answer) => [answer.slice("Echo: ".length), answer]).concat(asked(call)));
      }
    }
    expect(chatCalls()).toHaveLength(60);
  });

  it("answers once an update delivered to two replicas, and twice to one", async () => {
    await startReplicas(3);
    const user = tg.user();
    const update = recorded(user, "only once");
    const statuses = await Promise.all([post(replicas[0]!.url, update), post(replicas[1]!.url, update)]);
    expect(statuses).toEqual([200, 200]);
    expect(await post(replicas[2]!.url, update)).toBe(200);
    await tg.waitFor(() => tg.botTexts(user.id).length === 1, 15_000, "the answer");
    // Long enough for a second answer to have come.
    await new Promise((r) => setTimeout(r, 500));
    expect(tg.botTexts(user.id)).toEqual(["Echo: only once"]);
    expect(chatCalls()).toHaveLength(1);
  });

  it("resumes a chat on another replica within the lock's expiry when the replica answering it is killed, with no half turn stored", async () => {
    await startReplicas(1);
    const port = await unusedPort();
    const childUrl = `http://127.0.0.1:${port}/hook`;
    child = startBot(
      botEnv({
        ...env(),
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.apiRoot,
        TELEGRAM_WEBHOOK_URL: childUrl,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        TELEGRAM_WEBHOOK_PORT: String(port),
        TELEGRAM_CHAT_LOCK_MS: String(CHAT_LOCK_MS),
      }),
    );
    await tg.waitFor(() => tg.webhook?.url === childUrl, 20_000, "the child replica's webhook");
    tg.webhook = undefined;
    await waitForStderr(child, /is listening/);

    ollama.setResponder((call) => {
      const text = call.messages.at(-1)!.content;
      return text === "long story" ? { text: Array.from({ length: 400 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 50 } : { text: `Echo: ${text}` };
    });
    const user = tg.user();
    expect(await post(childUrl, recorded(user, "long story"))).toBe(200);
    await tg.waitFor(() => (tg.botTexts(user.id)[0] ?? "").startsWith("w0 w1"), 15_000, "the long answer to start streaming");
    expect(await post(replicas[0]!.url, recorded(user, "and then?"))).toBe(200);

    child.kill();
    const killedAt = Date.now();
    await tg.waitFor(() => tg.botTexts(user.id).includes("Echo: and then?"), 15_000, "the next answer, from the replica left");
    expect(Date.now() - killedAt).toBeLessThan(CHAT_LOCK_MS + 1_000);
    const next = chatCalls().find((c) => asked(c) === "and then?")!;
    // The killed answer left nothing in the chat's history: neither the question nor a part of its answer.
    expect(next.messages.filter((m) => m.role !== "system").map((m) => m.content)).toEqual(["and then?"]);
    expect(tg.botTexts(user.id)).toHaveLength(2);
  });

  it("holds one user to their limit exactly, whichever replicas their messages reach", async () => {
    await startReplicas(3, { RATE_LIMIT_PER_MINUTE: "5" });
    const user = tg.user();
    for (let k = 0; k < 9; k++) expect(await post(replicas[k % 3]!.url, recorded(user, `q${k}`))).toBe(200);
    await tg.waitFor(() => tg.botTexts(user.id).length >= 6, 30_000, "five answers and one notice");
    // Time for any answer the limit failed to stop.
    await new Promise((r) => setTimeout(r, 1_000));
    const texts = tg.botTexts(user.id);
    expect(texts.slice(0, 5)).toEqual(["Echo: q0", "Echo: q1", "Echo: q2", "Echo: q3", "Echo: q4"]);
    expect(texts.slice(5)).toEqual([expect.stringMatching(/^Slow down, .*: you've reached your limit for this minute\. Try again in \d+ s\.$/)]);
    expect(chatCalls()).toHaveLength(5);
  });

  it("answers 503 while a replica drains, so the load balancer sends the update elsewhere", async () => {
    await startReplicas(2);
    ollama.setResponder(() => ({ text: "slow answer here", chunkDelayMs: 300 }));
    const user = tg.user();
    expect(await post(replicas[0]!.url, recorded(user, "first"))).toBe(200);
    await tg.waitFor(() => ollama.requests.some((r) => r.path === "/api/chat"), 10_000, "the model call");
    const stopping = replicas[0]!.app.stop();
    const other = tg.user();
    const update = recorded(other, "during drain");
    expect(await post(replicas[0]!.url, update)).toBe(503);
    expect(await post(replicas[1]!.url, update)).toBe(200);
    await stopping;
    await tg.waitFor(() => tg.botTexts(other.id).length === 1 && tg.botTexts(user.id).length === 1, 15_000, "both answers");
    expect(tg.botTexts(user.id)).toEqual(["slow answer here"]);
  });
});

/** A private message from `user`, recorded by the fake (so the bot may answer in its chat), as the update Telegram would post. */
function recorded(user: ReturnType<FakeTelegram["user"]>, text: string): FakeUpdate {
  const m = tg.privateMessage(user, text);
  const update = tg.pendingUpdateOf(m);
  if (!update) throw new Error("the fake kept no update for that message");
  return update;
}

async function waitForStderr(bot: BotProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(bot.stderr())) {
    if (Date.now() > deadline) throw new Error(`the child replica did not log ${String(pattern)}:\n${bot.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
