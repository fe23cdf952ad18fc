/**
 * Servers the bot is added to while it runs: the adapter asks the core, and
 * when told to go it says why once in the server's system channel and leaves
 * (as the fake Discord sees it: the message, `DELETE /users/@me/guilds/:id`,
 * GUILD_DELETE). Servers it was in at start are never left.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const notice = "This bot is private; leaving.";
const leaves = (b: RunningDiscordBot) => b.fake.requestsTo("DELETE", /^\/users\/@me\/guilds\/\d+$/);

describe("discord adapter: being added to a server", () => {
  it("says the notice once in the system channel and leaves, when the core says not to stay", async () => {
    bot = await startDiscordBot();
    const { fake } = bot;
    bot.joinVerdict = () => ({ stay: false, notice });
    const newGuild = fake.addGuild({ name: "Strangers", withBot: false });
    const lobby = fake.addChannel(newGuild, { name: "lobby", system: true });
    fake.addChannel(newGuild, { name: "other" });
    const asked = bot.joinings.length;

    fake.addBotToGuild(newGuild);
    await fake.waitFor(() => fake.leftGuilds.length === 1, 10_000);
    expect(bot.joinings.slice(asked)).toEqual([{ platform: "discord", id: newGuild }]);
    expect(fake.leftGuilds).toEqual([newGuild]);
    expect(leaves(bot).map((r) => [r.path, r.status])).toEqual([[`/users/@me/guilds/${newGuild}`, 204]]);
    expect(fake.botMessages(lobby).map((m) => m.content)).toEqual([notice]);
    // The notice went out before the bot left, and nowhere else.
    const posts = fake.requests.filter((r) => r.method === "POST" && /\/messages$/.test(r.path));
    expect(posts.map((r) => r.path)).toEqual([`/channels/${lobby}/messages`]);
    expect(fake.requests.indexOf(posts[0]!)).toBeLessThan(fake.requests.indexOf(leaves(bot)[0]!));
    expect(bot.logs.join("\n")).toContain("not on the guilds list; leaving");

    // Gone for good: discord.js forgot the server, and its messages no longer arrive.
    await fake.sync();
    const person = fake.addUser({ username: "eve" });
    fake.addMember(newGuild, person.id);
    await fake.sendGuildMessage({ channelId: lobby, authorId: person.id, content: "hello?", mentionBot: true });
    await fake.sync();
    expect(bot.received).toHaveLength(0);
  });

  it("leaves without a word when the server has no system channel", async () => {
    bot = await startDiscordBot();
    const { fake } = bot;
    bot.joinVerdict = () => ({ stay: false, notice });
    const newGuild = fake.addGuild({ withBot: false });
    fake.addChannel(newGuild, { name: "general" });
    fake.addBotToGuild(newGuild);
    await fake.waitFor(() => fake.leftGuilds.length === 1, 10_000);
    expect(fake.requests.filter((r) => r.method === "POST" && /\/messages$/.test(r.path))).toEqual([]);
  });

  it("still leaves when the notice cannot be posted", async () => {
    bot = await startDiscordBot();
    const { fake } = bot;
    bot.joinVerdict = () => ({ stay: false, notice });
    const newGuild = fake.addGuild({ withBot: false });
    // @everyone (the guild's id) may not write in the system channel; the bot's role has no override.
    fake.addChannel(newGuild, { name: "announcements", system: true, overwrites: [{ id: newGuild, type: 0, allow: 0n, deny: 1n << 11n }] });
    fake.addBotToGuild(newGuild);
    await fake.waitFor(() => fake.leftGuilds.length === 1, 10_000);
    expect(fake.requestsTo("POST", /\/messages$/).map((r) => r.status)).toEqual([403]);
    expect(bot.logs.join("\n")).toContain("could not say why the bot leaves");
  });

  it("stays, says nothing, and serves the server when the core says stay", async () => {
    bot = await startDiscordBot();
    const { fake } = bot;
    const newGuild = fake.addGuild({ withBot: false });
    const lobby = fake.addChannel(newGuild, { name: "lobby", system: true });
    const asked = bot.joinings.length;
    fake.addBotToGuild(newGuild);
    await fake.waitFor(() => bot!.joinings.length > asked, 10_000);
    expect(bot.joinings.slice(asked)).toEqual([{ platform: "discord", id: newGuild }]);

    const person = fake.addUser({ username: "eve" });
    fake.addMember(newGuild, person.id);
    await fake.sendGuildMessage({ channelId: lobby, authorId: person.id, content: "welcome!", mentionBot: true });
    await bot.waitReceived(1);
    expect(bot.received[0]!.message.place).toEqual({ server: newGuild, chat: lobby });
    expect(leaves(bot)).toEqual([]);
    expect(fake.requestsTo("POST", /\/messages$/)).toEqual([]);
  });

  it("never leaves the servers it was in at start, but names the unlisted ones in one warning", async () => {
    bot = await startDiscordBot({ joinVerdict: () => ({ stay: false, notice }) });
    const { fake, guildId, general, member } = bot;
    expect(bot.joinings).toEqual([{ platform: "discord", id: guildId }]);
    const warnings = bot.logs.map((line) => JSON.parse(line) as { level: number; msg: string; guildIds?: string[] }).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.guildIds).toEqual([guildId]);
    expect(warnings[0]!.msg).toContain("not left");

    // Messages there still reach the core, which decides whether to serve them.
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "still here?", mentionBot: true });
    await bot.waitReceived(1);
    expect(leaves(bot)).toEqual([]);
    expect(fake.requestsTo("POST", /\/messages$/)).toEqual([]);
  });

  it("logs no warning at start when every server it is in may stay", async () => {
    bot = await startDiscordBot();
    expect(bot.joinings).toEqual([{ platform: "discord", id: bot.guildId }]);
    expect(bot.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 40)).toEqual([]);
  });
});
