/** Access lists, owners and blocks through the whole bot (in process): the dispatcher's one path decides. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { privateBotNotice } from "../../src/core/access.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

const chatCalls = (ollama: FakeOllama) => ollama.requests.filter((r) => r.path === "/api/chat").length;

/** The fake model echoes the last message; in shared channels the bot prefixes it with its author's name. */
const echo = (text: string) => new RegExp(`^Echo: (\\S+: )?${text}$`);

const GUILD = "111111111111111111";
const CHANNEL = "222222222222222222";
const THREAD = "222222222222222299";
const ROLE = "333333333333333333";

let ollama: FakeOllama;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.requests.length = 0;
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const start = (env: Record<string, string> = {}) => startTestApp({ OLLAMA_HOST: ollama.url, ...env }).then((b) => (bot = b));

describe("access lists", () => {
  it("tells a stranger in a private chat once a day that the bot is private, and calls no model", async () => {
    const b = await start({ TELEGRAM_ALLOWED_USERS: "42" });
    expect(await b.say("hello?", { user: "7", channel: "7", private: true })).toBe(privateBotNotice);
    expect(await b.say("hello again?", { user: "7", channel: "7", private: true })).toBe("");
    expect(await b.say("/help", { user: "7", channel: "7", private: true })).toBe("");
    expect(chatCalls(ollama)).toBe(0);
    expect(await b.app.services.usage.userToday("telegram:7")).toMatchObject({ requests: 0, commands: 0, promptTokens: 0 });
    // The allowed user is answered.
    expect(await b.say("hello", { user: "42", channel: "42", private: true })).toMatch(echo("hello"));
  });

  it("says nothing to a stranger in a group, and answers listed groups and users", async () => {
    const b = await start({ TELEGRAM_ALLOWED_USERS: "42", TELEGRAM_ALLOWED_CHATS: "-1001" });
    expect(await b.say("anyone?", { user: "7", channel: "-2002" })).toBe("");
    expect(await b.say("in the listed group", { user: "7", channel: "-1001" })).toMatch(echo("in the listed group"));
    expect(await b.say("a listed user anywhere", { user: "42", channel: "-2002" })).toMatch(echo("a listed user anywhere"));
    expect(chatCalls(ollama)).toBe(2);
  });

  it("answers Discord members with an allowed role in allowed channels and their threads", async () => {
    const b = await start({ DISCORD_ALLOWED_GUILDS: GUILD, DISCORD_ALLOWED_CHANNELS: CHANNEL, DISCORD_ALLOWED_ROLES: ROLE });
    const member = { platform: "discord" as const, server: GUILD, channel: CHANNEL, user: "444444444444444444" };
    expect(await b.say("hi", { ...member, roles: [ROLE] })).toMatch(echo("hi"));
    expect(await b.say("in a thread", { ...member, channel: THREAD, parent: CHANNEL, roles: [ROLE] })).toMatch(echo("in a thread"));
    expect(await b.say("no role", { ...member, roles: [] })).toBe("");
    expect(await b.say("elsewhere", { ...member, channel: "222222222222222223", roles: [ROLE] })).toBe("");
    expect(await b.say("a DM", { platform: "discord", channel: "555555555555555555", private: true, user: "444444444444444444" })).toBe(privateBotNotice);
  });

  it("serves an owner everywhere, as a moderator", async () => {
    const b = await start({ PARLEY_OWNERS: "telegram:9", TELEGRAM_ALLOWED_USERS: "42", TELEGRAM_ALLOW_PRIVATE: "false" });
    expect(await b.say("hi", { user: "9", channel: "9", private: true })).toMatch(echo("hi"));
    expect(await b.say("/reset", { user: "9", channel: "-5" })).toMatch(/^Conversation cleared\./);
    // A listed user who is no admin is not a moderator.
    expect(await b.say("/reset", { user: "42", channel: "-5" })).toMatch(/^Only group admins can use \/reset/);
  });
});

describe("blocks", () => {
  const ann = { key: "telegram:7", name: "Ann" };

  it("a moderator blocks someone in a channel by replying to them; they are ignored there until unblocked", async () => {
    const b = await start();
    const mod = { user: "1", name: "Mod", channel: "-10", moderator: true };
    expect(await b.say("/block", { ...mod, replyTo: { author: ann, text: "spam spam" } })).toBe("Blocked Ann in this channel: I'll ignore their messages.");
    expect(await b.say("hello?", { user: "7", channel: "-10" })).toBe("");
    expect(await b.say("/help", { user: "7", channel: "-10" })).toBe("");
    expect(await b.say("elsewhere", { user: "7", channel: "-11" })).toMatch(echo("elsewhere"));
    expect(await b.say("/blocked", mod)).toMatch(/^Blocked in this channel:\n• Ann \(telegram:7\), by Mod on \d{4}-\d{2}-\d{2}$/);
    expect(chatCalls(ollama)).toBe(1);

    expect(await b.say("/unblock telegram:7", mod)).toBe("Unblocked Ann in this channel.");
    expect(await b.say("back", { user: "7", channel: "-10" })).toMatch(echo("back"));
    expect(await b.say("/blocked", mod)).toBe("Nobody is blocked here.");
  });

  it("lets only moderators block, and never an owner or oneself", async () => {
    const b = await start({ PARLEY_OWNERS: "telegram:9" });
    expect(await b.say("/block telegram:8", { user: "2", channel: "-10" })).toMatch(/^Only group admins can use \/block/);
    expect(await b.say("/block telegram:9", { user: "1", channel: "-10", moderator: true })).toBe("telegram:9 owns this bot and can't be blocked.");
    expect(await b.say("/block 1", { user: "1", channel: "-10", moderator: true })).toBe("You can't block yourself.");
    expect(await b.say("/block", { user: "1", channel: "-10", moderator: true })).toMatch(/^Whom\? Reply to one of their messages with \/block/);
  });

  it("an owner blocks everywhere; a moderator cannot lift that", async () => {
    const b = await start({ PARLEY_OWNERS: "telegram:9" });
    expect(await b.say("/block", { user: "9", channel: "-10", mentions: [ann] })).toBe("Blocked Ann everywhere: I'll ignore their messages.");
    expect(await b.say("hi", { user: "7", channel: "-11" })).toBe("");
    expect(await b.say("hi", { user: "7", channel: "7", private: true })).toBe("");
    expect(await b.say("/unblock telegram:7", { user: "1", channel: "-11", moderator: true })).toBe(
      "Ann is blocked everywhere by the bot's owner; only an owner can unblock them.",
    );
    expect(await b.say("/unblock telegram:7", { user: "9", channel: "-12" })).toBe("Unblocked Ann.");
    expect(await b.say("hi", { user: "7", channel: "-11" })).toMatch(echo("hi"));
  });

  it("a Discord block made in a thread holds in its channel and every thread of it", async () => {
    const b = await start();
    const where = { platform: "discord" as const, server: GUILD };
    const bob = { key: "discord:444444444444444445", name: "Bob" };
    expect(await b.say(`/block <@444444444444444445>`, { ...where, channel: THREAD, parent: CHANNEL, user: "444444444444444444", moderator: true, mentions: [bob] })).toBe(
      "Blocked Bob in this channel: I'll ignore their messages.",
    );
    expect(await b.say("hi", { ...where, channel: CHANNEL, user: "444444444444444445" })).toBe("");
    expect(await b.say("hi", { ...where, channel: "222222222222222298", parent: CHANNEL, user: "444444444444444445" })).toBe("");
    expect(await b.say("hi", { ...where, channel: "222222222222222223", user: "444444444444444445" })).toMatch(echo("hi"));
  });
});

describe("blocks, odd cases", () => {
  it("a blocked stranger gets silence, not the private-bot sentence", async () => {
    const b = await start({ PARLEY_OWNERS: "telegram:9", TELEGRAM_ALLOWED_USERS: "42" });
    expect(await b.say("/block telegram:7", { user: "9", channel: "9", private: true })).toMatch(/^Blocked telegram:7 everywhere/);
    expect(await b.say("hello?", { user: "7", channel: "7", private: true })).toBe("");
  });

  it("never blocks a bot, nor guesses who an unknown @name is", async () => {
    const b = await start();
    const mod = { user: "1", channel: "-10", moderator: true };
    expect(await b.say("/block", { ...mod, replyTo: { author: { key: "telegram:5000", name: "Parley", bot: true }, text: "hi" } })).toBe(
      "Parley is a bot: I never answer bots anyway.",
    );
    // On Telegram an @username carries no id: the reply's author must not be blocked in its place.
    expect(await b.say("/block @someone", { ...mod, replyTo: { author: { key: "telegram:7", name: "Ann" }, text: "hi" } })).toMatch(/^I can't tell who @someone is\./);
    expect(await b.say("hi", { user: "7", channel: "-10" })).toMatch(echo("hi"));
  });

  it("a block made in a Telegram forum topic holds in every topic of the group", async () => {
    const b = await start();
    const topic = (n: number) => ({ channel: `-100777:${n}`, parent: "-100777" });
    expect(await b.say("/block telegram:7", { ...topic(3), user: "1", moderator: true })).toMatch(/^Blocked telegram:7 in this channel/);
    expect(await b.say("hi", { ...topic(4), user: "7" })).toBe("");
    expect(await b.say("hi", { channel: "-100777", user: "7" })).toBe("");
    expect(await b.say("/unblock telegram:7", { ...topic(5), user: "1", moderator: true })).toBe("Unblocked telegram:7 in this channel.");
    expect(await b.say("hi", { ...topic(4), user: "7" })).toMatch(echo("hi"));
  });
});
