import { afterEach, describe, expect, it } from "vitest";
import type { RecordedRequest } from "../fakes/discord/index.js";
import { slowly, startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/**
 * Pacing at a quarter of the default (1.2 s per channel), with the fake's
 * per-channel buckets (5 per 5 s on Discord) scaled alike, for tests whose
 * subject is not the pacing's length.
 */
const quick = { adapter: { editIntervalMs: 300 }, fake: { messageBucket: { limit: 5, windowMs: 1250 }, webhookBucket: { limit: 5, windowMs: 1250 } } };

/** Every request that creates or edits a message: channel messages, interaction responses, follow-ups. */
const messageWrites = (b: RunningDiscordBot): RecordedRequest[] =>
  b.fake.requests.filter(
    (r) =>
      (r.method === "POST" && /^\/channels\/\d+\/messages$/.test(r.path)) ||
      (r.method === "PATCH" && /^\/channels\/\d+\/messages\/\d+$/.test(r.path)) ||
      (r.method === "POST" && /^\/webhooks\/\d+\/[^/]+$/.test(r.path)) ||
      (r.method === "PATCH" && /^\/webhooks\/\d+\/[^/]+\/messages\//.test(r.path)),
  );

describe("discord adapter: answers", () => {
  it("pings nobody, whatever the model writes: every send, edit and follow-up parses no mentions", async () => {
    bot = await startDiscordBot(quick);
    const { fake, general, member, moderator, modRoleId } = bot;
    const nasty = ["Hello @everyone ", "and @here, ", `calling <@&${modRoleId}> `, `and <@${moderator.id}> `, `and <@!${member.id}>.`];
    bot.behaviour = async (m, reply) => {
      await reply.stream(slowly(nasty, 150)); // longer than the 400 ms hold before the first message: edits too
      await reply.send(`also @everyone <@&${modRoleId}> <@${moderator.id}>`);
      if (m.command) await reply.send(`${"x".repeat(1990)} @everyone and a follow-up <@${moderator.id}>`);
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "say it", mentionBot: true });
    await fake.slashCommand({ channelId: general, userId: member.id, name: "chat", options: { text: "say it" } });
    await fake.waitFor(() => fake.botMessages(general).length >= 6 && fake.botMessages(general).some((m) => m.content.includes("follow-up")), 15_000);
    await fake.waitFor(() => fake.botMessages(general).filter((m) => m.content === nasty.join("").trim()).length === 2, 10_000);

    const writes = messageWrites(bot);
    const methods = new Set(writes.map((w) => `${w.method} ${w.path.startsWith("/webhooks") ? "webhook" : "channel"}`));
    expect(methods).toEqual(new Set(["POST channel", "PATCH channel", "POST webhook", "PATCH webhook"]));
    for (const write of writes) {
      expect((write.body as { allowed_mentions?: unknown }).allowed_mentions).toEqual({ parse: [], replied_user: false });
    }
    for (const message of fake.botMessages(general)) {
      expect(message.pings).toEqual({ everyone: false, users: [], roles: [], repliedUser: false });
    }
  }, 30_000);

  it("delivers a 6,000-character answer complete, in messages of at most 2,000 characters", async () => {
    bot = await startDiscordBot(quick);
    const { fake, general, member } = bot;
    const paragraph = (i: number) => `Paragraph ${i}. ${"All work and no play makes Jack a dull boy. ".repeat(9).trim()}`;
    const text = Array.from({ length: 15 }, (_, i) => paragraph(i)).join("\n\n");
    expect(text.length).toBeGreaterThanOrEqual(6000);
    let streamed: string | undefined;
    bot.behaviour = async (_m, reply) => {
      streamed = await reply.stream(slowly(text.match(/[\s\S]{1,250}/g)!, 20));
    };
    const asked = await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "long one please", mentionBot: true });
    await fake.waitFor(() => streamed, 30_000);
    const shown = fake.botMessages(general);
    expect(shown.length).toBeGreaterThanOrEqual(4);
    for (const m of shown) expect(m.content.length).toBeLessThanOrEqual(2000);
    expect(shown.map((m) => m.content).join("\n\n")).toBe(text);
    expect(streamed).toBe(text);
    expect(shown[0]!.referencedMessageId).toBe(asked.id);
    // Nothing Discord refused on the way.
    expect(messageWrites(bot).every((w) => w.status === 200)).toBe(true);
  }, 40_000);

  it("streams into several channels at once, each at its own pace: one edit per editIntervalMs per channel, none slowed by another", async () => {
    bot = await startDiscordBot(quick);
    const { fake, general, random, thread, member } = bot;
    const channels = [general, random, thread];
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `);
    const firstDeltaAt = new Map<string, number>();
    const lastDeltaAt = new Map<string, number>();
    bot.behaviour = async (m, reply) => {
      const key = m.channel.key.slice("discord:".length);
      async function* tokens() {
        for (const [i, word] of words.entries()) {
          await new Promise((resolve) => setTimeout(resolve, 30));
          if (i === 0) firstDeltaAt.set(key, Date.now());
          lastDeltaAt.set(key, Date.now());
          yield word;
        }
      }
      await reply.stream(tokens());
    };
    for (const channelId of channels) {
      await fake.sendGuildMessage({ channelId, authorId: member.id, content: "go", mentionBot: true });
    }
    const full = words.join("").trim();
    await fake.waitFor(() => channels.every((c) => fake.botMessages(c)[0]?.content === full), 15_000);

    for (const channelId of channels) {
      const calls = fake.requests.filter((r) => r.path.startsWith(`/channels/${channelId}/messages`) && r.status === 200 && r.method !== "GET");
      const [first, ...edits] = calls;
      // The first message within about a second of the first tokens.
      expect(first!.atMs - firstDeltaAt.get(channelId)!).toBeLessThan(1000);
      // About 1.2 s of tokens: a handful of edits, each at least ~300 ms after the last call.
      expect(edits.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < calls.length; i++) expect(calls[i]!.atMs - calls[i - 1]!.atMs).toBeGreaterThanOrEqual(200);
      // Not slowed: the last edit comes soon after the channel's own last token (within its
      // own pacing; one pacer for all three channels would leave a backlog of the others' calls).
      expect(calls.at(-1)!.atMs - lastDeltaAt.get(channelId)!).toBeLessThan(1000);
    }
  }, 30_000);

  it("leaves a 429 to discord.js's queue: the edit is retried once after retry_after, the answer completes", async () => {
    bot = await startDiscordBot(quick);
    const { fake, general, member } = bot;
    fake.inject429({ method: "PATCH", path: /^\/channels\/\d+\/messages\/\d+$/, retryAfterSec: 1 });
    let done: string | undefined;
    bot.behaviour = async (_m, reply) => {
      // Further apart than the 400 ms hold before the first message, so that an edit is due.
      done = await reply.stream(slowly(["first words, ", "more words, ", "last words."], 500));
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "go", mentionBot: true });
    await fake.waitFor(() => done, 10_000);
    expect(fake.botMessages(general).map((m) => m.content)).toEqual(["first words, more words, last words."]);
    const edits = fake.requestsTo("PATCH", /^\/channels\/\d+\/messages\/\d+$/);
    expect(edits[0]!.status).toBe(429);
    expect(edits.filter((e) => e.status === 429)).toHaveLength(1);
    expect(edits[1]!.atMs - edits[0]!.atMs).toBeGreaterThanOrEqual(950);
    expect(edits[1]!.body).toEqual(edits[0]!.body);
  }, 15_000);

  it("shows typing while the model thinks, renewed every typingEveryMs, and stops at the first message", async () => {
    // The default 8 s is checked on fake timers in shared/typing.test.ts.
    bot = await startDiscordBot({ adapter: { typingEveryMs: 800 } });
    const { fake, general, member } = bot;
    bot.behaviour = async (_m, reply) => {
      reply.typing();
      await new Promise((resolve) => setTimeout(resolve, 900));
      await reply.stream(slowly(["thought ", "about it"], 10));
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "hmm?", mentionBot: true });
    await fake.waitFor(() => fake.botMessages(general)[0]?.content === "thought about it", 15_000);
    const typing = fake.requestsTo("POST", new RegExp(`^/channels/${general}/typing$`));
    expect(typing).toHaveLength(2);
    expect(typing[1]!.atMs - typing[0]!.atMs).toBeGreaterThanOrEqual(700);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // past a third renewal's time
    expect(fake.requestsTo("POST", /\/typing$/)).toHaveLength(2);
  }, 20_000);

  it("turns Discord's refusal into a short error for the core, without URLs or tokens", async () => {
    bot = await startDiscordBot({ fake: { maxLength: 10 } });
    const { fake, general, member } = bot;
    let failure: unknown;
    bot.behaviour = async (_m, reply) => {
      try {
        await reply.send("far too long for this fake");
      } catch (error) {
        failure = error;
      }
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "go", mentionBot: true });
    await fake.waitFor(() => failure);
    const error = failure as { name: string; code: string; userMessage: string; message: string };
    expect(error.name).toBe("ParleyError");
    expect(error.userMessage).toBe("Discord did not accept my answer.");
    expect(error.message).toContain("50035");
    expect(error.message).not.toMatch(/https?:|127\.0\.0\.1/);
  });

  it("answers without the reply when the bot may not read the channel's history, and reports a channel it may not write in", async () => {
    bot = await startDiscordBot();
    const { fake, general, random, guildId, member } = bot;
    const botRole = [...fake.world.guilds.get(guildId)!.roles.values()].find((r) => r.botId === fake.bot.id)!;
    fake.setOverwrite(general, { id: botRole.id, type: 0, allow: 0n, deny: 1n << 16n });
    fake.setOverwrite(random, { id: botRole.id, type: 0, allow: 0n, deny: 1n << 11n });
    const failures: unknown[] = [];
    bot.behaviour = async (_m, reply) => {
      await reply.send("still answered").catch((error: unknown) => failures.push(error));
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "hello", mentionBot: true });
    const answer = await fake.waitFor(() => fake.botMessages(general)[0]);
    expect(answer.content).toBe("still answered");
    expect(answer.referencedMessageId).toBeUndefined();
    expect(fake.requestsTo("POST", /^\/channels\/\d+\/messages$/).map((r) => r.status)).toEqual([400, 200]);

    await fake.sendGuildMessage({ channelId: random, authorId: member.id, content: "hello", mentionBot: true });
    await fake.waitFor(() => failures.length === 1);
    expect((failures[0] as Error).message).toContain("50013");
    expect(fake.botMessages(random)).toEqual([]);
  });
});
