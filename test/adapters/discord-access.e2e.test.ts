/**
 * Who may use the bot on Discord, through the whole bot as users run it
 * (`npm start` with the access variables set): real discord.js against the
 * fake Discord, the real dispatcher and commands, the fake Ollama as the
 * model. Silence is proved by a barrier: a later message in the same channel
 * that is answered (one channel's messages are handled in order), with the
 * model's calls counted; a slash command that gets nothing has its deferred
 * response removed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateBotNotice } from "../../src/core/access.js";
import type { FakeUser, StoredMessage } from "../fakes/discord/index.js";
import { startScenario, type DiscordScenario } from "../fakes/discord/scenario.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";

/** Waits that are not about time: generous, the machine is shared. */
const WAIT_MS = 20_000;

let ollama: FakeOllama;
const modelCalls = () => ollama.requests.filter((r) => r.path === "/api/chat").length;

async function startAccessBot(scenario: DiscordScenario, access: Record<string, string>): Promise<BotProcess> {
  const bot = startBot(
    botEnv({
      DISCORD_TOKEN: scenario.fake.token,
      DISCORD_API_URL: scenario.fake.apiUrl,
      OLLAMA_HOST: ollama.url,
      LLM_TIMEOUT_MS: "20000",
      LOG_LEVEL: "debug",
      ...access,
    }),
  );
  await scenario.fake
    .waitFor(() => scenario.fake.connectedClients === 1 && scenario.fake.requestsTo("PUT", /\/commands$/).length > 0, 30_000)
    .catch((e: unknown) => {
      throw new Error(`the bot did not connect: ${String(e)}\n${bot.stderr().slice(-3000)}`);
    });
  await scenario.fake.waitFor(() => bot.stderr().includes('"msg":"adapter started"'), WAIT_MS);
  return bot;
}

/** What the bot wrote in answer to `asked` (as last edited), once it contains `text`. */
function answerTo(scenario: DiscordScenario, asked: StoredMessage, text: string): Promise<StoredMessage> {
  return scenario.fake.waitFor(
    () => scenario.fake.botMessages(asked.channelId).find((m) => m.referencedMessageId === asked.id && m.content.includes(text)),
    WAIT_MS,
  );
}

const answered = (scenario: DiscordScenario, asked: StoredMessage) =>
  scenario.fake.botMessages(asked.channelId).some((m) => m.referencedMessageId === asked.id);

/** JSON log lines of the bot with this message. */
const logLines = (bot: BotProcess, msg: string) =>
  bot
    .stderr()
    .split("\n")
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
});
afterAll(async () => {
  await ollama?.close();
});

describe("discord access: guilds, channels and roles lists, owners, joins, blocks", () => {
  let s: DiscordScenario;
  let bot: BotProcess;
  let owner: FakeUser;
  /** A server the bot was in before it started, not on the guilds list. */
  let oldGuild: string;
  let oldChannel: string;
  /** A listed server the bot is added to while it runs. */
  let laterGuild: string;
  let laterLobby: string;

  /** A mention of the bot in `channelId` by `author`. */
  const ask = (channelId: string, author: FakeUser, content: string) =>
    s.fake.sendGuildMessage({ channelId, authorId: author.id, content, mentionBot: true });

  /** `silent` gets no answer and calls no model: `barrier`, sent after it in the same channel, is answered and is the one call. */
  async function expectSilence(silent: () => Promise<StoredMessage>, barrier: () => Promise<StoredMessage>): Promise<void> {
    const before = modelCalls();
    const ignored = await silent();
    const after = await barrier();
    await answerTo(s, after, "Echo:");
    expect(answered(s, ignored)).toBe(false);
    expect(modelCalls()).toBe(before + 1);
  }

  beforeAll(async () => {
    s = await startScenario();
    owner = s.fake.addUser({ username: "olive", globalName: "Olive" });
    s.fake.addMember(s.guildId, owner.id);
    oldGuild = s.fake.addGuild({ name: "Old Haunt" });
    oldChannel = s.fake.addChannel(oldGuild, { name: "lounge" });
    s.fake.addMember(oldGuild, owner.id);
    s.fake.addMember(oldGuild, s.member.id);
    laterGuild = s.fake.addGuild({ name: "Listed Later", withBot: false });
    laterLobby = s.fake.addChannel(laterGuild, { name: "lobby", system: true });
    s.fake.addMember(laterGuild, owner.id);
    bot = await startAccessBot(s, {
      PARLEY_OWNERS: `discord:${owner.id}`,
      DISCORD_ALLOWED_GUILDS: `${s.guildId},${laterGuild}`,
      DISCORD_ALLOWED_CHANNELS: s.general,
      DISCORD_ALLOWED_ROLES: `${s.helperRoleId},${s.modRoleId}`,
    });
  }, 60_000);
  afterAll(async () => {
    bot?.kill();
    await s?.fake.close();
  });

  it("answers a member with an allowed role, and not a member without one", async () => {
    const { general, member, helper } = s;
    await expectSilence(
      () => ask(general, member, "may I?"),
      () => ask(general, helper, "and me?"),
    );
  }, 60_000);

  it("stays silent in a channel not on the list, and answers in a thread of a listed one", async () => {
    const { random, thread, helper } = s;
    await expectSilence(
      () => ask(random, helper, "anyone here?"),
      () => ask(random, owner, "owners are answered in any channel"),
    );
    const inThread = await ask(thread, helper, "threads count as their channel");
    await answerTo(s, inThread, "Echo:");
  }, 60_000);

  it("answers an owner everywhere: an unlisted channel, an unlisted server and a DM", async () => {
    const before = modelCalls();
    await answerTo(s, await ask(s.random, owner, "in random"), "in random");
    await answerTo(s, await ask(oldChannel, owner, "in the old server"), "in the old server");
    await answerTo(s, await s.fake.sendDm(owner.id, "in private"), "in private");
    expect(modelCalls()).toBe(before + 3);
  }, 60_000);

  it("does not serve nor leave a server it was in at start that is not listed, and says so in the log", async () => {
    await expectSilence(
      () => ask(oldChannel, s.member, "hello old friend"),
      () => ask(oldChannel, owner, "still here"),
    );
    expect(s.fake.leftGuilds).not.toContain(oldGuild);
    const warning = logLines(bot, "discord: in servers that are not on the guilds list; they are not served, and not left either: remove the bot there by hand");
    expect(warning.map((w) => w.guildIds)).toEqual([[oldGuild]]);
  }, 60_000);

  it("tells a stranger's DM once that the bot is private, and calls no model", async () => {
    const { fake, dmUser } = s;
    const before = modelCalls();
    const first = await fake.sendDm(dmUser.id, "hello?");
    const notice = await answerTo(s, first, privateBotNotice);
    expect(notice.content).toBe(privateBotNotice);
    await fake.sendDm(dmUser.id, "hello again?");
    await fake.waitFor(() => logLines(bot, "not on the access lists; ignored").filter((l) => l.user === `discord:${dmUser.id}`).length === 2, WAIT_MS);
    expect(fake.botMessages(fake.dmChannelId(dmUser.id)).map((m) => m.content)).toEqual([privateBotNotice]);
    expect(modelCalls()).toBe(before);
  }, 60_000);

  it("holds slash commands to the same lists: a stranger's /chat calls no model, a listed member's does", async () => {
    const { fake, general, member, helper } = s;
    const before = modelCalls();
    const refused = await fake.slashCommand({ channelId: general, userId: member.id, name: "chat", options: { text: "let me in" } });
    // Nothing to say in a server: the deferred "thinking…" response is removed.
    await fake.waitFor(() => fake.requestsTo("DELETE", new RegExp(`/webhooks/\\d+/${refused.token}/messages/@original$`)).length === 1, WAIT_MS);
    expect(fake.messages(general).some((m) => m.interactionId === refused.id)).toBe(false);

    const stranger = fake.addUser({ username: "sam", globalName: "Sam" });
    const inDm = await fake.slashCommand({ dm: true, userId: stranger.id, name: "chat", options: { text: "psst" } });
    await fake.waitFor(() => fake.messages(fake.dmChannelId(stranger.id)).find((m) => m.interactionId === inDm.id && m.content === privateBotNotice), WAIT_MS);
    expect(modelCalls()).toBe(before);

    const allowed = await fake.slashCommand({ channelId: general, userId: helper.id, name: "chat", options: { text: "a listed member asks" } });
    await fake.waitFor(() => fake.messages(general).find((m) => m.interactionId === allowed.id && m.content.includes("a listed member asks")), WAIT_MS);
    expect(modelCalls()).toBe(before + 1);
  }, 60_000);

  it("leaves a server that is not on the list when added to it, saying why once, and stays in a listed one", async () => {
    const { fake } = s;
    const stranger = fake.addGuild({ name: "Somewhere Else", withBot: false });
    const lobby = fake.addChannel(stranger, { name: "lobby", system: true });
    fake.addBotToGuild(laterGuild);
    fake.addBotToGuild(stranger);
    await fake.waitFor(() => fake.leftGuilds.includes(stranger), WAIT_MS);
    expect(fake.botMessages(lobby).map((m) => m.content)).toEqual([expect.stringContaining("private")]);
    expect(fake.requestsTo("DELETE", new RegExp(`^/users/@me/guilds/${stranger}$`)).map((r) => r.status)).toEqual([204]);

    expect(fake.leftGuilds).toEqual([stranger]);
    expect(fake.botMessages(laterLobby)).toEqual([]);
    await answerTo(s, await ask(laterLobby, owner, "glad you stayed"), "glad you stayed");
  }, 60_000);

  it("ignores a blocked user in the channel and its threads, lists them, and hears them again once unblocked", async () => {
    const { fake, general, thread, moderator, helper, member } = s;
    // Only moderators block.
    const notMod = await fake.slashCommand({ channelId: general, userId: helper.id, name: "block", options: { user: member.id } });
    await fake.waitFor(() => fake.messages(general).find((m) => m.interactionId === notMod.id && m.content.startsWith("Only moderators can use /block")), WAIT_MS);

    const blockIt = await fake.sendGuildMessage({ channelId: general, authorId: moderator.id, content: `!block <@${helper.id}>` });
    await answerTo(s, blockIt, "Blocked Margaret in this channel");

    await expectSilence(
      () => ask(general, helper, "can you hear me?"),
      () => ask(general, moderator, "barrier in the channel"),
    );
    await expectSilence(
      () => ask(thread, helper, "and in the thread?"),
      () => ask(thread, moderator, "barrier in the thread"),
    );
    const slashBefore = modelCalls();
    const blockedSlash = await fake.slashCommand({ channelId: general, userId: helper.id, name: "chat", options: { text: "by slash then" } });
    await fake.waitFor(() => fake.requestsTo("DELETE", new RegExp(`/webhooks/\\d+/${blockedSlash.token}/messages/@original$`)).length === 1, WAIT_MS);
    expect(modelCalls()).toBe(slashBefore);

    const list = await fake.slashCommand({ channelId: general, userId: moderator.id, name: "blocked" });
    const listed = await fake.waitFor(() => fake.messages(general).find((m) => m.interactionId === list.id && m.content.includes("Blocked in this channel")), WAIT_MS);
    expect(listed.content).toContain(`Margaret (discord:${helper.id}), by Grace`);

    const lift = await fake.slashCommand({ channelId: general, userId: moderator.id, name: "unblock", options: { user: helper.id } });
    await fake.waitFor(() => fake.messages(general).find((m) => m.interactionId === lift.id && m.content === "Unblocked Margaret in this channel."), WAIT_MS);
    await answerTo(s, await ask(general, helper, "back again"), "back again");
    await answerTo(s, await ask(thread, helper, "and in the thread"), "and in the thread");
  }, 90_000);
});

describe("discord access: a users list", () => {
  let s: DiscordScenario;
  let bot: BotProcess;

  beforeAll(async () => {
    s = await startScenario();
    s.fake.addMember(s.guildId, s.dmUser.id);
    bot = await startAccessBot(s, { DISCORD_ALLOWED_USERS: s.dmUser.id });
  }, 60_000);
  afterAll(async () => {
    bot?.kill();
    await s?.fake.close();
  });

  it("answers a listed user in DMs and in servers, tells a stranger's DM once, and ignores strangers in servers", async () => {
    const { fake, general, dmUser, member, moderator } = s;
    const before = modelCalls();
    const strangerDm = await fake.sendDm(member.id, "hi, can I use you?");
    const notice = await answerTo(s, strangerDm, privateBotNotice);
    expect(notice.content).toBe(privateBotNotice);
    expect(modelCalls()).toBe(before);

    await answerTo(s, await fake.sendDm(dmUser.id, "a listed user in private"), "a listed user in private");

    // A moderator of the server is not on the users list either.
    const ignored = await fake.sendGuildMessage({ channelId: general, authorId: moderator.id, content: "me too?", mentionBot: true });
    const listed = await fake.sendGuildMessage({ channelId: general, authorId: dmUser.id, content: "a listed user in a server", mentionBot: true });
    await answerTo(s, listed, "a listed user in a server");
    expect(answered(s, ignored)).toBe(false);
    expect(modelCalls()).toBe(before + 2);
  }, 60_000);
});

describe("discord access: DMs turned off", () => {
  let s: DiscordScenario;
  let bot: BotProcess;
  let owner: FakeUser;

  beforeAll(async () => {
    s = await startScenario();
    owner = s.fake.addUser({ username: "olive", globalName: "Olive" });
    bot = await startAccessBot(s, { DISCORD_ALLOW_DMS: "false", PARLEY_OWNERS: `discord:${owner.id}` });
  }, 60_000);
  afterAll(async () => {
    bot?.kill();
    await s?.fake.close();
  });

  it("tells a DM that the bot is private, calls no model, and still answers in servers and owners' DMs", async () => {
    const { fake, general, member } = s;
    const before = modelCalls();
    const dm = await fake.sendDm(member.id, "can we talk in private?");
    expect((await answerTo(s, dm, privateBotNotice)).content).toBe(privateBotNotice);
    expect(modelCalls()).toBe(before);

    await answerTo(s, await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "here then", mentionBot: true }), "here then");
    await answerTo(s, await fake.sendDm(owner.id, "the owner in private"), "the owner in private");
    expect(modelCalls()).toBe(before + 2);
  }, 60_000);
});
