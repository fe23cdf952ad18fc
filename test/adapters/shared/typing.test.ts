/**
 * "typing…" timing on fake timers: the indicator itself, and the intervals
 * each platform's reply renews it at by default. The adapter tests on the
 * fake servers check the wiring with a short configured interval.
 */
import type { Api } from "grammy";
import type { Message } from "discord.js";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTypingIndicator } from "../../../src/adapters/shared/typing.js";
import { createTelegramReply } from "../../../src/adapters/telegram/outbound.js";
import { createMessageReply } from "../../../src/adapters/discord/message-reply.js";
import { createPacer } from "../../../src/adapters/shared/pacer.js";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("typing indicator", () => {
  it("sends at once, then every everyMs until stopped; a second start does not double it", async () => {
    let sent = 0;
    const typing = createTypingIndicator({ everyMs: 4_000, send: async () => void sent++ });
    typing.start();
    typing.start();
    expect(sent).toBe(1);
    await vi.advanceTimersByTimeAsync(3_999);
    expect(sent).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toBe(2);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(sent).toBe(3);
    typing.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toBe(3);
    typing.start(); // stopped for good
    expect(sent).toBe(3);
  });

  it("stops by itself after maxMs, so a reply that never answers cannot type forever", async () => {
    let sent = 0;
    const typing = createTypingIndicator({ everyMs: 1_000, maxMs: 5_000, send: async () => void sent++ });
    typing.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toBe(5);
  });

  it("keeps going when a send fails", async () => {
    let tried = 0;
    const typing = createTypingIndicator({
      everyMs: 1_000,
      send: async () => {
        tried++;
        throw new Error("down");
      },
    });
    typing.start();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(tried).toBe(3);
    typing.stop();
  });
});

describe("typing intervals by platform", () => {
  it("Telegram renews typing every 4 s (it shows it for about 5 s) until finish()", async () => {
    const actions: number[] = [];
    const api = { sendChatAction: async () => void actions.push(Date.now()) } as unknown as Api;
    const reply = createTelegramReply(
      { chatId: 42 },
      { api, pacer: createPacer(1_000), onWarning: () => {}, platformError: (e) => e as Error },
    );
    const startedAt = Date.now();
    reply.typing();
    await vi.advanceTimersByTimeAsync(8_500);
    reply.finish();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(actions.map((at) => at - startedAt)).toEqual([0, 4_000, 8_000]);
  });

  it("Discord renews typing every 8 s (it shows it for about 10 s) until finish()", async () => {
    const typed: number[] = [];
    const source = { channel: { sendTyping: async () => void typed.push(Date.now()) } } as unknown as Message;
    const reply = createMessageReply(source, createPacer(1_200), pino({ level: "silent" }));
    const startedAt = Date.now();
    reply.typing();
    await vi.advanceTimersByTimeAsync(16_500);
    await reply.finish();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(typed.map((at) => at - startedAt)).toEqual([0, 8_000, 16_000]);
  });
});
