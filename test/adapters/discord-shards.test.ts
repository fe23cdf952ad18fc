/**
 * Sharding with the real adapter and discord.js against the fake gateway,
 * which routes each guild's events to shard `(guild_id >> 22) % count` and
 * DMs to shard 0: adapters for different shards (as different processes
 * would run them) each hear only their own guilds, slash commands are
 * registered once, and shard settings Discord refuses fail the start with
 * a clear message.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createDiscordAdapter, type DiscordAdapterOptions } from "../../src/adapters/discord/index.js";
import type { Adapter, AdapterContext } from "../../src/core/adapter.js";
import type { IncomingMessage } from "../../src/core/types.js";
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions, type FakeUser } from "../fakes/discord/index.js";
import { shardOf } from "../fakes/discord/snowflake.js";
import { testCommands } from "./discord-support.js";

interface ShardedWorld {
  fake: FakeDiscord;
  member: FakeUser;
  /** A channel in a guild on shard 0 of 2, and one in a guild on shard 1 of 2. */
  channels: [string, string];
  guilds: [string, string];
}

interface RunningAdapter {
  adapter: Adapter;
  received: IncomingMessage[];
  logs: string[];
}

let fake: FakeDiscord | undefined;
const running: Adapter[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
  await fake?.close();
  fake = undefined;
});

async function shardedWorld(options: FakeDiscordOptions = {}): Promise<ShardedWorld> {
  fake = await startFakeDiscord(options);
  const member = fake.addUser({ username: "ada", globalName: "Ada" });
  const guilds = [0, 1].map((id) => fake!.addGuild({ name: `Shard ${id} server`, shard: { id, count: 2 } })) as [string, string];
  for (const guildId of guilds) fake.addMember(guildId, member.id);
  const channels = guilds.map((guildId) => fake!.addChannel(guildId, { name: "general" })) as [string, string];
  return { fake, member, channels, guilds };
}

async function startAdapter(world: ShardedWorld, options: Partial<DiscordAdapterOptions>): Promise<RunningAdapter> {
  const received: IncomingMessage[] = [];
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const adapter = createDiscordAdapter({ token: world.fake.token, apiUrl: world.fake.apiUrl, ...options });
  const ctx: AdapterContext = {
    async dispatch(message) {
      received.push(message);
    },
    commands: testCommands,
    complete: async () => [],
    joined: () => ({ stay: true }),
    log: pino({ level: "debug" }, sink),
  };
  running.push(adapter);
  await adapter.start(ctx);
  return { adapter, received, logs };
}

const texts = (adapter: RunningAdapter) => adapter.received.map((m) => m.text);

describe("discord sharding", () => {
  it("the fake places guilds on the asked shard by (guild_id >> 22) % count", async () => {
    const { guilds } = await shardedWorld();
    expect(guilds.map((id) => shardOf(id, 2))).toEqual([0, 1]);
    expect(guilds.map((id) => Number((BigInt(id) >> 22n) % 2n))).toEqual([0, 1]);
  });

  it("shards 0 and 1 of 2 in two adapters: each guild's messages reach only its shard's adapter, DMs shard 0's, commands are registered once", async () => {
    const world = await shardedWorld();
    const { fake, member, channels, guilds } = world;
    const shard0 = await startAdapter(world, { shardCount: 2, shards: [0] });
    const shard1 = await startAdapter(world, { shardCount: 2, shards: [1] });
    expect(fake.identifies.map((i) => i.shard)).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(fake.connectedClients).toBe(2);

    await fake.sendGuildMessage({ channelId: channels[0], authorId: member.id, content: "hello shard 0", mentionBot: true });
    await fake.sendGuildMessage({ channelId: channels[1], authorId: member.id, content: "hello shard 1", mentionBot: true });
    await fake.sendDm(member.id, "a private word");
    await fake.slashCommand({ channelId: channels[1], userId: member.id, name: "help" });
    await fake.waitFor(() => shard0.received.length + shard1.received.length >= 4);
    await fake.sync();

    expect(texts(shard0)).toEqual(["hello shard 0", "a private word"]);
    expect(texts(shard1)).toEqual(["hello shard 1", "/help"]);
    expect(shard1.received[0]!.place).toMatchObject({ server: guilds[1] });

    expect(fake.requestsTo("PUT", /\/commands$/)).toHaveLength(1);
    expect(fake.commands().map((c) => c.name)).toEqual(testCommands.map((c) => c.name));
    expect(shard1.logs.join("\n")).toContain("slash commands are registered by the process that runs shard 0");
  });

  it("one adapter running both shards (a count alone) hears every guild over two connections", async () => {
    // Two identify buckets: the second shard need not wait Discord's 5 s.
    const world = await shardedWorld({ maxConcurrency: 2 });
    const { fake, member, channels } = world;
    const both = await startAdapter(world, { shardCount: 2 });
    expect(fake.identifies.map((i) => i.shard)).toEqual(expect.arrayContaining([[0, 2], [1, 2]]));
    expect(fake.connectedClients).toBe(2);
    await fake.sendGuildMessage({ channelId: channels[0], authorId: member.id, content: "zero", mentionBot: true });
    await fake.sendGuildMessage({ channelId: channels[1], authorId: member.id, content: "one", mentionBot: true });
    await fake.sendDm(member.id, "dm");
    await fake.waitFor(() => both.received.length >= 3);
    expect(texts(both).sort()).toEqual(["dm", "one", "zero"]);
    expect(fake.requestsTo("PUT", /\/commands$/)).toHaveLength(1);
  });

  it("auto takes the shard count Discord recommends (GET /gateway/bot)", async () => {
    const world = await shardedWorld({ recommendedShards: 2, maxConcurrency: 2 });
    await startAdapter(world, { shardCount: "auto" });
    expect(world.fake.identifies.map((i) => i.shard)).toEqual(expect.arrayContaining([[0, 2], [1, 2]]));
    expect(world.fake.identifies).toHaveLength(2);
  });

  it("without shard settings the one connection identifies as shard 0 of 1 and hears every guild", async () => {
    const world = await shardedWorld();
    const { fake, member, channels } = world;
    const single = await startAdapter(world, {});
    expect(fake.identifies.map((i) => i.shard)).toEqual([[0, 1]]);
    await fake.sendGuildMessage({ channelId: channels[1], authorId: member.id, content: "anyone?", mentionBot: true });
    await fake.waitFor(() => single.received.length >= 1);
  });

  it("without shard settings, a ShardingManager's SHARDS and SHARD_COUNT choose the shard (discord.js reads them), and shard 1 registers no commands", async () => {
    const world = await shardedWorld();
    const { fake, member, channels } = world;
    process.env.SHARDS = "1";
    process.env.SHARD_COUNT = "2";
    let managed: RunningAdapter;
    try {
      managed = await startAdapter(world, {});
    } finally {
      delete process.env.SHARDS;
      delete process.env.SHARD_COUNT;
    }
    expect(fake.identifies.map((i) => i.shard)).toEqual([[1, 2]]);
    expect(fake.requestsTo("PUT", /\/commands$/)).toHaveLength(0);
    await fake.sendGuildMessage({ channelId: channels[0], authorId: member.id, content: "not yours", mentionBot: true });
    await fake.sendGuildMessage({ channelId: channels[1], authorId: member.id, content: "yours", mentionBot: true });
    await fake.waitFor(() => managed.received.length >= 1);
    await fake.sync();
    expect(texts(managed)).toEqual(["yours"]);
  });

  it("GET /gateway/bot reports the recommended shard count and the session start limit, counting identifies", async () => {
    const world = await shardedWorld({ recommendedShards: 3, maxConcurrency: 4 });
    const gatewayBot = async () => {
      const response = await fetch(`${world.fake.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${world.fake.token}` } });
      return (await response.json()) as { shards: number; session_start_limit: { remaining: number; max_concurrency: number } };
    };
    const before = await gatewayBot();
    expect(before.shards).toBe(3);
    expect(before.session_start_limit.max_concurrency).toBe(4);
    await startAdapter(world, { shardCount: 2 });
    expect((await gatewayBot()).session_start_limit.remaining).toBe(before.session_start_limit.remaining - 2);
  });

  it("a shard id Discord refuses (4010) fails the start with a message naming the settings", async () => {
    const world = await shardedWorld();
    await expect(startAdapter(world, { shardCount: 2, shards: [2] })).rejects.toThrow(/refused the shard settings; check DISCORD_SHARD_COUNT and DISCORD_SHARDS/);
  });

  it("too many servers for one shard (4011, from 2,500 on Discord) fails the start saying to shard", async () => {
    const world = await shardedWorld({ maxGuildsPerShard: 1 });
    await expect(startAdapter(world, {})).rejects.toThrow(/requires sharding.*DISCORD_SHARD_COUNT=auto.*--shards auto/);
  });
});
