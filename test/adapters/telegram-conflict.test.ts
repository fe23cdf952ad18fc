/**
 * Polling stays one process per token: Telegram ends an open getUpdates
 * with 409 when another arrives, so a second process is refused at its
 * start, and the one already polling keeps its updates.
 */
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { loadConfig } from "../../src/config/load.js";
import type { AdapterContext } from "../../src/core/adapter.js";
import { startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const ctx: AdapterContext = { dispatch: async () => {}, commands: [], complete: async () => [], joined: () => ({ stay: true }), log: pino({ level: "silent" }) };

describe("a second polling process with the same token", () => {
  it("is refused at start with a clear message, while the first keeps answering", async () => {
    rig = await startRig();
    const { tg } = rig;
    await tg.waitListening();
    const second = createTelegramAdapter({ token: tg.token, apiRoot: tg.apiRoot, botInfo: tg.botInfo, conflictCheckSec: 3 });
    const started = Date.now();
    await expect(second.start(ctx)).rejects.toMatchObject({
      name: "ParleyError",
      code: "platform_error",
      userMessage: expect.stringMatching(/^Another process is already polling Telegram with this bot token\. .*TELEGRAM_WEBHOOK_URL/),
    });
    // Refused as soon as the first process polled again, not at the end of the check.
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(second.ready?.()).toBe(false);
    await second.stop();
    expect(tg.calls.filter((c) => c.method === "getUpdates" && c.status === 409).length).toBeGreaterThanOrEqual(2);
    expect(rig.logs()).toContain("another process polled Telegram with this bot token");

    rig.behaviour = async (m, reply) => reply.send(`still here: ${m.text}`);
    const user = tg.user();
    tg.privateMessage(user, "hello");
    await tg.waitFor(() => tg.botTexts(user.id).length === 1);
    expect(tg.botTexts(user.id)).toEqual(["still here: hello"]);
    expect(rig.adapter.ready?.()).toBe(true);
  });

  it("starts after the check when nobody else polls", async () => {
    rig = await startRig({ adapter: { conflictCheckSec: 1 } });
    const { tg } = rig;
    rig.behaviour = async (m, reply) => reply.send(`got ${m.text}`);
    const user = tg.user();
    tg.privateMessage(user, "hi");
    await tg.waitFor(() => tg.botTexts(user.id).length === 1);
    expect(tg.calls.filter((c) => c.method === "getUpdates" && c.status === 409)).toEqual([]);
  });
});

describe("TELEGRAM_CONFLICT_CHECK_SEC", () => {
  it("sets how long the start listens for another poller: 2 s unless set, 0 for no check, and nothing that is not a whole number", () => {
    expect(loadConfig({ PARLEY_CONFIG: "" }).telegram.conflictCheckSec).toBe(2);
    expect(loadConfig({ PARLEY_CONFIG: "", TELEGRAM_CONFLICT_CHECK_SEC: "0" }).telegram.conflictCheckSec).toBe(0);
    expect(() => loadConfig({ PARLEY_CONFIG: "", TELEGRAM_CONFLICT_CHECK_SEC: "soon" })).toThrow(/TELEGRAM_CONFLICT_CHECK_SEC/);
  });
});
