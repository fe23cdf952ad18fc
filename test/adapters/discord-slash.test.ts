import { PermissionFlagsBits } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import { commands as realCommands } from "../../commands/index.js";
import { CallbackType } from "../fakes/discord/index.js";
import { startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const MANAGE_MESSAGES = PermissionFlagsBits.ManageMessages.toString();
const byName = (list: Record<string, unknown>[]) => new Map(list.map((c) => [c.name as string, c]));

describe("discord adapter: slash command registration", () => {
  it("registers every command globally by default, moderator commands with default member permissions", async () => {
    bot = await startDiscordBot({ commands: [...realCommands] });
    const { fake, guildId } = bot;
    expect(fake.requestsTo("PUT", /^\/applications\/\d+\/commands$/)).toHaveLength(1);
    expect(fake.requestsTo("PUT", /\/guilds\//)).toHaveLength(0);
    expect(fake.commands(guildId)).toEqual([]);

    const registered = byName(fake.commands());
    expect([...registered.keys()].sort()).toEqual(
      ["block", "blocked", "chat", "forget", "help", "persona", "recall", "remember", "reset", "status", "unblock", "usage"].sort(),
    );
    expect(registered.get("reset")!.default_member_permissions).toBe(MANAGE_MESSAGES);
    // persona lists for everyone but switches only for moderators: still marked, the bot checks each use.
    expect(registered.get("persona")!.default_member_permissions).toBe(MANAGE_MESSAGES);
    expect(registered.get("chat")!.default_member_permissions).toBeNull();
    expect(registered.get("chat")!.options).toEqual([{ type: 3, name: "text", description: "What to say", required: true }]);
    expect(registered.get("persona")!.options).toEqual([
      { type: 3, name: "name", description: "The persona to switch to", required: false, autocomplete: true },
    ]);
    // Whom to block is picked from the server's members (a USER option).
    expect(registered.get("block")!.options).toEqual([{ type: 6, name: "user", description: "Who the bot should ignore", required: true }]);
    expect(registered.get("block")!.default_member_permissions).toBe(MANAGE_MESSAGES);
    // Usable in servers and in the bot's DMs.
    expect(registered.get("help")!.contexts).toEqual([0, 1]);
  });

  it("registers in one guild only when a guild id is set (DISCORD_GUILD_ID), with the configured permission", async () => {
    bot = await startDiscordBot({ adapter: (s) => ({ guildId: s.guildId, moderatorPermission: "KickMembers" }) });
    const { fake, guildId } = bot;
    expect(fake.requestsTo("PUT", /^\/applications\/\d+\/commands$/)).toHaveLength(0);
    expect(fake.requestsTo("PUT", new RegExp(`^/applications/\\d+/guilds/${guildId}/commands$`))).toHaveLength(1);
    const registered = byName(fake.commands(guildId));
    expect(registered.get("reset")!.default_member_permissions).toBe(PermissionFlagsBits.KickMembers.toString());
    expect(fake.commands()).toEqual([]);
  });

  it("keeps working when registration is refused", async () => {
    bot = await startDiscordBot({ adapter: { guildId: "1234567890123456789" } });
    const { fake, general, member } = bot;
    expect(fake.requestsTo("PUT", /\/guilds\/1234567890123456789\/commands$/)[0]!.status).toBe(404);
    expect(bot.logs.join("\n")).toContain("could not register slash commands");
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "still there?", mentionBot: true });
    await bot.waitReceived(1);
  });
});

describe("discord adapter: slash commands", () => {
  it("hands a slash command over already parsed, and answers by filling in the deferred response", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    bot.behaviour = (m, reply) => reply.send(`remembered: ${m.command?.args}`);
    const interaction = await fake.slashCommand({ channelId: general, userId: member.id, name: "remember", options: { fact: "the sky is blue" } });
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message).toMatchObject({
      channel: { key: `discord:${general}`, private: false },
      author: { key: `discord:${member.id}`, name: "Ada L." },
      addressed: true,
      command: { name: "remember", args: "the sky is blue" },
      text: "/remember the sky is blue",
    });
    await fake.waitFor(() => fake.botMessages(general)[0]?.content === "remembered: the sky is blue");
    expect(interaction.callbackType).toBe(CallbackType.DeferredChannelMessageWithSource);
    expect(fake.botMessages(general)).toHaveLength(1);
  });

  it("answers a slow command: the deferral arrives within Discord's deadline, the answer after it", async () => {
    // Discord's deadline is 3 s; half of it here, so the answer comes after it sooner.
    bot = await startDiscordBot({ fake: { interactionDeadlineMs: 1500 } });
    const { fake, general, member } = bot;
    bot.behaviour = async (_m, reply) => {
      await new Promise((resolve) => setTimeout(resolve, 1800));
      await reply.send("worth the wait");
    };
    const interaction = await fake.slashCommand({ channelId: general, userId: member.id, name: "chat", options: { text: "think hard" } });
    const answer = await fake.waitFor(() => fake.botMessages(general).find((m) => m.content === "worth the wait"), 8000);
    expect(interaction.callbackAtMs! - interaction.sentAtMs).toBeLessThan(1500);
    expect(answer.editedAtMs! - interaction.sentAtMs).toBeGreaterThanOrEqual(1800);
    expect(fake.requestsTo("POST", /\/callback$/).map((r) => r.status)).toEqual([204]);
  }, 15_000);

  it("defers at once even while the channel is busy with a long answer", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    let release!: () => void;
    bot.behaviour = async (m, reply) => {
      if (m.text === "busy") await new Promise<void>((resolve) => (release = resolve));
      await reply.send(`done: ${m.text}`);
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "busy", mentionBot: true });
    const interaction = await fake.slashCommand({ channelId: general, userId: member.id, name: "help" });
    await fake.waitFor(() => interaction.callbackType !== undefined, 2500);
    release();
    await fake.waitFor(() => fake.botMessages(general).some((m) => m.content === "done: /help"));
  });

  it("continues a long slash answer in follow-ups, and removes an unused deferred response", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    const long = Array.from({ length: 60 }, (_, i) => `Line ${i}: ${"word ".repeat(10).trim()}`).join("\n");
    bot.behaviour = async (m, reply) => {
      if (m.command?.name === "chat") await reply.send(long);
    };
    const chat = await fake.slashCommand({ channelId: general, userId: member.id, name: "chat", options: { text: "long" } });
    await fake.waitFor(() => chat.followUpIds.length >= 1 && fake.botMessages(general).every((m) => m.content.length > 0));
    const shown = fake.botMessages(general);
    expect(shown.length).toBeGreaterThanOrEqual(2);
    for (const m of shown) expect(m.content.length).toBeLessThanOrEqual(2000);
    expect(shown.map((m) => m.content).join("\n")).toBe(long);

    const silent = await fake.slashCommand({ channelId: general, userId: member.id, name: "help" });
    await bot.waitReceived(2);
    await fake.waitFor(() => fake.requestsTo("DELETE", /messages\/@original$/).length === 1);
    expect(fake.messages(general).some((m) => m.interactionId === silent.id)).toBe(false);
  });

  it("works in DMs, where the user is a moderator", async () => {
    bot = await startDiscordBot();
    const { fake, dmUser } = bot;
    bot.behaviour = (_m, reply) => reply.send("cleared");
    await fake.slashCommand({ dm: true, userId: dmUser.id, name: "reset" });
    await bot.waitReceived(1);
    const { message } = bot.received[0]!;
    expect(message.channel).toMatchObject({ key: `discord:${fake.dmChannelId(dmUser.id)}`, private: true });
    expect(message.author).toEqual({ key: `discord:${dmUser.id}`, name: "Alan" });
    expect(await message.isModerator()).toBe(true);
    await fake.waitFor(() => fake.botMessages(fake.dmChannelId(dmUser.id))[0]?.content === "cleared");
  });

  it("knows moderators from the permissions Discord sends with the interaction, and configured roles", async () => {
    bot = await startDiscordBot({ adapter: (s) => ({ moderatorRoleIds: [s.helperRoleId] }) });
    const { fake, general, random, member, moderator, channelModerator, helper } = bot;
    const ask = async (channelId: string, userId: string) => {
      const before = bot!.received.length;
      await fake.slashCommand({ channelId, userId, name: "reset" });
      await bot!.waitReceived(before + 1);
      return bot!.received[before]!.message.isModerator();
    };
    expect(await ask(general, moderator.id)).toBe(true);
    expect(await ask(general, member.id)).toBe(false);
    expect(await ask(general, channelModerator.id)).toBe(true);
    expect(await ask(random, channelModerator.id)).toBe(false);
    expect(await ask(random, helper.id)).toBe(true);
  });

  it("offers completions for an autocomplete option", async () => {
    bot = await startDiscordBot({ completions: ["concise", "creative", "default", "technical"] });
    const { fake, general, member } = bot;
    const interaction = await fake.autocomplete({ channelId: general, userId: member.id, name: "persona", options: { name: "c" }, focused: "name" });
    await fake.waitFor(() => interaction.choices);
    expect(bot.completions).toEqual([{ command: "persona", option: "name", prefix: "c" }]);
    expect(interaction.callbackType).toBe(CallbackType.ApplicationCommandAutocompleteResult);
    expect(interaction.choices).toEqual([
      { name: "concise", value: "concise" },
      { name: "creative", value: "creative" },
    ]);
    expect(bot.received).toHaveLength(0);
  });
});
