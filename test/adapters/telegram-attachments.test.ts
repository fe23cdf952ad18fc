/**
 * Attachments on Telegram: real grammY against the fake Bot API, which
 * implements `getFile` and the file download route. Photos (the largest
 * size), documents, voice messages, files without a caption, and the files
 * of a replied-to message.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ParleyError } from "../../src/core/errors.js";
import type { IncomingMessage } from "../../src/core/types.js";
import type { FakeMessage } from "../fakes/telegram.js";
import { startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig;

beforeAll(async () => {
  rig = await startRig({ fake: { flood: false } });
}, 20_000);
afterAll(async () => {
  await rig?.stop();
});
beforeEach(() => {
  rig.tg.fileServing = {};
});

/** What the adapter hands to the core for the message `send` sends. */
async function next(send: () => FakeMessage): Promise<IncomingMessage> {
  const sent = send();
  const find = () =>
    rig.received.find(({ message }) => {
      const raw = message.raw as { message_id: number; chat: { id: number } };
      return raw.message_id === sent.message_id && raw.chat.id === sent.chat.id;
    });
  await rig.tg.waitFor(() => find() !== undefined, 10_000, `message ${sent.message_id} to reach the core`);
  return find()!.message;
}

const sizes = () => [
  { width: 90, height: 90, bytes: randomBytes(1_000) },
  { width: 320, height: 320, bytes: randomBytes(8_000) },
  { width: 1280, height: 1280, bytes: randomBytes(60_000) },
];

describe("telegram attachments", () => {
  it("hands a private photo without a caption to the core with empty text, and fetches its largest size byte for byte", async () => {
    const user = rig.tg.user({ first_name: "Ada" });
    const photo = sizes();
    const message = await next(() => rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, photo }));
    expect(message.text).toBe("");
    expect(message.addressed).toBe(true);
    expect(message.attachments?.map(({ kind, name, mimeType, size }) => ({ kind, name, mimeType, size }))).toEqual([
      { kind: "image", name: "photo.jpg", mimeType: "image/jpeg", size: 60_000 },
    ]);
    const bytes = await message.attachments![0]!.fetch(10 * 1_048_576);
    expect(bytes.equals(photo[2]!.bytes)).toBe(true);
    expect(rig.tg.callsOf("getFile").map((c) => c.response.ok)).toEqual([true]);
    expect(rig.tg.fileDownloads.at(-1)?.complete).toBe(true);
  });

  it("takes a document's kind from its type and name, with the caption as the text", async () => {
    const user = rig.tg.user();
    const log = Buffer.from("at main (index.ts:3)\n".repeat(50));
    const message = await next(() =>
      rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, caption: "why does it crash?", document: { fileName: "crash.log", bytes: log } }),
    );
    expect(message.text).toBe("why does it crash?");
    expect(message.attachments?.map(({ kind, name, size }) => ({ kind, name, size }))).toEqual([{ kind: "text", name: "crash.log", size: log.length }]);
    expect((await message.attachments![0]!.fetch(1_000_000)).toString("utf8")).toBe(log.toString("utf8"));

    const pdf = await next(() =>
      rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, document: { fileName: "paper.pdf", mimeType: "application/pdf", bytes: randomBytes(500) } }),
    );
    expect(pdf.attachments?.[0]).toMatchObject({ kind: "file", name: "paper.pdf", mimeType: "application/pdf" });
  });

  it("makes a voice message and an audio file audio", async () => {
    const user = rig.tg.user();
    const ogg = randomBytes(4_000);
    const voice = await next(() => rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, voice: { bytes: ogg, durationSec: 2 } }));
    expect(voice.attachments?.[0]).toMatchObject({ kind: "audio", name: "voice.ogg", mimeType: "audio/ogg", size: 4_000 });
    expect((await voice.attachments![0]!.fetch(1_000_000)).equals(ogg)).toBe(true);
    const song = await next(() =>
      rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, audio: { fileName: "song.mp3", mimeType: "audio/mpeg", bytes: randomBytes(100) } }),
    );
    expect(song.attachments?.[0]).toMatchObject({ kind: "audio", name: "song.mp3", mimeType: "audio/mpeg" });
  });

  it("in a group, takes a file whose caption mentions the bot and ignores one without a caption", async () => {
    const member = rig.tg.user({ first_name: "Grace" });
    const group = rig.tg.group({ title: "Lab" });
    const ignored = rig.tg.sendFiles({ chatId: group.id, from: member, photo: sizes() });
    await rig.tg.waitDelivered(ignored);
    const message = await next(() => rig.tg.sendFiles({ chatId: group.id, from: member, caption: `@${rig.tg.bot.username} what is this?`, photo: sizes() }));
    expect(rig.received.filter(({ message }) => message.channel.key === `telegram:${group.id}`)).toHaveLength(1);
    expect(message.text).toBe("what is this?");
    expect(message.attachments?.map((a) => a.kind)).toEqual(["image"]);
  });

  it("carries the photo of the message a member replies to in replyTo", async () => {
    const owner = rig.tg.user({ first_name: "Linus" });
    const member = rig.tg.user({ first_name: "Margaret" });
    const group = rig.tg.group({ title: "Photos" });
    const photo = sizes();
    const original = rig.tg.sendFiles({ chatId: group.id, from: owner, caption: "our new logo", photo });
    await rig.tg.waitDelivered(original);
    const message = await next(() => rig.tg.groupMessage(group, member, "do you like it?", { mention: true, replyTo: original.message_id }));
    expect(message.attachments).toBeUndefined();
    expect(message.replyTo?.author.name).toBe("Linus");
    expect(message.replyTo?.text).toBe("our new logo");
    expect(message.replyTo?.attachments?.map(({ kind, name, size }) => ({ kind, name, size }))).toEqual([{ kind: "image", name: "photo.jpg", size: 60_000 }]);
    expect((await message.replyTo!.attachments![0]!.fetch(1_000_000)).equals(photo[2]!.bytes)).toBe(true);
  });

  it("refuses a file past the cap without downloading it when getFile gives its size", async () => {
    const user = rig.tg.user();
    const message = await next(() =>
      rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, document: { fileName: "huge.csv", mimeType: "text/csv", bytes: randomBytes(300_000) } }),
    );
    const downloads = rig.tg.fileDownloads.length;
    await expect(message.attachments![0]!.fetch(100_000)).rejects.toMatchObject({ userMessage: "huge.csv is larger than the 98 KB I read." });
    expect(rig.tg.fileDownloads.length).toBe(downloads);
  });

  it("refuses a file past the cap while downloading when only the body says so", async () => {
    const user = rig.tg.user();
    rig.tg.fileServing = { contentLength: false, chunkBytes: 16_384, chunkDelayMs: 5 };
    const big = randomBytes(1_048_576);
    const message = await next(() => rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, voice: { bytes: big } }));
    // Telegram leaves file_size out at times: then only the download can tell.
    rig.tg.omitFileSizes = true;
    try {
      const refused = await message.attachments![0]!.fetch(65_536).catch((error: unknown) => error);
      expect((refused as ParleyError).userMessage).toBe("voice.ogg is larger than the 64 KB I read.");
    } finally {
      rig.tg.omitFileSizes = false;
    }
    await rig.tg.waitFor(() => rig.tg.fileDownloads.at(-1)?.closedEarly === true, 5_000, "the download to be closed");
    expect(rig.tg.fileDownloads.at(-1)!.bytesSent).toBeLessThan(big.length / 2);
  });

  it("says Telegram's 20 MB limit, and never puts the token in an error", async () => {
    const user = rig.tg.user();
    const message = await next(() =>
      rig.tg.sendFiles({ chatId: rig.tg.privateChat(user).id, from: user, document: { fileName: "video.mkv", bytes: Buffer.alloc(21 * 1_048_576) } }),
    );
    const tooBig = await message.attachments![0]!.fetch(100 * 1_048_576).catch((error: unknown) => error);
    expect(tooBig).toBeInstanceOf(ParleyError);
    expect((tooBig as ParleyError).userMessage).toBe("video.mkv is larger than the 20 MB Telegram lets bots download.");

    const photo = await next(() => rig.tg.sendFiles({ chatId: user.id, from: user, photo: sizes() }));
    rig.tg.fileServing = { status: 502 };
    const failed = (await photo.attachments![0]!.fetch(1_000_000).catch((error: unknown) => error)) as ParleyError;
    expect(failed.userMessage).toBe("I couldn't download photo.jpg from Telegram.");
    for (const text of [failed.message, failed.userMessage, String(failed.cause ?? ""), (tooBig as Error).message]) {
      expect(text).not.toContain(rig.tg.token);
    }
  });
});
