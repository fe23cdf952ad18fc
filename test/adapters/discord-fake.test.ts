/**
 * The fake Discord itself: it must refuse what Discord refuses, in Discord's
 * own shapes, or the adapter's tests prove nothing. Driven by discord.js's
 * REST client and by plain fetch.
 */
import { Client, DiscordAPIError, Events, GatewayIntentBits, REST, Routes } from "discord.js";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeDiscord, type FakeDiscord } from "../fakes/discord/index.js";

let fake: FakeDiscord | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function world(options: Parameters<typeof startFakeDiscord>[0] = {}) {
  fake = await startFakeDiscord(options);
  const user = fake.addUser({ username: "ada" });
  const guildId = fake.addGuild();
  fake.addMember(guildId, user.id);
  const channelId = fake.addChannel(guildId, { name: "general" });
  const rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
  return { fake, user, guildId, channelId, rest };
}

const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as DiscordAPIError);

describe("fake Discord", () => {
  it("uses realistic snowflakes", async () => {
    const { user, guildId, channelId } = await world();
    for (const id of [user.id, guildId, channelId, fake!.bot.id]) expect(id).toMatch(/^\d{17,19}$/);
  });

  it("refuses content over 2,000 characters with 50035 Invalid Form Body, and empty messages with 50006", async () => {
    const { rest, channelId } = await world();
    const long = await refusal(rest.post(Routes.channelMessages(channelId), { body: { content: "x".repeat(2001) } }));
    expect(long).toBeInstanceOf(DiscordAPIError);
    expect(long!.status).toBe(400);
    expect(long!.code).toBe(50035);
    expect(long!.rawError).toEqual({
      message: "Invalid Form Body",
      code: 50035,
      errors: { content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH", message: "Must be 2000 or fewer in length." }] } },
    });
    const empty = await refusal(rest.post(Routes.channelMessages(channelId), { body: { content: "   " } }));
    expect(empty!.code).toBe(50006);
    await rest.post(Routes.channelMessages(channelId), { body: { content: "x".repeat(2000) } });
    expect(fake!.botMessages(channelId)).toHaveLength(1);
  });

  it("refuses a wrong bot token with 401", async () => {
    const { channelId } = await world();
    const rest = new REST({ api: fake!.apiUrl }).setToken("not-the-token");
    const error = await refusal(rest.post(Routes.channelMessages(channelId), { body: { content: "hi" } }));
    expect(error!.status).toBe(401);
  });

  it("announces a per-channel bucket in X-RateLimit headers and answers 429 with retry_after when it is exceeded", async () => {
    const { channelId, guildId } = await world({ messageBucket: { limit: 2, windowMs: 1000 } });
    const other = fake!.addChannel(guildId, { name: "other" });
    const post = (id: string) =>
      fetch(`${fake!.apiUrl}/v10/channels/${id}/messages`, {
        method: "POST",
        headers: { Authorization: `Bot ${fake!.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ content: "hi" }),
      });
    const first = await post(channelId);
    expect(first.headers.get("x-ratelimit-limit")).toBe("2");
    expect(first.headers.get("x-ratelimit-remaining")).toBe("1");
    expect(Number(first.headers.get("x-ratelimit-reset-after"))).toBeGreaterThan(0);
    expect(first.headers.get("x-ratelimit-bucket")).toMatch(/^[0-9a-f]{32}$/);
    await post(channelId);
    const third = await post(channelId);
    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("1");
    expect(third.headers.get("x-ratelimit-scope")).toBe("user");
    const body = (await third.json()) as { retry_after: number; global: boolean; message: string };
    expect(body.global).toBe(false);
    expect(body.retry_after).toBeGreaterThan(0);
    expect(body.retry_after).toBeLessThanOrEqual(1);
    // Another channel has its own bucket.
    expect((await post(other)).status).toBe(200);
  });

  it("lets discord.js pace itself by those headers: no 429, the third message waits for the window", async () => {
    const { rest, channelId } = await world({ messageBucket: { limit: 2, windowMs: 1000 } });
    for (const n of [1, 2, 3]) await rest.post(Routes.channelMessages(channelId), { body: { content: `m${n}` } });
    const sent = fake!.requestsTo("POST", /\/messages$/);
    expect(sent.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(sent[2]!.atMs - sent[0]!.atMs).toBeGreaterThanOrEqual(900);
  });

  it("refuses interaction callbacks after the deadline with 10062, and a second callback with 40060", async () => {
    const { user, channelId } = await world({ interactionDeadlineMs: 200 });
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake!.apiUrl } });
    await new Promise<void>((resolve) => {
      client.once(Events.ClientReady, () => resolve());
      void client.login(fake!.token);
    });
    try {
      const rest = new REST({ api: fake!.apiUrl });
      const late = await fake!.slashCommand({ channelId, userId: user.id, name: "help" });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const error = await refusal(rest.post(Routes.interactionCallback(late.id, late.token), { body: { type: 5 }, auth: false }));
      expect(error!.status).toBe(404);
      expect(error!.code).toBe(10062);

      const onTime = await fake!.slashCommand({ channelId, userId: user.id, name: "help" });
      await rest.post(Routes.interactionCallback(onTime.id, onTime.token), { body: { type: 4, data: { content: "ok" } }, auth: false });
      const twice = await refusal(rest.post(Routes.interactionCallback(onTime.id, onTime.token), { body: { type: 4, data: { content: "again" } }, auth: false }));
      expect(twice!.code).toBe(40060);
      expect(fake!.botMessages(channelId).map((m) => m.content)).toEqual(["ok"]);
    } finally {
      await client.destroy();
    }
  });

  it("blanks guild message content for a client without the Message Content intent, unless the bot is mentioned", async () => {
    const { user, channelId } = await world();
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: fake!.apiUrl } });
    const seen: string[] = [];
    client.on(Events.MessageCreate, (m) => void seen.push(m.content));
    await new Promise<void>((resolve) => {
      client.once(Events.ClientReady, () => resolve());
      void client.login(fake!.token);
    });
    try {
      await fake!.sendGuildMessage({ channelId, authorId: user.id, content: "secret chatter" });
      await fake!.sendGuildMessage({ channelId, authorId: user.id, content: "hello bot", mentionBot: true });
      await fake!.sendDm(user.id, "a DM nobody subscribed to");
      expect(seen).toEqual(["", `<@${fake!.bot.id}> hello bot`]);
    } finally {
      await client.destroy();
    }
  });

  it("tells a client only of guilds the bot is in: READY, a join after it (GUILD_CREATE), and a leave (204, GUILD_DELETE)", async () => {
    const { user, guildId, rest } = await world();
    const elsewhere = fake!.addGuild({ name: "Elsewhere", withBot: false });
    const lobby = fake!.addChannel(elsewhere, { name: "lobby", system: true });
    fake!.addMember(elsewhere, user.id);
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: fake!.apiUrl } });
    const joined: { id: string; systemChannelId: string | null; channels: number }[] = [];
    const left: string[] = [];
    const seen: string[] = [];
    client.on(Events.GuildCreate, (g) => void joined.push({ id: g.id, systemChannelId: g.systemChannelId, channels: g.channels.cache.size }));
    client.on(Events.GuildDelete, (g) => void left.push(g.id));
    client.on(Events.MessageCreate, (m) => void seen.push(m.content));
    await new Promise<void>((resolve) => {
      client.once(Events.ClientReady, () => resolve());
      void client.login(fake!.token);
    });
    try {
      expect([...client.guilds.cache.keys()]).toEqual([guildId]);
      // Nothing of a guild the bot is not in: not its channels, not its messages.
      fake!.addChannel(elsewhere, { name: "secret" });
      await fake!.sendGuildMessage({ channelId: lobby, authorId: user.id, content: "not for the bot" });
      await fake!.sync();
      expect(seen).toEqual([]);

      fake!.addBotToGuild(elsewhere);
      await fake!.sync();
      expect(joined).toEqual([{ id: elsewhere, systemChannelId: lobby, channels: 2 }]);

      // A guild the bot is not in is unknown to it, as on Discord.
      const stranger = fake!.addGuild({ withBot: false });
      const unknown = await refusal(rest.delete(Routes.userGuild(stranger)));
      expect(unknown!.code).toBe(10004);

      await client.guilds.cache.get(elsewhere)!.leave();
      await fake!.sync();
      expect(left).toEqual([elsewhere]);
      expect(fake!.leftGuilds).toEqual([elsewhere]);
      expect(client.guilds.cache.has(elsewhere)).toBe(false);
      expect(fake!.world.guilds.get(elsewhere)!.members.has(fake!.bot.id)).toBe(false);
      expect([...fake!.world.guilds.get(elsewhere)!.roles.values()].some((r) => r.botId)).toBe(false);
      await fake!.sendGuildMessage({ channelId: lobby, authorId: user.id, content: "after the leave", mentionBot: true });
      await fake!.sync();
      expect(seen).toEqual([]);
      await expect(fake!.slashCommand({ channelId: lobby, userId: user.id, name: "help" })).rejects.toThrow(/not in guild/);
    } finally {
      await client.destroy();
    }
  });

  it("sends USER options of a command registered with them as type 6, with the user resolved", async () => {
    const { user, guildId, channelId, rest } = await world();
    const outsider = fake!.addUser({ username: "zed", globalName: "Zed" });
    const roleId = fake!.addRole(guildId, { name: "Regulars", permissions: 0n });
    fake!.world.guilds.get(guildId)!.members.get(user.id)!.roles.push(roleId);
    await rest.put(Routes.applicationCommands(fake!.applicationId), {
      body: [
        {
          name: "block",
          description: "Block someone",
          type: 1,
          options: [
            { name: "user", description: "Who", type: 6, required: true },
            { name: "reason", description: "Why", type: 3 },
          ],
        },
      ],
    });
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake!.apiUrl } });
    const raw: unknown[] = [];
    client.on(Events.Raw, (packet: { t?: string; d?: unknown }) => {
      if (packet.t === "INTERACTION_CREATE") raw.push(packet.d);
    });
    const used: { user: string | undefined; member: string | null | undefined; reason: string | null }[] = [];
    client.on(Events.InteractionCreate, (i) => {
      if (!i.isChatInputCommand()) return;
      const member = i.options.getMember("user");
      used.push({
        user: i.options.getUser("user")?.username,
        member: member && "displayName" in member ? member.displayName : null,
        reason: i.options.getString("reason"),
      });
    });
    await new Promise<void>((resolve) => {
      client.once(Events.ClientReady, () => resolve());
      void client.login(fake!.token);
    });
    try {
      await fake!.slashCommand({ channelId, userId: user.id, name: "block", options: { user: user.id, reason: "spam" } });
      await fake!.slashCommand({ channelId, userId: user.id, name: "block", options: { user: outsider.id } });
      expect(used).toEqual([
        { user: "ada", member: "ada", reason: "spam" },
        { user: "zed", member: null, reason: null },
      ]);
      const first = raw[0] as { data: { options: unknown[]; resolved: { users: Record<string, unknown>; members: Record<string, Record<string, unknown>> } } };
      expect(first.data.options).toEqual([
        { name: "user", type: 6, value: user.id },
        { name: "reason", type: 3, value: "spam" },
      ]);
      expect(Object.keys(first.data.resolved.users)).toEqual([user.id]);
      // Discord's resolved members leave out the user, deaf and mute, and carry permissions.
      const resolvedMember = first.data.resolved.members[user.id]!;
      expect(resolvedMember.user).toBeUndefined();
      expect(resolvedMember.roles).toEqual([roleId]);
      expect(typeof resolvedMember.permissions).toBe("string");
      const second = raw[1] as { data: { resolved: Record<string, unknown> } };
      expect(second.data.resolved.members).toBeUndefined();
      await expect(fake!.slashCommand({ channelId, userId: user.id, name: "block", options: { user: "1234567890123456789" } })).rejects.toThrow(/no user/);
    } finally {
      await client.destroy();
    }
  });

  it("validates application commands as Discord does", async () => {
    const { rest } = await world();
    const bad = await refusal(
      rest.put(Routes.applicationCommands(fake!.applicationId), {
        body: [{ name: "Bad Name", description: "x", type: 1 }, { name: "ok", description: "", type: 1 }],
      }),
    );
    expect(bad!.code).toBe(50035);
    expect(Object.keys((bad!.rawError as { errors: object }).errors)).toEqual(["0", "1"]);
    await rest.put(Routes.applicationCommands(fake!.applicationId), { body: [{ name: "ok", description: "fine", type: 1 }] });
    expect(fake!.commands().map((c) => c.name)).toEqual(["ok"]);
  });
});
