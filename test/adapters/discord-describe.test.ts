/**
 * What the Discord adapter tells the core about a message or slash command
 * beyond its text, for the access lists and for commands that name someone:
 * where it was written (server, channel or thread, the thread's parent), the
 * author's roles, the people it mentions, what it replies to, and user
 * options of slash commands.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Command } from "../../src/core/types.js";
import { startDiscordBot, testCommands, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** A moderator command that names someone, shaped like `block`. */
const blockCommand: Command = {
  name: "block",
  description: "Ignore someone in this channel",
  usage: "block <user> [reason]",
  options: [
    { name: "user", description: "Who", required: true, kind: "user" },
    { name: "reason", description: "Why" },
  ],
  moderatorOnly: true,
  run: async () => {},
};
const commands = [...testCommands, blockCommand];

describe("discord adapter: where a message was written and who wrote it", () => {
  it("gives a guild message its server and channel, and the author's roles without @everyone", async () => {
    bot = await startDiscordBot();
    const { fake, guildId, general, member, moderator, modRoleId } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: moderator.id, content: "hello", mentionBot: true });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "hi", mentionBot: true });
    await bot.waitReceived(2);
    const [first, second] = bot.received.map((r) => r.message);
    expect(first!.place).toEqual({ server: guildId, chat: general });
    expect(first!.author).toEqual({ key: `discord:${moderator.id}`, name: "Grace", roles: [modRoleId] });
    expect(second!.author.roles).toEqual([]);
  });

  it("gives a thread message the thread as its chat and the channel as its parent", async () => {
    bot = await startDiscordBot();
    const { fake, guildId, general, thread, helper, helperRoleId } = bot;
    await fake.sendGuildMessage({ channelId: thread, authorId: helper.id, content: "in the thread", mentionBot: true });
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message.place).toEqual({ server: guildId, chat: thread, parent: general });
    expect(message.author.roles).toEqual([helperRoleId]);
  });

  it("gives a DM no server and no roles", async () => {
    bot = await startDiscordBot();
    const { fake, dmUser } = bot;
    await fake.sendDm(dmUser.id, "hello");
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message.place).toEqual({ chat: fake.dmChannelId(dmUser.id) });
    expect(message.author).toEqual({ key: `discord:${dmUser.id}`, name: "Alan" });
  });

  it("follows a member's roles as they change: each message carries the roles it was written with", async () => {
    bot = await startDiscordBot();
    const { fake, guildId, general, member, helperRoleId } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "before", mentionBot: true });
    fake.world.guilds.get(guildId)!.members.get(member.id)!.roles.push(helperRoleId);
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "after", mentionBot: true });
    await bot.waitReceived(2);
    expect(bot.received.map((r) => r.message.author.roles)).toEqual([[], [helperRoleId]]);
  });
});

describe("discord adapter: people a message names", () => {
  it("lists the users mentioned in the text, in the order written, once each, without the bot, by display name", async () => {
    bot = await startDiscordBot();
    const { fake, general, member, helper, moderator } = bot;
    await fake.sendGuildMessage({
      channelId: general,
      authorId: moderator.id,
      content: `!remember <@${helper.id}> and <@!${member.id}> pair up; <@${helper.id}> agrees, <@${fake.bot.id}>`,
    });
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message.mentions).toEqual([
      { key: `discord:${helper.id}`, name: "Margaret" },
      { key: `discord:${member.id}`, name: "Ada L." },
    ]);
    // The text still names them, as display names, for the model and for commands.
    expect(message.command).toEqual({ name: "remember", args: "@Margaret and @Ada L. pair up; @Margaret agrees," });
  });

  it("has no mentions when the bot is the only one mentioned", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "just me and you", mentionBot: true });
    await bot.waitReceived(1);
    expect(bot.received[0]!.message.mentions).toBeUndefined();
  });

  it("says what a message replies to: someone's message or the bot's own, author and text", async () => {
    bot = await startDiscordBot({ commands });
    const { fake, general, member, moderator } = bot;
    bot.behaviour = async (m, reply) => {
      if (m.text === "start") await reply.send("I am listening");
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "start", mentionBot: true });
    const botMessage = await fake.waitFor(() => fake.botMessages(general)[0]);

    const spam = await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `buy cheap coins, <@${moderator.id}>` });
    await fake.sendGuildMessage({ channelId: general, authorId: moderator.id, content: "!block this one", replyTo: spam.id });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "why?", replyTo: botMessage.id });
    await bot.waitReceived(3);
    const [, toHuman, toBot] = bot.received.map((r) => r.message);
    expect(toHuman!.replyTo).toEqual({ author: { key: `discord:${member.id}`, name: "Ada L." }, text: "buy cheap coins, @Grace" });
    expect(toBot!.replyTo).toEqual({ author: { key: `discord:${fake.bot.id}`, name: "Parley", bot: true }, text: "I am listening" });
    expect(bot.received[0]!.message.replyTo).toBeUndefined();
  });
});

describe("discord adapter: slash commands, where and by whom", () => {
  it("gives a slash command its server, channel or thread, parent and the member's roles", async () => {
    bot = await startDiscordBot();
    const { fake, guildId, general, thread, moderator, modRoleId, member } = bot;
    await fake.slashCommand({ channelId: thread, userId: moderator.id, name: "help" });
    await fake.slashCommand({ channelId: general, userId: member.id, name: "help" });
    await bot.waitReceived(2);
    const [inThread, inChannel] = bot.received.map((r) => r.message);
    expect(inThread!.place).toEqual({ server: guildId, chat: thread, parent: general });
    expect(inThread!.author).toEqual({ key: `discord:${moderator.id}`, name: "Grace", roles: [modRoleId] });
    expect(inChannel!.place).toEqual({ server: guildId, chat: general });
    expect(inChannel!.author.roles).toEqual([]);
  });

  it("gives a slash command in a DM no server and no roles", async () => {
    bot = await startDiscordBot();
    const { fake, dmUser } = bot;
    await fake.slashCommand({ dm: true, userId: dmUser.id, name: "help" });
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message.place).toEqual({ chat: fake.dmChannelId(dmUser.id) });
    expect(message.author.roles).toBeUndefined();
  });

  it("registers an option that names someone as a USER option, and text options as STRING", async () => {
    bot = await startDiscordBot({ commands });
    const block = bot.fake.commands().find((c) => c.name === "block")!;
    expect(block.options).toEqual([
      { type: 6, name: "user", description: "Who", required: true },
      { type: 3, name: "reason", description: "Why", required: false },
    ]);
  });

  it("puts the picked user in the args as a mention and in mentions, by display name", async () => {
    bot = await startDiscordBot({ commands });
    const { fake, general, moderator, member } = bot;
    await fake.slashCommand({ channelId: general, userId: moderator.id, name: "block", options: { user: member.id, reason: "  spam " } });
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message.command).toEqual({ name: "block", args: `<@${member.id}> spam` });
    expect(message.text).toBe(`/block <@${member.id}> spam`);
    expect(message.mentions).toEqual([{ key: `discord:${member.id}`, name: "Ada L." }]);
  });

  it("names a picked user who is not in the server by their own name, and leaves the bot out of mentions", async () => {
    bot = await startDiscordBot({ commands });
    const { fake, general, moderator, dmUser } = bot;
    await fake.slashCommand({ channelId: general, userId: moderator.id, name: "block", options: { user: dmUser.id } });
    await fake.slashCommand({ channelId: general, userId: moderator.id, name: "block", options: { user: fake.bot.id } });
    await bot.waitReceived(2);
    const [stranger, itself] = bot.received.map((r) => r.message);
    expect(stranger!.mentions).toEqual([{ key: `discord:${dmUser.id}`, name: "Alan" }]);
    expect(itself!.command).toEqual({ name: "block", args: `<@${fake.bot.id}>` });
    expect(itself!.mentions).toBeUndefined();
  });
});
