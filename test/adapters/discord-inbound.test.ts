import { PermissionFlagsBits } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import { createDiscordAdapter } from "../../src/adapters/discord/index.js";
import { ParleyError } from "../../src/core/errors.js";
import { Intent, startFakeDiscord } from "../fakes/discord/index.js";
import { startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const texts = (b: RunningDiscordBot) => b.received.map((r) => r.message.text);

describe("discord adapter: what reaches the core", () => {
  it("connects with the intents it needs and hands a DM over as private and addressed", async () => {
    bot = await startDiscordBot();
    const { fake, dmUser } = bot;
    const intents = fake.identifies.at(-1)!.intents;
    for (const intent of [Intent.Guilds, Intent.GuildMessages, Intent.MessageContent, Intent.DirectMessages]) {
      expect(intents & intent).toBe(intent);
    }

    bot.behaviour = (_m, reply) => reply.send("hello Alan");
    const dm = await fake.sendDm(dmUser.id, "hi there");
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message).toMatchObject({
      platform: "discord",
      channel: { key: `discord:${fake.dmChannelId(dmUser.id)}`, private: true },
      author: { key: `discord:${dmUser.id}`, name: "Alan" },
      text: "hi there",
      addressed: true,
    });
    expect(message.command).toBeUndefined();
    expect(await message.isModerator()).toBe(true);

    const answer = await fake.waitFor(() => fake.botMessages(fake.dmChannelId(dmUser.id))[0]);
    expect(answer.content).toBe("hello Alan");
    // The answer replies to the user's message, without pinging them.
    expect(answer.referencedMessageId).toBe(dm.id);
    expect(answer.pings).toEqual({ everyone: false, users: [], roles: [], repliedUser: false });
  });

  it("stays silent on plain guild chatter and answers a mention, with the mention removed", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "just talking among ourselves" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "what is two plus two?", mentionBot: true });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `hey <@!${fake.bot.id}> nickname-style mention` });
    await bot.waitReceived(2);
    await fake.sync();
    expect(texts(bot)).toEqual(["what is two plus two?", "hey nickname-style mention"]);
    const { message } = bot.received[0]!;
    expect(message.channel).toEqual({ key: `discord:${general}`, private: false, title: "general" });
    // Shared channels name people by their display name in that server.
    expect(message.author).toEqual({ key: `discord:${member.id}`, name: "Ada L.", roles: [] });
  });

  it("treats a mention of the bot's own role as a mention", async () => {
    bot = await startDiscordBot();
    const { fake, general, member, guildId } = bot;
    const botRole = [...fake.world.guilds.get(guildId)!.roles.values()].find((r) => r.botId === fake.bot.id)!;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `<@&${botRole.id}> are you there?` });
    await bot.waitReceived(1);
    expect(texts(bot)).toEqual(["are you there?"]);
  });

  it("answers a reply to its own message, but not a reply to someone else's", async () => {
    bot = await startDiscordBot();
    const { fake, general, member, moderator } = bot;
    bot.behaviour = (m, reply) => reply.send(`you said: ${m.text}`);
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "start", mentionBot: true });
    const botMessage = await fake.waitFor(() => fake.botMessages(general)[0]);

    const human = await fake.sendGuildMessage({ channelId: general, authorId: moderator.id, content: "a human said this" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "replying to a human", replyTo: human.id });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "and what about this?", replyTo: botMessage.id });
    await bot.waitReceived(2);
    await fake.sync();
    expect(texts(bot)).toEqual(["start", "and what about this?"]);
  });

  it("keeps a thread as its own channel and answers inside it", async () => {
    bot = await startDiscordBot();
    const { fake, general, thread, member } = bot;
    bot.behaviour = (_m, reply) => reply.send("answer in the thread");
    const asked = await fake.sendGuildMessage({ channelId: thread, authorId: member.id, content: "question in a thread", mentionBot: true });
    await bot.waitReceived(1);
    expect(bot.received[0]!.message.channel).toEqual({ key: `discord:${thread}`, private: false, title: "a thread" });
    const answer = await fake.waitFor(() => fake.botMessages(thread)[0]);
    expect(answer.content).toBe("answer in the thread");
    expect(answer.referencedMessageId).toBe(asked.id);
    expect(fake.botMessages(general)).toEqual([]);
  });

  it("takes prefix commands of registered commands without a mention, and leaves other prefixed text alone", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "!remember the sky is blue" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "!!! wow" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "!play despacito" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "!HELP" });
    await bot.waitReceived(2);
    await fake.sync();
    expect(bot.received.map((r) => r.message.command)).toEqual([
      { name: "remember", args: "the sky is blue" },
      { name: "help", args: "" },
    ]);
    expect(bot.received[0]!.message.text).toBe("!remember the sky is blue");
  });

  it("uses the configured prefix", async () => {
    bot = await startDiscordBot({ adapter: { prefix: "?" } });
    const { fake, general, member } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "!remember not this one" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "?remember this one" });
    await bot.waitReceived(1);
    await fake.sync();
    expect(bot.received.map((r) => r.message.command)).toEqual([{ name: "remember", args: "this one" }]);
  });

  it("ignores other bots, webhooks and its own messages", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    const otherBot = fake.addUser({ username: "otherbot", bot: true });
    fake.addMember(bot.guildId, otherBot.id);
    bot.behaviour = (_m, reply) => reply.send(`<@${fake.bot.id}> talking to myself`);
    await fake.sendGuildMessage({ channelId: general, authorId: otherBot.id, content: "beep", mentionBot: true });
    await fake.sendGuildMessage({ channelId: general, content: "webhook post", mentionBot: true, webhook: true });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "a person", mentionBot: true });
    await bot.waitReceived(1);
    // The bot's answer mentions itself and Discord echoes it back on the gateway: still ignored.
    await fake.waitFor(() => fake.botMessages(general).length === 1);
    await fake.sync();
    expect(texts(bot)).toEqual(["a person"]);
  });

  it("writes other people's mentions as display names for the model", async () => {
    bot = await startDiscordBot();
    const { fake, general, member, moderator } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `what does <@${moderator.id}> think?`, mentionBot: true });
    await bot.waitReceived(1);
    expect(texts(bot)).toEqual(["what does @Grace think?"]);
  });

  it("hands one channel's messages over in the order they were sent", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    for (const n of [1, 2, 3, 4, 5]) {
      await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `message ${n}`, mentionBot: true });
    }
    await bot.waitReceived(5);
    expect(texts(bot)).toEqual(["message 1", "message 2", "message 3", "message 4", "message 5"]);
  });
});

describe("discord adapter: moderators", () => {
  const askedBy = async (b: RunningDiscordBot, channelId: string, authorId: string) => {
    const before = b.received.length;
    await b.fake.sendGuildMessage({ channelId, authorId, content: "am I a moderator?", mentionBot: true });
    await b.waitReceived(before + 1);
    return b.received[before]!.message.isModerator();
  };

  it("is a member with Manage Messages in that channel (role or channel overwrite), not a plain member", async () => {
    bot = await startDiscordBot();
    const { general, random, thread, member, moderator, channelModerator, helper } = bot;
    expect(await askedBy(bot, general, moderator.id)).toBe(true);
    expect(await askedBy(bot, random, moderator.id)).toBe(true);
    expect(await askedBy(bot, general, member.id)).toBe(false);
    expect(await askedBy(bot, general, helper.id)).toBe(false);
    // The overwrite on #general reaches its thread, not #random.
    expect(await askedBy(bot, general, channelModerator.id)).toBe(true);
    expect(await askedBy(bot, thread, channelModerator.id)).toBe(true);
    expect(await askedBy(bot, random, channelModerator.id)).toBe(false);
  });

  it("follows a channel overwrite that takes Manage Messages away, and Administrator and the owner", async () => {
    bot = await startDiscordBot();
    const { fake, guildId, general, random, moderator, modRoleId, member } = bot;
    fake.setOverwrite(random, { id: modRoleId, type: 0, allow: 0n, deny: PermissionFlagsBits.ManageMessages });
    expect(await askedBy(bot, random, moderator.id)).toBe(false);
    expect(await askedBy(bot, general, moderator.id)).toBe(true);

    const adminRole = fake.addRole(guildId, { name: "Admins", permissions: PermissionFlagsBits.Administrator });
    fake.addMember(guildId, member.id, { roles: [adminRole] });
    expect(await askedBy(bot, random, member.id)).toBe(true);

    const owner = fake.world.guilds.get(guildId)!.ownerId;
    expect(await askedBy(bot, random, owner)).toBe(true);
  });

  it("counts configured moderator roles, and uses the configured permission", async () => {
    bot = await startDiscordBot({ adapter: (s) => ({ moderatorRoleIds: [s.helperRoleId] }) });
    expect(await askedBy(bot, bot.general, bot.helper.id)).toBe(true);
    expect(await askedBy(bot, bot.random, bot.helper.id)).toBe(true);
    expect(await askedBy(bot, bot.general, bot.member.id)).toBe(false);
    await bot.stop();

    bot = await startDiscordBot({ adapter: { moderatorPermission: "KICK_MEMBERS" } });
    // Grace's role has Manage Messages, which is not the permission asked for now.
    expect(await askedBy(bot, bot.general, bot.moderator.id)).toBe(false);
    const kickers = bot.fake.addRole(bot.guildId, { name: "Kickers", permissions: PermissionFlagsBits.KickMembers });
    bot.fake.addMember(bot.guildId, bot.member.id, { roles: [kickers] });
    expect(await askedBy(bot, bot.general, bot.member.id)).toBe(true);
  });

  it("rejects an unknown permission name when created", () => {
    expect(() => createDiscordAdapter({ token: "t", moderatorPermission: "ManageEverything" })).toThrow(/Unknown Discord permission/);
  });
});

describe("discord adapter: start and stop", () => {
  it("fails to start with a wrong token, saying which setting, without the token", async () => {
    const fake = await startFakeDiscord();
    const wrong = "WRONG.token-value-that-must-not-appear";
    const adapter = createDiscordAdapter({ token: wrong, apiUrl: fake.apiUrl });
    try {
      const error = await adapter
        .start({ dispatch: async () => {}, commands: [], complete: async () => [], joined: () => ({ stay: true }), log: (await import("pino")).pino({ level: "silent" }) })
        .then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ParleyError);
      expect((error as Error).message).toContain("DISCORD_TOKEN");
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(wrong);
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });

  it("fails to start when the Message Content intent is off in the portal, saying where to switch it on", async () => {
    const fake = await startFakeDiscord({ messageContentIntent: false });
    const adapter = createDiscordAdapter({ token: fake.token, apiUrl: fake.apiUrl });
    try {
      const error = await adapter
        .start({ dispatch: async () => {}, commands: [], complete: async () => [], joined: () => ({ stay: true }), log: (await import("pino")).pino({ level: "silent" }) })
        .then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ParleyError);
      expect((error as Error).message).toMatch(/Message Content intent.*developer portal/);
    } finally {
      await adapter.stop();
      await fake.close();
    }
  });

  it("never logs the token, and disconnects on stop after answers in flight are done", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    let release!: () => void;
    bot.behaviour = async (_m, reply) => {
      await new Promise<void>((resolve) => (release = resolve));
      await reply.send("finished after stop was asked");
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "slow one", mentionBot: true });
    await bot.waitReceived(1);
    const stopped = bot.adapter.stop();
    setTimeout(() => release(), 200);
    await stopped;
    expect(fake.botMessages(general).map((m) => m.content)).toEqual(["finished after stop was asked"]);
    await fake.waitFor(() => fake.connectedClients === 0);
    expect(bot.logs.length).toBeGreaterThan(0);
    expect(bot.logs.join("\n")).not.toContain(fake.token);
  });
});
