/**
 * The whole bot as users run it (`npm start` with DISCORD_TOKEN and
 * DISCORD_API_URL set): real discord.js against the fake Discord, the real
 * dispatcher and commands, and the fake Ollama as the model.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { StoredMessage } from "../fakes/discord/index.js";
import { startScenario, type DiscordScenario } from "../fakes/discord/scenario.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeTelegram } from "../fakes/telegram.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";

let ollama: FakeOllama;
let discord: DiscordScenario;
let bot: BotProcess;

/** The last chat call the model got: what it was shown. */
const lastPrompt = () =>
  (ollama.requests.filter((r) => r.path === "/api/chat").at(-1)?.body as { messages: { role: string; content: string }[] } | undefined)?.messages ?? [];

async function startDiscordBot(scenario: DiscordScenario, extra: Record<string, string> = {}): Promise<BotProcess> {
  const process = startBot(
    botEnv({ DISCORD_TOKEN: scenario.fake.token, DISCORD_API_URL: scenario.fake.apiUrl, OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "20000", ...extra }),
  );
  await scenario.fake.waitFor(() => scenario.fake.connectedClients === 1 && scenario.fake.requestsTo("PUT", /\/commands$/).length > 0, 20_000).catch((e: unknown) => {
    throw new Error(`the bot did not connect: ${String(e)}\n${process.stderr().slice(-3000)}`);
  });
  // Signal handlers are installed once the app has started.
  await scenario.fake.waitFor(() => process.stderr().includes('"msg":"adapter started"'), 10_000);
  return process;
}

/** Waits for a bot message in the channel that satisfies `check` (as last edited). */
const answerIn = (channelId: string, check: (m: StoredMessage) => boolean, timeoutMs = 10_000) =>
  discord.fake.waitFor(() => discord.fake.botMessages(channelId).find(check), timeoutMs);

describe("discord end to end (npm start, fake Discord, fake Ollama)", () => {
  beforeAll(async () => {
    ollama = await startFakeOllama({ models: ["llama3.2:latest", "llava:latest"], visionModels: ["llava:latest"] });
    discord = await startScenario();
    bot = await startDiscordBot(discord, { LLM_VISION_MODEL: "llava:latest" });
  }, 30_000);
  afterAll(async () => {
    bot?.kill();
    await discord?.fake.close();
    await ollama?.close();
  });
  beforeEach(() => {
    ollama.setResponder(null);
  });

  it("answers a DM as a reply, and registers the slash commands globally", async () => {
    const { fake, dmUser } = discord;
    const asked = await fake.sendDm(dmUser.id, "hello there");
    const answer = await answerIn(fake.dmChannelId(dmUser.id), (m) => m.content === "Echo: hello there");
    expect(answer.referencedMessageId).toBe(asked.id);
    const names = fake.commands().map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["chat", "persona", "remember", "recall", "forget", "reset", "help", "status", "usage"]));
    const reset = fake.commands().find((c) => c.name === "reset")!;
    expect(reset.default_member_permissions).toBe((1n << 13n).toString());
  });

  it("answers a mention in a server channel, telling the model who spoke, and ignores plain chatter", async () => {
    const { fake, random, member } = discord;
    const calls = () => ollama.requests.filter((r) => r.path === "/api/chat").length;
    const before = calls();
    await fake.sendGuildMessage({ channelId: random, authorId: member.id, content: "nobody asked the bot" });
    await fake.sendGuildMessage({ channelId: random, authorId: member.id, content: "what time is it?", mentionBot: true });
    await answerIn(random, (m) => m.content.startsWith("Echo:"));
    expect(calls()).toBe(before + 1);
    expect(lastPrompt().at(-1)).toEqual({ role: "user", content: "Ada L.: what time is it?" });
  });

  it("puts the message a member replies to in the prompt, whoever wrote it", async () => {
    const { fake, random, member, moderator } = discord;
    const plan = await fake.sendGuildMessage({ channelId: random, authorId: moderator.id, content: "Let's ship on Friday" });
    await fake.sendGuildMessage({ channelId: random, authorId: member.id, content: "is that realistic?", mentionBot: true, replyTo: plan.id });
    await answerIn(random, (m) => m.content.includes("is that realistic?"));
    const asked = lastPrompt().at(-1)!;
    expect(asked.role).toBe("user");
    expect(asked.content).toMatch(/^\(in reply to [^:]+: "Let's ship on Friday"\)\nAda L\.: is that realistic\?$/);
  });

  it("sends a DM's image from Discord's CDN to the vision model byte for byte, asking to describe it", async () => {
    const { fake, dmUser } = discord;
    const png = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), Buffer.alloc(64, 3)]);
    await fake.sendDm(dmUser.id, "", [{ filename: "cat.png", contentType: "image/png", bytes: png }]);
    await answerIn(fake.dmChannelId(dmUser.id), (m) => m.content === "Echo: Describe this image.");
    const call = ollama.requests.filter((r) => r.path === "/api/chat").at(-1)!.body as { model: string; messages: Array<{ images?: string[] }> };
    expect(call.model).toBe("llava:latest");
    expect(call.messages.at(-1)!.images!.map((i) => Buffer.from(i, "base64"))).toEqual([png]);
    expect(fake.cdnDownloads.at(-1)?.complete).toBe(true);
  });

  it("runs prefix and slash commands: remember by !remember, recall by /recall", async () => {
    const { fake, general, member } = discord;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "!remember the wifi password is hunter2" });
    await answerIn(general, (m) => m.content.includes("Remembered as #"));
    const recall = await fake.slashCommand({ channelId: general, userId: member.id, name: "recall", options: { query: "wifi" } });
    const answer = await answerIn(general, (m) => m.interactionId === recall.id && m.content.includes("hunter2"));
    expect(recall.callbackAtMs! - recall.sentAtMs).toBeLessThan(3000);
    expect(answer.flags & (1 << 7)).toBe(0);
  });

  it("streams /chat into the deferred response", async () => {
    const { fake, general, member } = discord;
    ollama.setResponder(() => ({ chunks: ["Slash ", "commands ", "stream ", "too."], chunkDelayMs: 300 }));
    const chat = await fake.slashCommand({ channelId: general, userId: member.id, name: "chat", options: { text: "stream please" } });
    const answer = await answerIn(general, (m) => m.interactionId === chat.id && m.content === "Slash commands stream too.");
    expect(answer.editCount).toBeGreaterThanOrEqual(1);
  });

  it("lets only moderators reset: Discord hides the command, and the bot checks again", async () => {
    const { fake, thread, member, channelModerator } = discord;
    const denied = await fake.slashCommand({ channelId: thread, userId: member.id, name: "reset" });
    await answerIn(thread, (m) => m.interactionId === denied.id && m.content === "Only moderators can use /reset here.");
    const allowed = await fake.slashCommand({ channelId: thread, userId: channelModerator.id, name: "reset" });
    await answerIn(thread, (m) => m.interactionId === allowed.id && m.content.startsWith("Conversation cleared"));
    await fake.sendGuildMessage({ channelId: thread, authorId: member.id, content: "!persona creative" });
    await answerIn(thread, (m) => m.content.startsWith("Only moderators can use"));
  });

  it("completes persona names", async () => {
    const { fake, general, member } = discord;
    const interaction = await fake.autocomplete({ channelId: general, userId: member.id, name: "persona", options: { name: "c" }, focused: "name" });
    await fake.waitFor(() => interaction.choices);
    expect(interaction.choices!.map((c) => c.value).sort()).toEqual(["concise", "creative"]);
  });

  it("keeps a thread's conversation apart from its channel's", async () => {
    const { fake, general, thread, member } = discord;
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "the secret word is pineapple", mentionBot: true });
    await answerIn(general, (m) => m.content.includes("pineapple"));
    await fake.sendGuildMessage({ channelId: thread, authorId: member.id, content: "what is the secret word?", mentionBot: true });
    await answerIn(thread, (m) => m.content.includes("what is the secret word?"));
    expect(JSON.stringify(lastPrompt())).not.toContain("pineapple");
  });

  it("pings nobody when the model writes @everyone, @here, a role or a user", async () => {
    const { fake, random, member, moderator, modRoleId } = discord;
    const nasty = `Attention @everyone and @here: <@&${modRoleId}> and <@${moderator.id}>, look!`;
    ollama.setResponder(() => nasty);
    const writesBefore = fake.requests.length;
    await fake.sendGuildMessage({ channelId: random, authorId: member.id, content: "shout", mentionBot: true });
    const answer = await answerIn(random, (m) => m.content === nasty);
    expect(answer.pings).toEqual({ everyone: false, users: [], roles: [], repliedUser: false });
    const writes = fake.requests.slice(writesBefore).filter((r) => (r.method === "POST" || r.method === "PATCH") && /messages/.test(r.path));
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) expect((w.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [], replied_user: false });
  });

  it("delivers a 6,000-character answer in messages of at most 2,000 characters", async () => {
    const { fake, dmUser } = discord;
    const text = Array.from({ length: 12 }, (_, i) => `Part ${i}: ${"lorem ipsum dolor sit amet ".repeat(19).trim()}.`).join("\n\n");
    expect(text.length).toBeGreaterThan(6000);
    ollama.setResponder(() => ({ chunks: text.match(/[\s\S]{1,400}/g)!, chunkDelayMs: 20 }));
    const channelId = fake.dmChannelId(dmUser.id);
    const before = fake.botMessages(channelId).length;
    await fake.sendDm(dmUser.id, "write a lot");
    await fake.waitFor(() => {
      const shown = fake.botMessages(channelId).slice(before);
      return shown.length >= 4 && shown.map((m) => m.content).join("\n\n") === text;
    }, 20_000);
    for (const m of fake.botMessages(channelId).slice(before)) expect(m.content.length).toBeLessThanOrEqual(2000);
  }, 30_000);

  it("registers commands in one server with DISCORD_GUILD_ID, and stops cleanly on SIGTERM", async () => {
    const other = await startScenario();
    const second = await startDiscordBot(other, { DISCORD_GUILD_ID: other.guildId });
    try {
      expect(other.fake.commands()).toEqual([]);
      expect(other.fake.commands(other.guildId).map((c) => c.name)).toContain("reset");
      const exited = new Promise<number | null>((resolve) => second.child.once("exit", (code) => resolve(code)));
      second.child.kill("SIGTERM");
      expect(await exited).toBe(0);
      await other.fake.waitFor(() => other.fake.connectedClients === 0);
      expect(second.stderr()).not.toContain(other.fake.token);
    } finally {
      second.kill();
      await other.fake.close();
    }
  }, 30_000);

  it("serves Discord and Telegram together in one process when both tokens are set", async () => {
    const other = await startScenario();
    const telegram = await startFakeTelegram();
    const both = startBot(
      botEnv({
        DISCORD_TOKEN: other.fake.token,
        DISCORD_API_URL: other.fake.apiUrl,
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        OLLAMA_HOST: ollama.url,
      }),
    );
    try {
      await other.fake.waitFor(() => (both.stderr().match(/"msg":"adapter started"/g) ?? []).length === 2, 20_000).catch((e: unknown) => {
        throw new Error(`both adapters did not start: ${String(e)}\n${both.stderr().slice(-3000)}`);
      });
      const person = telegram.user({ first_name: "Tess" });
      telegram.privateMessage(person, "hello from Telegram");
      await other.fake.sendDm(other.dmUser.id, "hello from Discord");
      await other.fake.waitFor(() => other.fake.botMessages(other.fake.dmChannelId(other.dmUser.id)).find((m) => m.content === "Echo: hello from Discord"), 10_000);
      await telegram.waitFor(() => telegram.botTexts(person.id).includes("Echo: hello from Telegram"), 10_000, "the Telegram answer");
      // Neither platform fell back to the terminal.
      expect(both.stdout()).toBe("");
      const exited = new Promise<number | null>((resolve) => both.child.once("exit", (code) => resolve(code)));
      both.child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      both.kill();
      await other.fake.close();
      await telegram.close();
    }
  }, 40_000);
});
