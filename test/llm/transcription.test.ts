/** Voice to text through the real openai client against an OpenAI-compatible transcription endpoint. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isParleyError } from "../../src/core/errors.js";
import { loadConfig } from "../../src/config/load.js";
import { resolveLlmSetup } from "../../src/llm/setup.js";
import { createTranscriber, type Transcriber } from "../../src/llm/transcription.js";
import { writeConfig } from "../routing/support.js";

interface Received {
  path: string;
  authorization?: string;
  body: Buffer;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];
let status = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", authorization: req.headers.authorization, body: Buffer.concat(chunks) });
      res.setHeader("content-type", "application/json");
      if (status !== 200) {
        res.statusCode = status;
        res.end(JSON.stringify({ error: { message: "Invalid API key", type: "invalid_request_error" } }));
        return;
      }
      res.end(JSON.stringify({ text: "  meet me at the harbour at six  " }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function transcriber(ref: string): Transcriber {
  const config = loadConfig({
    PARLEY_CONFIG: writeConfig({ llm: { providers: { voice: { kind: "openai", baseUrl, apiKeyEnv: "VOICE_KEY", models: ["whisper-1"] }, local: { kind: "ollama", models: ["llama3.2"] } }, default: "local/llama3.2" } }),
    VOICE_KEY: "sk-voice",
  });
  const made = createTranscriber(ref, resolveLlmSetup(config.llm, config.embedded));
  if ("problem" in made) throw new Error(made.problem);
  return made;
}

describe("transcription", () => {
  it("sends the audio and the model as multipart to /audio/transcriptions with the key, and returns the words", async () => {
    const audio = Buffer.from("OggS fake voice bytes \u0000\u0001\u0002");
    expect(await transcriber("voice/whisper-1").transcribe(audio, "voice.ogg")).toBe("meet me at the harbour at six");
    const call = received.at(-1)!;
    expect(call.path).toBe("/v1/audio/transcriptions");
    expect(call.authorization).toBe("Bearer sk-voice");
    expect(call.body.includes(audio)).toBe(true);
    expect(call.body.toString("latin1")).toMatch(/name="model"\r\n\r\nwhisper-1\r\n/);
    expect(call.body.toString("latin1")).toMatch(/name="file"; filename="voice\.ogg"/);
  });

  it("turns a refused key into the usual clear error, without the key", async () => {
    status = 401;
    try {
      const error = await transcriber("voice/whisper-1").transcribe(Buffer.from("x"), "voice.ogg").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isParleyError(error) && error.code).toBe("provider_auth");
      expect(JSON.stringify(error)).not.toContain("sk-voice");
    } finally {
      status = 200;
    }
  });

  it("reads LLM_TRANSCRIPTION and the attachment limits from the environment, and refuses a transcription target that cannot work", () => {
    const config = loadConfig({ PARLEY_CONFIG: "", LLM_TRANSCRIPTION: "openai/whisper-1", LLM_PROVIDER: "openai", OPENAI_API_KEY: "sk-x", ATTACHMENTS_MAX_IMAGES: "2", ATTACHMENTS_MAX_TEXT_CHARS: "500" });
    expect(config.llm.transcription).toBe("openai/whisper-1");
    expect(config.attachments).toEqual({ maxImages: 2, maxImageBytes: 10_000_000, maxTextChars: 500, maxAudioBytes: 25_000_000 });
    expect(() => loadConfig({ PARLEY_CONFIG: "", LLM_TRANSCRIPTION: "ollama/whisper" })).toThrow(/transcription needs an OpenAI-compatible provider/);
  });

  it("names what is wrong with llm.transcription", () => {
    const config = loadConfig({ PARLEY_CONFIG: "" });
    const setup = resolveLlmSetup(config.llm, config.embedded);
    expect(createTranscriber("nowhere/whisper-1", setup)).toEqual({ problem: expect.stringMatching(/^llm\.transcription: "nowhere\/whisper-1" must be provider\/model/) });
    expect(createTranscriber("ollama/whisper", setup)).toEqual({ problem: expect.stringMatching(/ollama is of kind ollama; transcription needs an OpenAI-compatible provider/) });
  });
});
