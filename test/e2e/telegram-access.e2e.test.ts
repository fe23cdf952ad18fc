/**
 * Who may use the bot on Telegram, through the whole bot: the real grammY
 * adapter against the fake Bot API, the real dispatcher, commands and
 * stores, the fake Ollama as the model. Access lists come from the
 * environment, as an operator sets them.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { privateBotNotice } from "../../src/core/access.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeTelegram, type FakeChat, type FakeMessage, type FakeTelegram, type FakeUser } from "../fakes/telegram.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";

const OWNER_ID = 42;
const ALLOWED_ID = 501;
const ALLOWED_GROUP = -1001000000001;
const OTHER_ALLOWED_GROUP = -1001000000002;
/** Answers come well within this; generous because the machine runs other work. */
const answerMs = 15_000;

let ollama: FakeOllama;
let tg: FakeTelegram | undefined;
let app: App | undefined;
let bot: BotProcess | undefined;
let logLines: string[] = [];

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
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
  logLines = [];
  ollama.requests.length = 0;
});

/** The access lists every test here runs with, unless it says otherwise. */
const accessEnv = {
  PARLEY_OWNERS: `telegram:${OWNER_ID}`,
  TELEGRAM_ALLOWED_USERS: String(ALLOWED_ID),
  TELEGRAM_ALLOWED_CHATS: `${ALLOWED_GROUP},${OTHER_ALLOWED_GROUP}`,
};

/**
 * The whole bot in this process. Flood control is off and groups are paced
 * quickly: these tests are about who is answered, not how fast.
 */
async function startWholeBot(env: Record<string, string> = {}): Promise<FakeTelegram> {
  const fake = await startFakeTelegram({ flood: false });
  tg = fake;
  const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "5000", ...accessEnv, ...env }));
  const adapter = createTelegramAdapter({ token: fake.token, apiRoot: fake.apiRoot, conflictCheckSec: 0, botInfo: fake.botInfo, groupEditIntervalMs: 200, privateEditIntervalMs: 200 });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  app = await startApp({ config, log: pino({ level: "debug" }, sink), adapters: [adapter] });
  // Polling starts in the background: updates pushed before the first poll would not meet the bot's allowed_updates.
  await fake.waitListening(10_000);
  return fake;
}

/** What reached the model, as the texts of the last user message of each chat call. */
function modelCalls(): string[] {
  return ollama.requests
    .filter((r) => r.path === "/api/chat")
    .map((r) => (r.body as { messages: Array<{ role: string; content: string }> }).messages.filter((m) => m.role === "user").at(-1)?.content ?? "");
}

/** Log lines of the dispatcher ignoring this user (`why`: "not on the access lists" or "blocked"). */
function ignored(user: FakeUser, why: "not on the access lists; ignored" | "blocked; ignored"): number {
  return logLines.filter((line) => line.includes(why) && line.includes(`"user":"telegram:${user.id}"`)).length;
}

/** Waits until the dispatcher has ignored the user `count` times in all. */
async function waitIgnored(user: FakeUser, why: "not on the access lists; ignored" | "blocked; ignored", count: number): Promise<void> {
  await tg!.waitFor(() => ignored(user, why) >= count, answerMs, `${user.first_name} to be ignored ${count} times`);
}

/** The bot's answers to one message (it replies to the message it answers). */
function answersTo(fake: FakeTelegram, message: FakeMessage): string[] {
  return fake.botMessages(message.chat.id).filter((m) => m.reply_to_message?.message_id === message.message_id).map((m) => m.text ?? "");
}

/** Waits for the bot's answer to `message` and returns its text. */
async function answerTo(fake: FakeTelegram, message: FakeMessage, what = "an answer"): Promise<string> {
  await fake.waitFor(() => answersTo(fake, message).length > 0, answerMs, what);
  return answersTo(fake, message)[0]!;
}

function mention(fake: FakeTelegram, group: FakeChat, from: FakeUser, text: string): FakeMessage {
  return fake.groupMessage(group, from, text, { mention: true });
}

describe("Telegram access lists, end to end", () => {
  it("tells a stranger once a day that the bot is private, calling no model; an allowed user is answered", async () => {
    const fake = await startWholeBot();
    const stranger = fake.user({ id: 900, first_name: "Stranger" });
    const allowed = fake.user({ id: ALLOWED_ID, first_name: "Allowed" });

    fake.privateMessage(stranger, "hello, can I use you?");
    await fake.waitFor(() => fake.botTexts(stranger.id).length === 1, answerMs, "the refusal");
    expect(fake.botTexts(stranger.id)).toEqual([privateBotNotice]);
    expect(modelCalls()).toEqual([]);

    // The same day, again, and with a command: silence.
    fake.privateMessage(stranger, "please?");
    fake.command(fake.privateChat(stranger), stranger, "help");
    await waitIgnored(stranger, "not on the access lists; ignored", 3);

    fake.privateMessage(allowed, "hi there");
    await fake.waitFor(() => fake.botTexts(allowed.id).includes("Echo: hi there"), answerMs, "the allowed user's answer");
    expect(fake.botTexts(stranger.id)).toEqual([privateBotNotice]);
    expect(modelCalls()).toEqual(["hi there"]);
  });

  it("answers every member of an allowed group; in another group only listed users, and a stranger gets nothing at all", async () => {
    const fake = await startWholeBot();
    const stranger = fake.user({ id: 901, first_name: "Sam" });
    const allowed = fake.user({ id: ALLOWED_ID, first_name: "Allie" });
    const open = fake.group({ id: ALLOWED_GROUP, supergroup: true, title: "Open" });
    const closed = fake.group({ id: -1002000000009, supergroup: true, title: "Closed" });

    expect(await answerTo(fake, mention(fake, open, stranger, "may I?"))).toBe("Echo: Sam: may I?");

    const unheard = mention(fake, closed, stranger, "and here?");
    fake.command(closed, stranger, "help");
    // One chat's messages are handled in order: once the listed user is answered, the stranger's were handled.
    const heard = mention(fake, closed, allowed, "I am on the list");
    expect(await answerTo(fake, heard)).toBe("Echo: Allie: I am on the list");
    expect(ignored(stranger, "not on the access lists; ignored")).toBe(2);
    expect(answersTo(fake, unheard)).toEqual([]);
    expect(fake.botTexts(closed.id)).toEqual(["Echo: Allie: I am on the list"]);
    expect(modelCalls()).toEqual(["Sam: may I?", "Allie: I am on the list"]);
  });

  it("answers an owner everywhere, even with private chats turned off for everyone else", async () => {
    const fake = await startWholeBot({ TELEGRAM_ALLOW_PRIVATE: "false" });
    const owner = fake.user({ id: OWNER_ID, first_name: "Owner" });
    const allowed = fake.user({ id: ALLOWED_ID, first_name: "Allie" });
    const closed = fake.group({ id: -1002000000010, title: "Unlisted" });

    fake.privateMessage(owner, "status report");
    await fake.waitFor(() => fake.botTexts(owner.id).includes("Echo: status report"), answerMs, "the owner's private answer");
    expect(await answerTo(fake, mention(fake, closed, owner, "in an unlisted group"))).toBe("Echo: Owner: in an unlisted group");

    // Private chats are off: a listed user is told the bot is private there, and is still served in groups.
    fake.privateMessage(allowed, "hello in private");
    await fake.waitFor(() => fake.botTexts(allowed.id).length === 1, answerMs, "the refusal");
    expect(fake.botTexts(allowed.id)).toEqual([privateBotNotice]);
    expect(await answerTo(fake, mention(fake, closed, allowed, "hello in the group"))).toBe("Echo: Allie: hello in the group");
    expect(modelCalls()).toEqual(["status report", "Owner: in an unlisted group", "Allie: hello in the group"]);
  });
});

describe("Telegram: added to groups, end to end", () => {
  it("says it is private and leaves a group nobody listed; stays where it is allowed or was brought by a listed user or an owner", async () => {
    const fake = await startWholeBot();
    const stranger = fake.user({ id: 902, first_name: "Stranger" });
    const allowed = fake.user({ id: ALLOWED_ID, first_name: "Allie" });
    const owner = fake.user({ id: OWNER_ID, first_name: "Owner" });
    const unlisted = fake.group({ id: -1003000000001, supergroup: true, title: "Random", botMember: false });
    const listed = fake.group({ id: ALLOWED_GROUP, supergroup: true, title: "Listed", botMember: false });
    const broughtByUser = fake.group({ id: -1003000000002, title: "Allie's", botMember: false });
    const broughtByOwner = fake.group({ id: -1003000000003, title: "Owner's", botMember: false });

    fake.addBot(unlisted, stranger);
    await fake.waitFor(() => fake.callsOf("leaveChat", unlisted.id).length === 1, answerMs, "the bot to leave");
    expect(fake.botTexts(unlisted.id)).toHaveLength(1);
    expect(fake.botTexts(unlisted.id)[0]).toMatch(/private/i);
    expect(fake.botStatus(unlisted.id)).toBe("left");
    // Gone: what is said there no longer reaches the bot.
    fake.groupMessage(unlisted, stranger, "come back", { mention: true });

    fake.addBot(listed, stranger);
    fake.addBot(broughtByUser, allowed);
    fake.addBot(broughtByOwner, owner);
    // Each group's updates are handled in order: an answer there means the join was handled before it.
    for (const [group, who] of [
      [listed, stranger],
      [broughtByUser, allowed],
      [broughtByOwner, owner],
    ] as const) {
      const asked = mention(fake, group, who, "still here?");
      expect(await answerTo(fake, asked)).toBe(`Echo: ${who.first_name}: still here?`);
      expect(fake.botStatus(group.id)).toBe("member");
    }
    expect(fake.callsOf("leaveChat").map((c) => Number(c.params.chat_id))).toEqual([unlisted.id]);
    expect(fake.botTexts(unlisted.id)).toHaveLength(1);
    expect(logLines.join("")).toContain("added to a Telegram group it does not serve; leaving");
  });

  it("stays in unlisted groups with PARLEY_LEAVE_UNLISTED=false, and keeps strangers there unanswered", async () => {
    const fake = await startWholeBot({ PARLEY_LEAVE_UNLISTED: "false" });
    const stranger = fake.user({ id: 903, first_name: "Stranger" });
    const allowed = fake.user({ id: ALLOWED_ID, first_name: "Allie" });
    const unlisted = fake.group({ id: -1003000000004, botMember: false });
    fake.addBot(unlisted, stranger);
    mention(fake, unlisted, stranger, "hello?");
    expect(await answerTo(fake, mention(fake, unlisted, allowed, "hello"))).toBe("Echo: Allie: hello");
    expect(ignored(stranger, "not on the access lists; ignored")).toBe(1);
    expect(fake.callsOf("leaveChat")).toEqual([]);
    expect(fake.botTexts(unlisted.id)).toEqual(["Echo: Allie: hello"]);
  });
});

describe("Telegram blocks, end to end", () => {
  it("a group admin blocks someone by replying to them: ignored in that group only, until /unblock", async () => {
    const fake = await startWholeBot();
    const admin = fake.user({ id: 601, first_name: "Admin" });
    const troll = fake.user({ id: 602, first_name: "Troll" });
    const member = fake.user({ id: 603, first_name: "Member" });
    const group = fake.group({ id: ALLOWED_GROUP, supergroup: true, creator: admin });
    const other = fake.group({ id: OTHER_ALLOWED_GROUP, supergroup: true });

    const rude = mention(fake, group, troll, "something rude");
    expect(await answerTo(fake, rude)).toBe("Echo: Troll: something rude");

    // Only an admin may block.
    const tried = fake.command(group, member, "block", "", { replyTo: rude.message_id });
    expect(await answerTo(fake, tried)).toMatch(/^Only group admins can use \/block/);

    const blocking = fake.command(group, admin, "block", "", { replyTo: rude.message_id });
    expect(await answerTo(fake, blocking)).toBe("Blocked Troll in this channel: I'll ignore their messages.");

    const ignoredMessage = mention(fake, group, troll, "why no answer?");
    const marker = mention(fake, group, member, "are you there?");
    expect(await answerTo(fake, marker)).toBe("Echo: Member: are you there?");
    expect(ignored(troll, "blocked; ignored")).toBe(1);
    expect(answersTo(fake, ignoredMessage)).toEqual([]);
    // A block in one group is not a block in another.
    expect(await answerTo(fake, mention(fake, other, troll, "over here"))).toBe("Echo: Troll: over here");

    const listing = fake.command(group, admin, "blocked");
    const listed = await answerTo(fake, listing);
    expect(listed).toContain("Blocked in this channel:");
    expect(listed).toContain(`Troll (telegram:${troll.id}), by Admin`);

    const unblocking = fake.command(group, admin, "unblock", `telegram:${troll.id}`);
    expect(await answerTo(fake, unblocking)).toBe("Unblocked Troll in this channel.");
    expect(await answerTo(fake, mention(fake, group, troll, "I am back"))).toBe("Echo: Troll: I am back");
    expect(await answerTo(fake, fake.command(group, admin, "blocked"))).toBe("Nobody is blocked here.");
    expect(modelCalls()).not.toContain("Troll: why no answer?");
  });

  it("blocks by user key or by a text mention; an owner's block holds everywhere, private chat included, and covers commands", async () => {
    const fake = await startWholeBot();
    const owner = fake.user({ id: OWNER_ID, first_name: "Owner" });
    const admin = fake.user({ id: 611, first_name: "Admin" });
    // On the users list: served everywhere, private chats included, until blocked.
    const pest = fake.user({ id: ALLOWED_ID, first_name: "Pest" });
    const ann = fake.user({ id: 613, first_name: "Ann" });
    const group = fake.group({ id: ALLOWED_GROUP, supergroup: true, creator: admin });
    const other = fake.group({ id: OTHER_ALLOWED_GROUP, supergroup: true });

    // An admin names someone without a username by a text mention.
    const byMention = fake.command(group, admin, "block", "Ann", { mentionUsers: [ann] });
    expect(await answerTo(fake, byMention)).toBe("Blocked Ann in this channel: I'll ignore their messages.");

    // The owner blocks by user key: everywhere.
    const byKey = fake.command(group, owner, "block", `telegram:${pest.id}`);
    expect(await answerTo(fake, byKey)).toBe(`Blocked telegram:${pest.id} everywhere: I'll ignore their messages.`);

    mention(fake, group, pest, "hello?");
    fake.command(group, pest, "help");
    mention(fake, group, ann, "me too?");
    mention(fake, other, pest, "and here?");
    const marker = mention(fake, group, admin, "quiet now");
    expect(await answerTo(fake, marker)).toBe("Echo: Admin: quiet now");
    await waitIgnored(pest, "blocked; ignored", 3);
    expect(ignored(ann, "blocked; ignored")).toBe(1);
    expect(fake.botTexts(other.id)).toEqual([]);
    // Blocked everywhere: not even a private chat answers.
    fake.privateMessage(pest, "let me in");
    await waitIgnored(pest, "blocked; ignored", 4);
    expect(fake.botTexts(pest.id)).toEqual([]);

    const listing = await answerTo(fake, fake.command(group, admin, "blocked"));
    expect(listing).toContain(`Ann (telegram:${ann.id}), by Admin`);
    expect(listing).toContain("Blocked everywhere:");
    expect(listing).toContain(`telegram:${pest.id}, by Owner`);

    // An admin cannot lift an owner's block; the owner can.
    expect(await answerTo(fake, fake.command(group, admin, "unblock", `telegram:${pest.id}`))).toMatch(/blocked everywhere by the bot's owner/);
    expect(await answerTo(fake, fake.command(group, owner, "unblock", `telegram:${pest.id}`))).toBe(`Unblocked telegram:${pest.id}.`);
    expect(await answerTo(fake, mention(fake, other, pest, "back again"))).toBe("Echo: Pest: back again");
    expect(modelCalls().filter((t) => t.startsWith("Pest:"))).toEqual(["Pest: back again"]);
  });
});

describe("Telegram access, as `npm start` runs it", () => {
  it("reads the access lists from the environment: refuses a stranger once, leaves an unlisted group, answers the listed user", async () => {
    const fake = await startFakeTelegram();
    tg = fake;
    bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot, LOG_LEVEL: "debug", ...accessEnv }));
    await fake.waitFor(() => fake.callsOf("setMyCommands").length > 0, 30_000, "the bot to start");
    await fake.waitListening(10_000);
    const stranger = fake.user({ id: 904, first_name: "Stranger" });
    const allowed = fake.user({ id: ALLOWED_ID, first_name: "Allie" });
    const unlisted = fake.group({ id: -1003000000005, botMember: false });

    fake.privateMessage(stranger, "hi");
    await fake.waitFor(() => fake.botTexts(stranger.id).length === 1, answerMs, "the refusal");
    expect(fake.botTexts(stranger.id)).toEqual([privateBotNotice]);
    fake.addBot(unlisted, stranger);
    await fake.waitFor(() => fake.callsOf("leaveChat", unlisted.id).length === 1, answerMs, "the bot to leave");
    fake.privateMessage(stranger, "hi again");
    fake.privateMessage(allowed, "hello");
    await fake.waitFor(() => fake.botTexts(allowed.id).includes("Echo: hello"), answerMs, "the listed user's answer");
    // Private chats are handled concurrently: the log says when the stranger's second message was turned away.
    const strangerIgnored = () => bot!.stderr().split("\n").filter((l) => l.includes("not on the access lists") && l.includes(`"user":"telegram:${stranger.id}"`)).length;
    await fake.waitFor(() => strangerIgnored() === 2, answerMs, "the stranger's second message to be ignored");
    expect(bot.stderr()).toContain("added to a Telegram group it does not serve; leaving");
    expect(fake.botTexts(stranger.id)).toEqual([privateBotNotice]);
    expect(modelCalls()).toEqual(["hello"]);
    expect(bot.stderr()).not.toContain(fake.token);
  }, 60_000);
});
