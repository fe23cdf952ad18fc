/**
 * The adapter against servers that speak Discord's protocol differently from
 * our fake, within what the protocol allows: optional fields left out,
 * channels missing from GUILD_CREATE, replies without the replied-to
 * message, gateway reconnects and invalid sessions, and DISCORD_API_URL as
 * people write it.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { DispatchTransform } from "../fakes/discord/index.js";
import { startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** Leaves the named fields out of one kind of dispatch. */
const without =
  (event: string, ...fields: string[]): DispatchTransform =>
  (t, d) => {
    if (t === event) for (const field of fields) delete d[field];
    return d;
  };

const seen = (b: RunningDiscordBot) => b.received.map((r) => [r.message.channel.key, r.message.text]);

describe("discord adapter: any server that follows the protocol", () => {
  it("hears DMs, channels and threads when MESSAGE_CREATE has no channel_type", async () => {
    bot = await startDiscordBot({ fake: { transformDispatch: without("MESSAGE_CREATE", "channel_type") } });
    const { fake, general, thread, member, dmUser } = bot;
    bot.behaviour = (m, reply) => reply.send(`heard ${m.text}`);
    await fake.sendDm(dmUser.id, "a dm");
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "in general", mentionBot: true });
    await fake.sendGuildMessage({ channelId: thread, authorId: member.id, content: "in the thread", mentionBot: true });
    await bot.waitReceived(3);
    const dm = fake.dmChannelId(dmUser.id);
    expect(seen(bot)).toEqual([
      [`discord:${dm}`, "a dm"],
      [`discord:${general}`, "in general"],
      [`discord:${thread}`, "in the thread"],
    ]);
    expect(bot.received[0]!.message.channel.private).toBe(true);
    expect((await fake.waitFor(() => fake.botMessages(dm)[0])).content).toBe("heard a dm");
  });

  it("hears channels and threads missing from GUILD_CREATE, and still knows moderators there", async () => {
    const transform: DispatchTransform = (t, d) => {
      if (t === "GUILD_CREATE") for (const field of ["channels", "threads", "members"]) delete d[field];
      if (t === "MESSAGE_CREATE") for (const field of ["channel_type", "member"]) delete d[field];
      return d;
    };
    bot = await startDiscordBot({ fake: { transformDispatch: transform } });
    const { fake, general, thread, member, channelModerator } = bot;
    bot.behaviour = (_m, reply) => reply.send("here");
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "plain member", mentionBot: true });
    await fake.sendGuildMessage({ channelId: thread, authorId: channelModerator.id, content: "moderator by #general's overwrite", mentionBot: true });
    await bot.waitReceived(2);
    expect(seen(bot)).toEqual([
      [`discord:${general}`, "plain member"],
      [`discord:${thread}`, "moderator by #general's overwrite"],
    ]);
    expect(await bot.received[0]!.message.isModerator()).toBe(false);
    // The thread's permissions are its parent's, which the bot had to ask Discord for.
    expect(await bot.received[1]!.message.isModerator()).toBe(true);
    expect((await fake.waitFor(() => fake.botMessages(thread)[0])).content).toBe("here");
  });

  it("knows a reply to itself without referenced_message: by the message it sent, or by the reply's ping", async () => {
    let pingBot = false;
    const transform: DispatchTransform = (t, d) => {
      if (t !== "MESSAGE_CREATE" || !d.message_reference) return d;
      const { referenced_message: _dropped, ...rest } = d;
      // A reply that pings lists the replied-to author in `mentions`, with nothing in the text.
      return pingBot ? { ...rest, mentions: [{ id: bot!.fake.bot.id, username: "Parley", discriminator: "0", avatar: null, global_name: null, bot: true }] } : rest;
    };
    bot = await startDiscordBot({ fake: { transformDispatch: transform } });
    const { fake, general, guildId, member, moderator } = bot;
    bot.behaviour = (m, reply) => reply.send(`re: ${m.text}`);
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "start", mentionBot: true });
    const sent = await fake.waitFor(() => fake.botMessages(general)[0]);
    // Sent before this process started: the client never saw it.
    const old = fake.world.storeMessage({
      channelId: general,
      guildId,
      authorId: fake.bot.id,
      content: "from an earlier run",
      pings: { everyone: false, users: [], roles: [], repliedUser: false },
      flags: 0,
    });
    const human = await fake.sendGuildMessage({ channelId: general, authorId: moderator.id, content: "a human" });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "reply to a human", replyTo: human.id });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "reply to the bot", replyTo: sent.id });
    pingBot = true;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "pinging reply to an old answer", replyTo: old.id });
    await bot.waitReceived(3);
    await fake.sync();
    expect(bot.received.map((r) => r.message.text)).toEqual(["start", "reply to the bot", "pinging reply to an old answer"]);
  });

  it("hears a mention of its own role when MESSAGE_CREATE has no mention_roles", async () => {
    bot = await startDiscordBot({ fake: { transformDispatch: without("MESSAGE_CREATE", "mention_roles") } });
    const { fake, general, guildId, member, modRoleId } = bot;
    const botRole = [...fake.world.guilds.get(guildId)!.roles.values()].find((r) => r.botId === fake.bot.id)!;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `<@&${modRoleId}> not for the bot` });
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: `<@&${botRole.id}> for the bot` });
    await bot.waitReceived(1);
    await fake.sync();
    expect(seen(bot)).toEqual([[`discord:${general}`, "for the bot"]]);
  });

  it("gives slash commands their channel when INTERACTION_CREATE has only channel_id", async () => {
    bot = await startDiscordBot({ fake: { transformDispatch: without("INTERACTION_CREATE", "channel") } });
    const { fake, general, thread, member, channelModerator, dmUser } = bot;
    bot.behaviour = (_m, reply) => reply.send("done");
    await fake.slashCommand({ channelId: general, userId: member.id, name: "help" });
    await fake.slashCommand({ channelId: thread, userId: channelModerator.id, name: "reset" });
    await fake.slashCommand({ dm: true, userId: dmUser.id, name: "help" });
    await bot.waitReceived(3);
    expect(bot.received.map((r) => [r.message.channel.key, r.message.channel.private])).toEqual([
      [`discord:${general}`, false],
      [`discord:${thread}`, false],
      [`discord:${fake.dmChannelId(dmUser.id)}`, true],
    ]);
    expect(await Promise.all(bot.received.map((r) => r.message.isModerator()))).toEqual([false, true, true]);
  });

  it("accepts DISCORD_API_URL with Discord's version suffix and a trailing slash", async () => {
    bot = await startDiscordBot({ adapter: (s) => ({ apiUrl: `${s.fake.apiUrl}/v10/` }) });
    const { fake, dmUser } = bot;
    bot.behaviour = (_m, reply) => reply.send("fine");
    await fake.sendDm(dmUser.id, "hello");
    expect((await fake.waitFor(() => fake.botMessages(fake.dmChannelId(dmUser.id))[0])).content).toBe("fine");
    expect(fake.requests.every((r) => !r.path.startsWith("/v10"))).toBe(true);
  });
});

describe("discord adapter: gateway sessions", () => {
  for (const [what, disturb, reidentifies] of [
    ["op 7 RECONNECT", (b: RunningDiscordBot) => b.fake.requestReconnect(), false],
    ["op 9 INVALID SESSION (resumable)", (b: RunningDiscordBot) => b.fake.invalidateSessions(true), false],
    ["op 9 INVALID SESSION (not resumable)", (b: RunningDiscordBot) => b.fake.invalidateSessions(false), true],
  ] as const) {
    it(`keeps answering after ${what}`, async () => {
      bot = await startDiscordBot();
      const { fake, dmUser } = bot;
      bot.behaviour = (m, reply) => reply.send(`got ${m.text}`);
      const dm = fake.dmChannelId(dmUser.id);
      await fake.sendDm(dmUser.id, "before");
      await fake.waitFor(() => fake.botMessages(dm).length === 1);

      disturb(bot);
      await fake.waitFor(() => (reidentifies ? fake.identifies.length === 2 : fake.resumes === 1) && fake.connectedClients === 1, 15_000);
      await fake.sendDm(dmUser.id, "after");
      await fake.waitFor(() => fake.botMessages(dm).length === 2);
      expect(fake.botMessages(dm).map((m) => m.content)).toEqual(["got before", "got after"]);
      expect(bot.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    }, 30_000);
  }
});
