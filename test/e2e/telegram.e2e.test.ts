/**
 * The whole bot (real dispatcher, commands, stores, LLM router) with the
 * real grammY adapter against the fake Telegram Bot API and the fake Ollama.
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { writeConfig } from "../routing/support.js";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";

let ollama: FakeOllama;
let tg: FakeTelegram | undefined;
let app: App | undefined;
let bot: BotProcess | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest", "llava:latest"], visionModels: ["llava:latest"] });
});
afterAll(async () => {
  await ollama.close();
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  bot?.kill();
  bot = undefined;
  await tg?.close();
  tg = undefined;
  ollama.setResponder(null);
  ollama.requests.length = 0;
});

/**
 * Pacing is the adapter tests' subject: here a tenth of the default intervals (1 s private,
 * 3 s group), with the fake's flood limits scaled alike so that going over them still shows.
 */
const PRIVATE_EDIT_INTERVAL_MS = 100;
const GROUP_EDIT_INTERVAL_MS = 300;

async function startWholeBot(env: Record<string, string> = {}): Promise<FakeTelegram> {
  tg = await startFakeTelegram({
    flood: {
      private: { burst: 3, perMinute: 60_000 / PRIVATE_EDIT_INTERVAL_MS },
      group: { burst: 5, perMinute: 60_000 / GROUP_EDIT_INTERVAL_MS },
      global: { burst: 30, perMinute: 1800 },
    },
  });
  const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "10000", ...env }));
  const adapter = createTelegramAdapter({
    token: tg.token,
    apiRoot: tg.apiRoot,
    botInfo: tg.botInfo,
    conflictCheckSec: 0,
    privateEditIntervalMs: PRIVATE_EDIT_INTERVAL_MS,
    groupEditIntervalMs: GROUP_EDIT_INTERVAL_MS,
  });
  app = await startApp({ config, log: pino({ level: "silent" }), adapters: [adapter] });
  return tg;
}

const lastChatCall = () => ollama.requests.filter((r) => r.path === "/api/chat").at(-1)?.body as { messages: { role: string; content: string }[] } | undefined;

describe("Telegram end to end", () => {
  it("answers a private chat with the model's reply, and registers the command menu", async () => {
    const tg = await startWholeBot();
    const ada = tg.user({ first_name: "Ada" });
    tg.privateMessage(ada, "hello bot");
    await tg.waitFor(() => tg.botTexts(ada.id).includes("Echo: hello bot"), 15_000, "the model's answer");
    expect(tg.commands.map((c) => c.command)).toEqual(expect.arrayContaining(["chat", "reset", "persona", "remember", "help"]));
    for (const c of tg.commands) expect(c.description.length).toBeGreaterThan(0);
  });

  it("streams a slow answer by edits and formats its Markdown", async () => {
    const tg = await startWholeBot();
    ollama.setResponder(() => ({ chunks: ["Here is **bold** ", "and `code`", " and more ", "words."], chunkDelayMs: 250 }));
    const u = tg.user();
    tg.privateMessage(u, "explain");
    await tg.waitFor(() => tg.botTexts(u.id)[0] === "Here is bold and code and more words.", 10_000, "the final text");
    expect(tg.callsOf("editMessageText", u.id).length).toBeGreaterThanOrEqual(1);
    const [message] = tg.botMessages(u.id);
    expect(message!.entities!.map((e) => e.type)).toEqual(["bold", "code"]);
    expect(tg.callsOf("sendChatAction", u.id).length).toBeGreaterThanOrEqual(1);
  });

  it("answers /chat@botname in a group as a reply, and tells the model who said what", async () => {
    const tg = await startWholeBot();
    const alice = tg.user({ first_name: "Alice", last_name: "Liddell" });
    const bob = tg.user({ first_name: "Bob" });
    const group = tg.group({ supergroup: true, title: "Tea party" });
    const asked = tg.command(group, alice, "chat", "is it tea time?", { atBot: true });
    await tg.waitFor(() => tg.botTexts(group.id)[0] === "Echo: Alice Liddell: is it tea time?", 15_000, "the answer");
    const [answer] = tg.botMessages(group.id);
    expect(answer!.reply_to_message?.message_id).toBe(asked.message_id);

    tg.groupMessage(group, bob, "and for me?", { mention: true });
    await tg.waitFor(() => tg.botTexts(group.id)[1] === "Echo: Bob: and for me?", 15_000, "the second answer");
    const prompt = lastChatCall()!.messages.map((m) => m.content).join("\n");
    expect(prompt).toContain("Alice Liddell: is it tea time?");
    expect(prompt).toContain("Bob: and for me?");
    // Chatter not addressed to the bot gets no answer.
    tg.groupMessage(group, bob, "nice weather");
    const marker = tg.groupMessage(group, bob, "ping", { mention: true });
    await tg.waitFor(() => tg.botMessages(group.id).length === 3, 15_000);
    expect(tg.botMessages(group.id)[2]!.reply_to_message?.message_id).toBe(marker.message_id);
  });

  it("puts the message a member replies to in the prompt, whoever wrote it", async () => {
    const tg = await startWholeBot();
    const ann = tg.user({ first_name: "Ann" });
    const bob = tg.user({ first_name: "Bob" });
    const group = tg.group({ supergroup: true, title: "Plans" });
    const plan = tg.groupMessage(group, ann, "Let's meet at the harbour at 6");
    tg.groupMessage(group, bob, "is that too early?", { mention: true, replyTo: plan.message_id });
    await tg.waitFor(() => tg.botTexts(group.id).length === 1, 15_000, "the answer");
    expect(lastChatCall()!.messages.at(-1)).toEqual({ role: "user", content: '(in reply to Ann: "Let\'s meet at the harbour at 6")\nBob: is that too early?' });
  });

  it("sends a photo's largest size to the vision model byte for byte, a document's text into the prompt, and keeps placeholders", async () => {
    const tg = await startWholeBot({ LLM_VISION_MODEL: "llava:latest" });
    const ann = tg.user({ first_name: "Ann" });
    const chat = tg.privateChat(ann);
    const small = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), Buffer.alloc(40, 1)]);
    const large = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), Buffer.alloc(900, 2)]);
    tg.sendFiles({ chatId: chat.id, from: ann, caption: "what is on it?", photo: [{ width: 90, height: 90, bytes: small }, { width: 800, height: 800, bytes: large }] });
    await tg.waitFor(() => tg.botTexts(chat.id).length === 1, 15_000, "the answer");
    const call = ollama.requests.filter((r) => r.path === "/api/chat").at(-1)!.body as { model: string; messages: Array<{ content: string; images?: string[] }> };
    expect(call.model).toBe("llava:latest");
    expect(call.messages.at(-1)!.images!.map((i) => Buffer.from(i, "base64"))).toEqual([large]);

    tg.sendFiles({ chatId: chat.id, from: ann, caption: "and this?", document: { fileName: "notes.md", mimeType: "text/markdown", bytes: Buffer.from("# Plan\nship on Friday") } });
    await tg.waitFor(() => tg.botTexts(chat.id).length === 2, 15_000, "the second answer");
    expect(lastChatCall()!.messages.at(-1)!.content).toBe("and this?\n\nnotes.md:\n```\n# Plan\nship on Friday\n```");
    // The turn is stored once the answer has been sent in full.
    const userTurns = async () => (await app!.services.history.recent(`telegram:${chat.id}`, 10)).filter((t) => t.role === "user").map((t) => t.content);
    for (let i = 0; i < 100 && (await userTurns()).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await userTurns()).toEqual(["what is on it? [image: photo.jpg]", "and this? [file: notes.md, 21 characters]"]);
  });

  it("transcribes a voice message through llm.transcription and answers it, showing what it heard", async () => {
    const heard: Buffer[] = [];
    const whisper = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        heard.push(Buffer.concat(chunks));
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ text: "is the ferry running today" }));
      });
    });
    await new Promise<void>((resolve) => whisper.listen(0, "127.0.0.1", resolve));
    try {
      const config = writeConfig({
        llm: {
          providers: {
            local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2:latest"] },
            voice: { kind: "openai", baseUrl: `http://127.0.0.1:${(whisper.address() as AddressInfo).port}/v1`, models: ["whisper-1"] },
          },
          default: "local/llama3.2:latest",
          transcription: "voice/whisper-1",
        },
      });
      const tg = await startWholeBot({ PARLEY_CONFIG: config });
      const ann = tg.user({ first_name: "Ann" });
      const chat = tg.privateChat(ann);
      const ogg = Buffer.concat([Buffer.from("OggS"), Buffer.alloc(200, 5)]);
      tg.sendFiles({ chatId: chat.id, from: ann, voice: { bytes: ogg, durationSec: 2 } });
      await tg.waitFor(() => tg.botTexts(chat.id).length === 1, 15_000, "the answer");
      expect(tg.botTexts(chat.id)[0]).toContain("is the ferry running today\n\nEcho: is the ferry running today");
      // The voice message's bytes, fetched through getFile, went to the transcription endpoint (the start also asked it for its models).
      expect(heard.some((body) => body.includes(ogg))).toBe(true);
    } finally {
      await new Promise((resolve) => whisper.close(resolve));
    }
  });

  it("refuses a non-admin's /reset in a group and lets an admin reset", async () => {
    const tg = await startWholeBot();
    const admin = tg.user({ first_name: "Admin" });
    const member = tg.user({ first_name: "Member" });
    const group = tg.group({ creator: admin });
    tg.command(group, member, "reset", "", { atBot: true });
    await tg.waitFor(() => tg.botMessages(group.id).length === 1, 15_000);
    expect(tg.botTexts(group.id)[0]).toMatch(/^Only group admins can use \/reset/);
    tg.command(group, admin, "reset");
    await tg.waitFor(() => tg.botMessages(group.id).length === 2, 15_000);
    expect(tg.botTexts(group.id)[1]).toMatch(/^Conversation cleared/);
    expect(tg.callsOf("getChatAdministrators", group.id)).toHaveLength(1);
  });

  it("tells a rate-limited user once in a busy group, and keeps answering the others", async () => {
    const tg = await startWholeBot({ RATE_LIMIT_PER_MINUTE: "2" });
    const bob = tg.user({ first_name: "Bob" });
    const carol = tg.user({ first_name: "Carol" });
    const group = tg.group({ id: -1001555666777888, supergroup: true, title: "Busy" });
    for (let i = 1; i <= 5; i++) tg.groupMessage(group, bob, `question ${i}`, { mention: true });
    const last = tg.groupMessage(group, carol, "my turn", { mention: true });
    await tg.waitFor(() => tg.botMessages(group.id).some((m) => m.reply_to_message?.message_id === last.message_id), 30_000, "Carol's answer");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const texts = tg.botTexts(group.id);
    expect(texts.filter((t) => t.startsWith("Echo: Bob:"))).toEqual(["Echo: Bob: question 1", "Echo: Bob: question 2"]);
    expect(texts.filter((t) => /^Slow down, Bob/.test(t))).toHaveLength(1);
    expect(texts).toContain("Echo: Carol: my turn");
    expect(texts).toHaveLength(4);
    // Answers following each other in one group stay within Telegram's flood limits.
    expect(tg.calls.filter((c) => c.status === 429)).toEqual([]);
  }, 40_000);

  it("keeps two groups' conversations apart", async () => {
    const tg = await startWholeBot();
    const u = tg.user({ first_name: "Uma" });
    const a = tg.group({ title: "A" });
    const b = tg.group({ title: "B" });
    tg.groupMessage(a, u, "secret of group A", { mention: true });
    await tg.waitFor(() => tg.botMessages(a.id).length === 1, 15_000);
    tg.groupMessage(b, u, "hello from B", { mention: true });
    await tg.waitFor(() => tg.botMessages(b.id).length === 1, 15_000);
    expect(lastChatCall()!.messages.map((m) => m.content).join("\n")).not.toContain("secret of group A");
  });
});

describe("Telegram end to end, as `npm start` runs it", () => {
  it("serves Telegram when TELEGRAM_BOT_TOKEN is set, through TELEGRAM_API_ROOT, and not the console", async () => {
    tg = await startFakeTelegram();
    const fake = tg;
    bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot }));
    await fake.waitFor(() => fake.callsOf("setMyCommands").length > 0, 20_000, "the bot to start");
    const u = fake.user({ first_name: "Pat" });
    fake.privateMessage(u, "are you there?");
    await fake.waitFor(() => fake.botTexts(u.id).includes("Echo: are you there?"), 10_000, "the answer");
    expect(fake.callsOf("getMe")).toHaveLength(1);
    expect(bot.stdout()).not.toContain("Parley is listening");
    expect(bot.stderr()).not.toContain(fake.token);
  }, 40_000);
});
