/**
 * Attachments on Discord: real discord.js against the fake Discord, whose
 * CDN route serves the files. The adapter lists them on the message and
 * fetches them byte for byte, and refuses a file past the cap while it
 * downloads.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ParleyError } from "../../src/core/errors.js";
import type { IncomingMessage } from "../../src/core/types.js";
import { startDiscordBot, type RunningDiscordBot } from "./discord-support.js";

let bot: RunningDiscordBot;

beforeAll(async () => {
  bot = await startDiscordBot();
}, 20_000);
afterAll(async () => {
  await bot?.stop();
});
beforeEach(() => {
  bot.fake.fileServing = {};
});

/** The next message the adapter hands to the core. */
async function next(send: () => Promise<unknown>): Promise<IncomingMessage> {
  const count = bot.received.length;
  await send();
  await bot.waitReceived(count + 1);
  return bot.received[count]!.message;
}

const PNG = Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), randomBytes(3000)]);

describe("discord attachments", () => {
  it("lists a DM's files with kind, name, type and size, and fetches each byte for byte", async () => {
    const log = Buffer.from("ERROR something broke\n".repeat(40));
    const message = await next(() =>
      bot.fake.sendDm(bot.dmUser.id, "what is wrong here?", [
        { filename: "screen.png", contentType: "image/png", bytes: PNG },
        { filename: "error.log", contentType: "text/plain; charset=utf-8", bytes: log },
        { filename: "archive.zip", contentType: "application/zip", bytes: randomBytes(100) },
      ]),
    );
    expect(message.text).toBe("what is wrong here?");
    expect(message.attachments?.map(({ kind, name, mimeType, size }) => ({ kind, name, mimeType, size }))).toEqual([
      { kind: "image", name: "screen.png", mimeType: "image/png", size: PNG.length },
      { kind: "text", name: "error.log", mimeType: "text/plain; charset=utf-8", size: log.length },
      { kind: "file", name: "archive.zip", mimeType: "application/zip", size: 100 },
    ]);
    expect((await message.attachments![0]!.fetch(10_000_000)).equals(PNG)).toBe(true);
    expect((await message.attachments![1]!.fetch(10_000_000)).toString("utf8")).toBe(log.toString("utf8"));
    expect(bot.fake.cdnDownloads.at(-1)?.complete).toBe(true);
  });

  it("hands a DM that is only a file to the core, with empty text", async () => {
    const message = await next(() => bot.fake.sendDm(bot.dmUser.id, "", [{ filename: "cat.webp", contentType: "image/webp", bytes: PNG }]));
    expect(message.text).toBe("");
    expect(message.addressed).toBe(true);
    expect(message.attachments?.map((a) => a.kind)).toEqual(["image"]);
  });

  it("makes a voice message an audio attachment", async () => {
    const ogg = randomBytes(2048);
    const message = await next(() =>
      bot.fake.sendDm(bot.dmUser.id, "", [{ filename: "voice-message.ogg", contentType: "audio/ogg", bytes: ogg, voice: { durationSecs: 3.2 } }]),
    );
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments![0]).toMatchObject({ kind: "audio", name: "voice-message.ogg", mimeType: "audio/ogg", size: 2048 });
    expect((await message.attachments![0]!.fetch(1_000_000)).equals(ogg)).toBe(true);
  });

  it("refuses a file past the cap while it downloads, without Content-Length, having read only part of it", async () => {
    bot.fake.fileServing = { contentLength: false, chunkBytes: 16_384, chunkDelayMs: 5 };
    const big = randomBytes(2 * 1_048_576);
    const message = await next(() => bot.fake.sendDm(bot.dmUser.id, "read this", [{ filename: "dump.bin", bytes: big }]));
    const refused = await message.attachments![0]!.fetch(65_536).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ParleyError);
    expect((refused as ParleyError).userMessage).toBe("dump.bin is larger than the 64 KB I read.");
    const served = await bot.fake.waitFor(() => bot.fake.cdnDownloads.at(-1)?.closedEarly && bot.fake.cdnDownloads.at(-1));
    expect(served.complete).toBe(false);
    expect(served.bytesSent).toBeLessThan(big.length / 2);
  });

  it("refuses a file whose Content-Length is past the cap before reading the body", async () => {
    bot.fake.fileServing = { chunkBytes: 16_384, chunkDelayMs: 20 };
    const big = randomBytes(1_048_576);
    const message = await next(() => bot.fake.sendDm(bot.dmUser.id, "and this", [{ filename: "big.txt", contentType: "text/plain", bytes: big }]));
    await expect(message.attachments![0]!.fetch(100_000)).rejects.toMatchObject({ userMessage: "big.txt is larger than the 98 KB I read." });
    const served = await bot.fake.waitFor(() => bot.fake.cdnDownloads.at(-1)?.closedEarly && bot.fake.cdnDownloads.at(-1));
    expect(served.bytesSent).toBeLessThan(big.length / 4);
  });

  it("says in one sentence that a file could not be downloaded", async () => {
    const message = await next(() => bot.fake.sendDm(bot.dmUser.id, "this one", [{ filename: "gone.png", contentType: "image/png", bytes: PNG }]));
    // The file is gone from the CDN (deleted with its message).
    for (const stored of bot.fake.messages(bot.fake.dmChannelId(bot.dmUser.id))) stored.attachments = [];
    await expect(message.attachments![0]!.fetch(1_000_000)).rejects.toMatchObject({ userMessage: "I couldn't download gone.png from Discord." });
  });

  it("carries the files of the message a member replies to in replyTo", async () => {
    const photo = await bot.fake.sendGuildMessage({
      channelId: bot.random,
      authorId: bot.moderator.id,
      content: "look at this",
      attachments: [{ filename: "chart.jpg", contentType: "image/jpeg", bytes: PNG }],
    });
    const message = await next(() =>
      bot.fake.sendGuildMessage({ channelId: bot.random, authorId: bot.member.id, content: "what does it show?", mentionBot: true, replyTo: photo.id }),
    );
    expect(message.attachments).toBeUndefined();
    expect(message.replyTo?.text).toBe("look at this");
    expect(message.replyTo?.attachments?.map(({ kind, name }) => ({ kind, name }))).toEqual([{ kind: "image", name: "chart.jpg" }]);
    expect((await message.replyTo!.attachments![0]!.fetch(1_000_000)).equals(PNG)).toBe(true);
  });
});
