import { afterEach, beforeEach, describe, expect, it } from "vitest";
import pino from "pino";
import type { Adapter, AdapterContext } from "../../src/core/adapter.js";
import type { IncomingMessage, Reply } from "../../src/core/types.js";

/** Drives one adapter through its platform's fake. */
export interface AdapterHarness {
  /** Not yet started; the suite starts it with its own context. */
  adapter: Adapter;
  /** The platform's message length limit. */
  maxLength: number;
  supportsGroups: boolean;
  /** Two distinct group chat ids the fake knows (unused without groups). */
  groupChatIds?: [string, string];
  /** Delivers a user's message as the platform would (resolves once the adapter has received it). */
  userSays(
    text: string,
    where: { chat: "private" | "group"; chatId?: string; userId?: string; userName?: string; mention?: boolean },
  ): Promise<void>;
  /** What the bot shows now in that chat: the text of each of its messages, in order, as last edited. */
  botMessages(where: { chat: "private" | "group"; chatId?: string }): Promise<string[]>;
  close(): Promise<void>;
}

type Received = { message: IncomingMessage; reply: Reply };
type Behaviour = (message: IncomingMessage, reply: Reply) => Promise<void>;

async function* deltasOf(parts: string[], failAfter?: number): AsyncIterable<string> {
  for (let i = 0; i < parts.length; i++) {
    if (failAfter !== undefined && i === failAfter) throw new Error("model went away");
    await new Promise((r) => setTimeout(r, 5));
    yield parts[i]!;
  }
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value)) {
    if (Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
    value = await probe();
  }
  return value;
}

const normalise = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * The behaviour every adapter (console, Telegram, Discord) shares: how it
 * hands messages to the core and how its `Reply` shows answers.
 */
export function runAdapterContract(
  name: string,
  makeHarness: () => Promise<AdapterHarness>,
  options: { groups: boolean } = { groups: true },
): void {
  describe(`adapter contract: ${name}`, () => {
    let harness: AdapterHarness;
    let received: Received[];
    let behaviour: Behaviour;
    let results: Array<{ ok: boolean; value?: string; error?: unknown }>;

    beforeEach(async () => {
      harness = await makeHarness();
      received = [];
      results = [];
      behaviour = async () => {};
      const ctx: AdapterContext = {
        async dispatch(message, reply) {
          received.push({ message, reply });
          await behaviour(message, reply);
        },
        commands: [],
        complete: async () => [],
        joined: () => ({ stay: true }),
        log: pino({ level: "silent" }),
      };
      await harness.adapter.start(ctx);
    });

    afterEach(async () => {
      await harness.adapter.stop();
      await harness.close();
    });

    const waitReceived = (n: number) => until(async () => received.length, (len) => len >= n);

    it("hands a private message to the core, addressed, with namespaced keys", async () => {
      await harness.userSays("hello there", { chat: "private", userName: "Ada" });
      await waitReceived(1);
      const { message } = received[0]!;
      expect(message.platform).toBe(harness.adapter.platform);
      expect(message.text).toBe("hello there");
      expect(message.addressed).toBe(true);
      expect(message.channel.private).toBe(true);
      expect(message.channel.key.startsWith(`${harness.adapter.platform}:`)).toBe(true);
      expect(message.author.key.startsWith(`${harness.adapter.platform}:`)).toBe(true);
      expect(message.author.name.length).toBeGreaterThan(0);
      expect(await message.isModerator()).toBe(true);
    });

    it("shows what send() says", async () => {
      behaviour = async (_m, reply) => reply.send("a short answer");
      await harness.userSays("hi", { chat: "private" });
      const shown = await until(() => harness.botMessages({ chat: "private" }), (m) => m.includes("a short answer"));
      expect(shown).toContain("a short answer");
    });

    it("streams an answer and resolves with the whole text", async () => {
      const parts = ["The quick ", "brown fox ", "jumps over ", "the lazy dog."];
      behaviour = async (_m, reply) => {
        reply.typing();
        const value = await reply.stream(deltasOf(parts));
        results.push({ ok: true, value });
      };
      await harness.userSays("tell me", { chat: "private" });
      await until(async () => results.length, (n) => n >= 1);
      expect(results[0]).toEqual({ ok: true, value: parts.join("") });
      const shown = await harness.botMessages({ chat: "private" });
      expect(normalise(shown.join(" "))).toContain(parts.join(""));
    });

    it("splits a long answer into messages within the platform's limit, losing nothing", async () => {
      const paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(20).trim();
      const limit = Number.isFinite(harness.maxLength) ? harness.maxLength : 4000;
      const text = Array.from({ length: Math.ceil((limit * 2.5) / paragraph.length) }, (_, i) => `${i}. ${paragraph}`).join("\n\n");
      const chunks = text.match(/[\s\S]{1,300}/g)!;
      behaviour = async (_m, reply) => {
        results.push({ ok: true, value: await reply.stream(deltasOf(chunks)) });
      };
      await harness.userSays("long please", { chat: "private" });
      await until(async () => results.length, (n) => n >= 1, 30_000);
      const shown = await harness.botMessages({ chat: "private" });
      // The terminal has no limit (maxLength Infinity): nothing to split there.
      if (Number.isFinite(harness.maxLength)) expect(shown.length).toBeGreaterThanOrEqual(3);
      for (const m of shown) expect(m.length).toBeLessThanOrEqual(harness.maxLength);
      expect(normalise(shown.join(" "))).toBe(normalise(text));
    }, 40_000);

    it("keeps the partial answer shown when the stream fails, and rethrows", async () => {
      behaviour = async (_m, reply) => {
        try {
          await reply.stream(deltasOf(["First part ", "second part ", "never shown"], 2));
          results.push({ ok: true });
        } catch (error) {
          results.push({ ok: false, error });
        }
      };
      await harness.userSays("go", { chat: "private" });
      await until(async () => results.length, (n) => n >= 1);
      expect(results[0]!.ok).toBe(false);
      expect((results[0]!.error as Error).message).toBe("model went away");
      const shown = await until(() => harness.botMessages({ chat: "private" }), (m) => normalise(m.join(" ")).includes("second part"));
      expect(normalise(shown.join(" "))).toContain("First part second part");
      expect(shown.join(" ")).not.toContain("never shown");
    });

    it("hands over one chat's messages in the order they were sent", async () => {
      for (const text of ["one", "two", "three"]) await harness.userSays(text, { chat: "private" });
      await waitReceived(3);
      expect(received.map((r) => r.message.text)).toEqual(["one", "two", "three"]);
    });

    // The terminal has no groups; every other platform must pass these.
    if (options.groups) describe("groups", () => {
      it("keeps two groups apart as two channels", async () => {
        const [a, b] = harness.groupChatIds!;
        await harness.userSays("in a", { chat: "group", chatId: a, mention: true });
        await harness.userSays("in b", { chat: "group", chatId: b, mention: true });
        await waitReceived(2);
        const keys = received.map((r) => r.message.channel.key);
        expect(new Set(keys).size).toBe(2);
        for (const r of received) expect(r.message.channel.private).toBe(false);
      });

      it("does not address the bot with plain group chatter; a mention does, without the mention in the text", async () => {
        await harness.userSays("just people talking", { chat: "group", mention: false });
        await harness.userSays("what is two plus two?", { chat: "group", mention: true });
        await until(async () => received.filter((r) => r.message.addressed).length, (n) => n >= 1);
        const addressed = received.filter((r) => r.message.addressed);
        expect(addressed).toHaveLength(1);
        expect(addressed[0]!.message.text).toBe("what is two plus two?");
        expect(addressed[0]!.message.channel.private).toBe(false);
        // Unaddressed chatter may be handed over, but never as addressed.
        expect(received.filter((r) => r.message.text.includes("just people talking")).every((r) => !r.message.addressed)).toBe(true);
      });

      it("answers in the group it was asked in", async () => {
        behaviour = async (m, reply) => {
          if (m.addressed) await reply.send(`answer to ${m.text}`);
        };
        await harness.userSays("ping", { chat: "group", mention: true });
        const shown = await until(() => harness.botMessages({ chat: "group" }), (m) => m.some((t) => t.includes("answer to ping")));
        expect(shown.some((t) => t.includes("answer to ping"))).toBe(true);
        const privateShown = await harness.botMessages({ chat: "private" });
        expect(privateShown.some((t) => t.includes("answer to ping"))).toBe(false);
      });
    });
  });
}

