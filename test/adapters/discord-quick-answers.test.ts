/**
 * A short answer the model finishes at once is posted whole in one message,
 * as on Telegram; a slow one still grows by edits. Real discord.js against
 * the fake Discord, real (short) waits: the hold before the first message
 * is 400 ms, and the fake's sockets do not run under fake timers.
 */
import { afterEach, describe, expect, it } from "vitest";
import { FIRST_MESSAGE_DELAY_MS } from "../../src/adapters/shared/live-message.js";
import { slowly, startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot | undefined;
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const channelPosts = (b: RunningDiscordBot) => b.fake.requestsTo("POST", /^\/channels\/\d+\/messages$/);
const channelEdits = (b: RunningDiscordBot) => b.fake.requestsTo("PATCH", /^\/channels\/\d+\/messages\/\d+$/);
/** The deferred response filled in or edited (`@original`), and follow-ups. */
const originalEdits = (b: RunningDiscordBot) => b.fake.requestsTo("PATCH", /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/);
const followUps = (b: RunningDiscordBot) => b.fake.requestsTo("POST", /^\/webhooks\/\d+\/[^/]+$/);

/** Long enough after the answer for an edit to have come, had one been due (the channel's pacer is 1.2 s). */
const AFTER_ANY_EDIT_MS = 1_800;

describe("discord adapter: quick answers", () => {
  it("a 15 ms answer to a message is one POST with the whole text and no edit", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    const parts = ["Paris ", "is the ", "capital."];
    let done = false;
    bot.behaviour = async (_m, reply) => {
      await reply.stream(slowly(parts, 5));
      done = true;
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "capital of France?", mentionBot: true });
    await fake.waitFor(() => done, 10_000);
    await new Promise((resolve) => setTimeout(resolve, AFTER_ANY_EDIT_MS));

    expect(channelPosts(bot).map((r) => (r.body as { content: string }).content)).toEqual(["Paris is the capital."]);
    expect(channelEdits(bot)).toEqual([]);
    expect(fake.botMessages(general).map((m) => m.content)).toEqual(["Paris is the capital."]);
  }, 20_000);

  it("a 15 ms answer to a slash command fills the deferred response once, whole, with no further edit", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    let done = false;
    bot.behaviour = async (_m, reply) => {
      await reply.stream(slowly(["Paris ", "is the ", "capital."], 5));
      done = true;
    };
    await fake.slashCommand({ channelId: general, userId: member.id, name: "chat", options: { text: "capital of France?" } });
    await fake.waitFor(() => done, 10_000);
    await new Promise((resolve) => setTimeout(resolve, AFTER_ANY_EDIT_MS));

    expect(originalEdits(bot).map((r) => (r.body as { content: string }).content)).toEqual(["Paris is the capital."]);
    expect(followUps(bot)).toEqual([]);
    expect(channelPosts(bot)).toEqual([]);
    expect(channelEdits(bot)).toEqual([]);
  }, 20_000);

  it("a slow answer still shows early and grows by edits", async () => {
    bot = await startDiscordBot();
    const { fake, general, member } = bot;
    const words = Array.from({ length: 12 }, (_, i) => `word${i} `);
    let firstDeltaAt = 0;
    let done = false;
    bot.behaviour = async (_m, reply) => {
      async function* tokens() {
        for (const [i, word] of words.entries()) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          if (i === 0) firstDeltaAt = Date.now();
          yield word;
        }
      }
      await reply.stream(tokens());
      done = true;
    };
    await fake.sendGuildMessage({ channelId: general, authorId: member.id, content: "tell me slowly", mentionBot: true });
    await fake.waitFor(() => done, 15_000);

    const [post] = channelPosts(bot);
    expect(channelPosts(bot)).toHaveLength(1);
    // Held for the first moment only, then shown while the model still writes.
    expect(post!.atMs - firstDeltaAt).toBeGreaterThanOrEqual(FIRST_MESSAGE_DELAY_MS - 50);
    expect(post!.atMs - firstDeltaAt).toBeLessThan(FIRST_MESSAGE_DELAY_MS + 1_000);
    expect((post!.body as { content: string }).content.trim()).not.toBe(words.join("").trim());
    expect(channelEdits(bot).length).toBeGreaterThanOrEqual(1);
    expect(fake.botMessages(general).map((m) => m.content)).toEqual([words.join("").trim()]);
  }, 25_000);
});
