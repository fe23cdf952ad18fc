/**
 * Sharded Discord as users run it, against the fake gateway (which routes
 * each guild's events to shard `(guild_id >> 22) % count`, DMs to shard 0)
 * and the fake Ollama: two bot processes started with DISCORD_SHARD_COUNT=2
 * and DISCORD_SHARDS=0 / 1, and `parley --shards auto` running both shards
 * under discord.js's ShardingManager. Every message is answered exactly
 * once, and the slash commands are registered once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions, type FakeUser } from "../fakes/discord/index.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, builtCli, startBot, type BotProcess } from "../support/bot-process.js";

const quietFolder = fileURLToPath(new URL("../support/", import.meta.url));

interface ShardedWorld {
  fake: FakeDiscord;
  member: FakeUser;
  /** #general of a server on shard 0 of 2, and of one on shard 1 of 2. */
  channels: [string, string];
}

let ollama: FakeOllama;
let world: ShardedWorld | undefined;
const bots: BotProcess[] = [];

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
});
afterAll(async () => {
  await ollama?.close();
});
afterEach(async () => {
  for (const bot of bots.splice(0)) bot.kill();
  await world?.fake.close();
  world = undefined;
});

async function shardedWorld(options: FakeDiscordOptions = {}): Promise<ShardedWorld> {
  const fake = await startFakeDiscord(options);
  const member = fake.addUser({ username: "ada", globalName: "Ada" });
  const channels = [0, 1].map((id) => {
    const guildId = fake.addGuild({ name: `Shard ${id} server`, shard: { id, count: 2 } });
    fake.addMember(guildId, member.id);
    return fake.addChannel(guildId, { name: "general" });
  }) as [string, string];
  world = { fake, member, channels };
  return world;
}

function env(fake: FakeDiscord, extra: Record<string, string> = {}): Record<string, string> {
  return botEnv({ DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "20000", ...extra });
}

const chatCalls = () => ollama.requests.filter((r) => r.path === "/api/chat").length;

/** A mention in each server and a DM: each answered by exactly one process, so one model call and one answer each. */
async function expectEachAnsweredOnce({ fake, member, channels }: ShardedWorld): Promise<void> {
  const before = chatCalls();
  await fake.sendGuildMessage({ channelId: channels[0], authorId: member.id, content: "hello shard zero", mentionBot: true });
  await fake.sendGuildMessage({ channelId: channels[1], authorId: member.id, content: "hello shard one", mentionBot: true });
  await fake.sendDm(member.id, "hello in private");
  const dm = fake.dmChannelId(member.id);
  await fake.waitFor(() => [...channels, dm].every((id) => fake.botMessages(id).some((m) => m.content.startsWith("Echo:"))), 20_000);
  // A second process answering too would also have called the model by now: both read each dispatch before sendX resolved.
  await fake.sync();
  expect(fake.botMessages(channels[0]).map((m) => m.content)).toEqual([expect.stringContaining("hello shard zero")]);
  expect(fake.botMessages(channels[1]).map((m) => m.content)).toEqual([expect.stringContaining("hello shard one")]);
  expect(fake.botMessages(dm).map((m) => m.content)).toEqual([expect.stringContaining("hello in private")]);
  expect(chatCalls() - before).toBe(3);
}

describe("discord shards end to end (fake Discord, fake Ollama)", () => {
  it("two processes with DISCORD_SHARD_COUNT=2 and DISCORD_SHARDS=0 / 1 answer each message once; commands are registered once", async () => {
    const w = await shardedWorld();
    const { fake, member, channels } = w;
    for (const shard of ["0", "1"]) bots.push(startBot(env(fake, { DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: shard })));
    await fake
      .waitFor(() => bots.every((b) => b.stderr().includes('"msg":"adapter started"')), 30_000)
      .catch((e: unknown) => {
        throw new Error(`the bots did not start: ${String(e)}\n${bots.map((b) => b.stderr().slice(-2000)).join("\n---\n")}`);
      });
    expect(fake.identifies.map((i) => i.shard).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(fake.requestsTo("PUT", /\/commands$/)).toHaveLength(1);
    expect(bots[1]!.stderr()).toContain("slash commands are registered by the process that runs shard 0");

    await expectEachAnsweredOnce(w);

    // A slash command in the server on shard 1 reaches only that process, which answers it.
    const help = await fake.slashCommand({ channelId: channels[1], userId: member.id, name: "help" });
    await fake.waitFor(() => fake.botMessages(channels[1]).some((m) => m.interactionId === help.id && m.content.length > 0));
    expect(fake.requestsTo("POST", new RegExp(`^/interactions/${help.id}/`))).toHaveLength(1);
  }, 60_000);

  it("`parley --shards auto` runs Discord's recommended two shards under the ShardingManager, and SIGTERM stops them all with exit 0", async () => {
    // Two identify buckets: the second shard's process starts without Discord's 5 s wait.
    const w = await shardedWorld({ recommendedShards: 2, maxConcurrency: 2 });
    const { fake } = w;
    const manager = spawnManager(env(fake), ["--shards", "auto"]);
    try {
      await fake.waitFor(() => manager.stderr().includes("every shard is running") || manager.child.exitCode !== null, 60_000).catch((e: unknown) => {
        throw new Error(`the shards did not start: ${String(e)}\n${manager.stderr().slice(-4000)}`);
      });
      expect(manager.child.exitCode, manager.stderr().slice(-4000)).toBeNull();
      expect(fake.identifies.map((i) => i.shard).sort()).toEqual([
        [0, 2],
        [1, 2],
      ]);
      expect(fake.connectedClients).toBe(2);
      await fake.waitFor(() => fake.requestsTo("PUT", /\/commands$/).length > 0);

      await expectEachAnsweredOnce(w);
      expect(fake.requestsTo("PUT", /\/commands$/)).toHaveLength(1);

      manager.child.kill("SIGTERM");
      expect(await manager.exited).toBe(0);
      await fake.waitFor(() => fake.connectedClients === 0);
    } finally {
      manager.child.kill("SIGKILL");
    }
  }, 90_000);
});

/** `npx parley` as installed: bin/parley.mjs, which runs the TypeScript sources through tsx. */
function spawnManager(environment: Record<string, string>, args: string[]): { child: ChildProcess; stderr(): string; exited: Promise<number | null> } {
  // parley's commands as the image runs them (built JavaScript): its shard processes then start without tsx too.
  const child = spawn(process.execPath, [builtCli, ...args], { cwd: quietFolder, env: environment, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString("utf8")));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}
