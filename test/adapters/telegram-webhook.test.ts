import { createServer } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import type { AdapterContext } from "../../src/core/adapter.js";
import { startFakeTelegram } from "../fakes/telegram.js";
import { startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("telegram webhook mode", () => {
  it("registers the webhook, handles updates posted with the secret, and refuses a wrong or missing secret", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/telegram/hook`;
    rig = await startRig({ adapter: { webhook: { url, secretToken: "s3cret_Token-1", port, host: "127.0.0.1" } } });
    const { tg } = rig;
    expect(rig.adapter.webhookPort).toBe(port);
    expect(tg.callsOf("setWebhook")[0]!.params).toMatchObject({ url, secret_token: "s3cret_Token-1", allowed_updates: ["message", "my_chat_member"] });
    expect(tg.callsOf("getUpdates")).toEqual([]);

    rig.behaviour = async (m, reply) => reply.send(`hooked: ${m.text}`);
    const user = tg.user();
    tg.privateMessage(user, "via webhook");
    await tg.waitFor(() => tg.webhookDeliveries.length === 1);
    expect(tg.botTexts(user.id)).toEqual(["hooked: via webhook"]);
    expect(tg.webhookDeliveries.map((d) => d.status)).toEqual([200]);

    const update = { update_id: 999, message: { message_id: 1, date: 0, chat: { id: user.id, type: "private" }, from: user, text: "forged" } };
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(update) });
    expect((await post({ "x-telegram-bot-api-secret-token": "wrong" })).status).toBe(401);
    expect((await post({})).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/elsewhere`, { method: "POST", body: "{}" })).status).toBe(404);
    expect(rig.received.map((r) => r.message.text)).toEqual(["via webhook"]);

    // The right secret from someone else's client is handled like Telegram's own POST.
    expect((await post({ "x-telegram-bot-api-secret-token": "s3cret_Token-1" })).status).toBe(200);
    await rig.waitReceived(2);
    expect(rig.received[1]!.message.text).toBe("forged");
  });

  it("answers Telegram within the hold time while a long answer goes on", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    rig = await startRig({ adapter: { webhook: { url, port, host: "127.0.0.1" } } });
    const { tg } = rig;
    let finished = false;
    rig.behaviour = async (_m, reply) => {
      await new Promise((r) => setTimeout(r, 3000));
      await reply.send("slow answer");
      finished = true;
    };
    const user = tg.user();
    const started = Date.now();
    tg.privateMessage(user, "slow");
    await tg.waitFor(() => tg.webhookDeliveries.length === 1, 5000);
    expect(Date.now() - started).toBeLessThan(2800);
    expect(tg.webhookDeliveries[0]!.status).toBe(200);
    await tg.waitFor(() => finished, 5000);
    expect(tg.botTexts(user.id)).toEqual(["slow answer"]);
  });
});

describe("telegram webhook refused", () => {
  it("fails to start with a clear error when Telegram refuses the webhook, and frees the port", async () => {
    const tg = await startFakeTelegram();
    const port = await freePort();
    const adapter = createTelegramAdapter({
      token: tg.token,
      apiRoot: tg.apiRoot,
      botInfo: tg.botInfo,
      webhook: { url: `http://127.0.0.1:${port}/hook`, secretToken: "spaces are not allowed", port, host: "127.0.0.1" },
    });
    const ctx: AdapterContext = { dispatch: async () => {}, commands: [], complete: async () => [], joined: () => ({ stay: true }), log: pino({ level: "silent" }) };
    await expect(adapter.start(ctx)).rejects.toMatchObject({ name: "ParleyError", code: "platform_error", userMessage: "Telegram refused the webhook URL or secret." });
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once("error", reject);
      again.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => again.close(resolve));
    await adapter.stop();
    await tg.close();
  });
});

describe("telegram secrets", () => {
  it("never writes the token to logs or start errors", async () => {
    const lines: string[] = [];
    const log = pino({ level: "debug" }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    const ctx: AdapterContext = { dispatch: async () => {}, commands: [], complete: async () => [], joined: () => ({ stay: true }), log };
    // Nobody listens here: grammY's fetch error carries the URL with the token.
    const port = await freePort();
    const token = "987654:SECRET-token-do-not-log";
    const adapter = createTelegramAdapter({ token, apiRoot: `http://127.0.0.1:${port}`, startTimeoutMs: 500 });
    const error = await adapter.start(ctx).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ name: "ParleyError" });
    expect(`${error!.message} ${String(error!.cause)} ${JSON.stringify(error)}`).not.toContain(token);
    expect(lines.join("")).toContain("Telegram could not be reached");
    expect(lines.join("")).not.toContain(token);
    await adapter.stop();
  });

  it("keeps the token out of logs when calls fail during a reply", async () => {
    rig = await startRig();
    const { tg } = rig;
    const user = tg.user();
    rig.behaviour = async (_m, reply) => {
      tg.injectError(400, `Bad Request: can't parse entities: token ${tg.token} echoed`, "sendMessage");
      await reply.stream((async function* () {
        yield "**hello**";
      })());
    };
    tg.privateMessage(user, "hi");
    await tg.waitFor(() => tg.botTexts(user.id).length === 1);
    expect(rig.logs()).toContain("sent as plain text");
    expect(rig.logs()).not.toContain(tg.token);
  });
});

describe("telegram webhook in one process", () => {
  it("handles an update delivered twice once", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    rig = await startRig({ adapter: { webhook: { url, secretToken: "s3cret", port, host: "127.0.0.1" } } });
    const update = { update_id: 4242, message: { message_id: 1, date: 0, chat: { id: 77, type: "private" }, from: { id: 77, is_bot: false, first_name: "A" }, text: "twice" } };
    const post = () =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "s3cret" }, body: JSON.stringify(update) });
    expect((await Promise.all([post(), post()])).map((r) => r.status)).toEqual([200, 200]);
    expect((await post()).status).toBe(200);
    await rig.waitReceived(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(rig.received.map((r) => r.message.text)).toEqual(["twice"]);
  });

  it("answers 503 while stopping, until the answer in flight is done", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    rig = await startRig({ adapter: { webhook: { url, port, host: "127.0.0.1" } } });
    const { tg } = rig;
    let release!: () => void;
    rig.behaviour = async (_m, reply) => {
      await new Promise<void>((resolve) => (release = resolve));
      await reply.send("done");
    };
    const user = tg.user();
    tg.privateMessage(user, "first");
    await rig.waitReceived(1);
    const stopping = rig.adapter.stop();
    expect(rig.adapter.ready?.()).toBe(false);
    const late = { update_id: 5151, message: { message_id: 9, date: 0, chat: { id: user.id, type: "private" }, from: user, text: "late" } };
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(late) });
    expect(res.status).toBe(503);
    release();
    await stopping;
    expect(tg.botTexts(user.id)).toEqual(["done"]);
    expect(rig.received).toHaveLength(1);
  });
});
