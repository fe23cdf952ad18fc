/**
 * Attachments through the chat command, in process with the fake Ollama and a
 * fake transcription endpoint: an image reaches a model that can see it byte
 * for byte, a text file reaches the prompt, a voice message is transcribed and
 * answered, a model that cannot see gets no images, and the history keeps
 * placeholders only.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Attachment } from "../../src/core/types.js";
import { ParleyError } from "../../src/core/errors.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import type { TestApp } from "../support/app-harness.js";
import { startRouted } from "../routing/support.js";

let ollama: FakeOllama;
let whisper: Server;
let whisperUrl: string;
let bot: TestApp | undefined;

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");

function attachment(kind: Attachment["kind"], name: string, bytes: Buffer | string, mimeType?: string): Attachment {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return {
    kind,
    name,
    mimeType,
    size: data.length,
    async fetch(maxBytes) {
      if (data.length > maxBytes) throw new ParleyError("bad_input", `${name} is larger than I read.`);
      return data;
    },
  };
}

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2", "llava"], visionModels: ["llava"] });
  whisper = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ text: "what is the capital of Norway" }));
    });
  });
  await new Promise<void>((resolve) => whisper.listen(0, "127.0.0.1", resolve));
  whisperUrl = `http://127.0.0.1:${(whisper.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await ollama.close();
  await new Promise((resolve) => whisper.close(resolve));
});
beforeEach(() => {
  ollama.requests.length = 0;
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

type Sent = { model: string; messages: Array<{ role: string; content: string; images?: string[] }> };
const lastCall = () => ollama.requests.filter((r) => r.path === "/api/chat").at(-1)?.body as Sent;

function start(llm: Record<string, unknown> = {}) {
  return startRouted({
    providers: {
      local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2", "llava"] },
      voice: { kind: "openai", baseUrl: whisperUrl, models: ["whisper-1"] },
    },
    default: "local/llama3.2",
    timeoutMs: 30_000,
    ...llm,
  }).then((b) => (bot = b));
}

describe("attachments in chat", () => {
  it("sends an image to the vision model byte for byte, with a default question, and keeps a placeholder in the history", async () => {
    const b = await start({ visionModel: "local/llava" });
    const answer = await b.say("", { user: "1", attachments: [attachment("image", "cat.png", PNG, "image/png")] });
    expect(answer).toBe("Echo: user1: Describe this image.");
    const sent = lastCall();
    expect(sent.model).toBe("llava");
    expect(Buffer.from(sent.messages.at(-1)!.images![0]!, "base64").equals(PNG)).toBe(true);
    const stored = await b.app.services.history.recent("telegram:-100500", 10);
    expect(stored[0]!.content).toBe("Describe this image. [image: cat.png]");
  });

  it("puts the images of the message replied to in the prompt too, with its author and text", async () => {
    const b = await start({ visionModel: "local/llava" });
    const replyTo = { author: { key: "telegram:7", name: "Cara" }, text: "my new kitten", attachments: [attachment("image", "kitten.png", PNG, "image/png")] };
    await b.say("what colour is it?", { user: "1", replyTo });
    const sent = lastCall();
    expect(sent.model).toBe("llava");
    expect(sent.messages.at(-1)!.content).toBe('(in reply to Cara: "my new kitten")\nuser1: what colour is it?');
    expect(sent.messages.at(-1)!.images!.map((i) => Buffer.from(i, "base64"))).toEqual([PNG]);
  });

  it("never sends images to a model that cannot see: says so, and answers the text", async () => {
    const b = await start();
    const answer = await b.say("what breed?", { user: "1", attachments: [attachment("image", "cat.png", PNG, "image/png")] });
    expect(answer).toMatch(/^\*\(The model local\/llama3\.2 cannot see images; .*llm\.visionModel.*\)\*\n\nEcho: user1: what breed\?$/);
    expect(lastCall().messages.every((m) => m.images === undefined || m.images.length === 0)).toBe(true);
    const onlyImage = await b.say("", { user: "1", attachments: [attachment("image", "cat.png", PNG, "image/png")] });
    expect(onlyImage).toMatch(/^The model local\/llama3\.2 cannot see images; /);
  });

  it("reads a text file into the prompt under its name", async () => {
    const b = await start();
    await b.say("why does this fail?", { user: "1", attachments: [attachment("text", "error.log", "TypeError: x is undefined\n  at main (app.js:3:7)", "text/plain")] });
    expect(lastCall().messages.at(-1)!.content).toBe("user1: why does this fail?\n\nerror.log:\n```\nTypeError: x is undefined\n  at main (app.js:3:7)\n```");
    const stored = await b.app.services.history.recent("telegram:-100500", 10);
    expect(stored[0]!.content).toBe("why does this fail? [file: error.log, 48 characters]");
  });

  it("transcribes a voice message and answers it, showing what it heard; without llm.transcription, says voice is not set up", async () => {
    const b = await start({ transcription: "voice/whisper-1" });
    const answer = await b.say("", { user: "1", attachments: [attachment("audio", "voice.ogg", Buffer.from("OggS..."), "audio/ogg")] });
    expect(answer).toBe("> 🎤 what is the capital of Norway\n\nEcho: user1: what is the capital of Norway");
    await bot!.stop();
    bot = undefined;
    const plain = await start();
    expect(await plain.say("", { user: "1", attachments: [attachment("audio", "voice.ogg", Buffer.from("OggS..."), "audio/ogg")] })).toBe(
      "Voice messages are not set up here: a moderator can name a transcription model in llm.transcription (LLM_TRANSCRIPTION).",
    );
  });
});
