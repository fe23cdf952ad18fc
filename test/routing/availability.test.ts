/** At start and in `status`: which providers answer, which configured models they lack, and how to get them. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/load.js";
import { checkConfiguredProviders, createRouter } from "../../src/llm/providers.js";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { fastLlm, startRouted, writeConfig } from "./support.js";

let ollama: FakeOllama;
let openai: FakeOpenAi;
let bot: TestApp | undefined;
let deadPort: number;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
  openai = await startFakeOpenAi({ models: ["gpt-4o-mini"] });
  deadPort = await unusedPort();
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close()]);
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

const llm = () => ({
  providers: {
    local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2", "qwen2.5-coder:7b"] },
    hosted: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini", "gpt-5-turbo"] },
    gone: { kind: "ollama", baseUrl: `http://127.0.0.1:${deadPort}`, models: ["llama3.2"] },
  },
  default: "local/llama3.2",
});

/** What the user and the log are told about the provider that is not there. */
const gone = () =>
  `Could not reach Ollama (gone) at http://127.0.0.1:${deadPort} — is it running? Start it with \`ollama serve\`, or set llm.providers.gone.baseUrl.`;

describe("availability", () => {
  it("reports each provider's models, the configured ones it lacks with how to get them, and those that do not answer", async () => {
    const config = loadConfig({ PARLEY_CONFIG: writeConfig({ llm: { ...fastLlm, ...llm() } }) });
    const checks = await checkConfiguredProviders(config, 2000);
    expect(checks.map(({ latencyMs: _ms, ...c }) => c)).toEqual([
      { name: "local", kind: "ollama", ok: true, models: ["llama3.2:latest"], missing: [{ model: "qwen2.5-coder:7b", fix: "ollama pull qwen2.5-coder:7b" }] },
      {
        name: "hosted",
        kind: "openai",
        ok: true,
        models: ["gpt-4o-mini"],
        missing: [{ model: "gpt-5-turbo", fix: "check the model name; npx parley models lists what the server has" }],
      },
      { name: "gone", kind: "ollama", ok: false, models: [], missing: [], problem: gone() },
    ]);
    expect(checks.every((c) => c.latencyMs >= 0)).toBe(true);
  });

  it("logs a warning at start for each missing model and silent provider, and the bot answers on what works", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    const config = loadConfig({ PARLEY_CONFIG: writeConfig({ llm: { ...fastLlm, ...llm() } }) });
    const router = createRouter(config, pino({ level: "info" }, sink), { checkAtStart: false });
    await router.checkAvailability(2000);
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual([
      "model qwen2.5-coder:7b is not available on local; ollama pull qwen2.5-coder:7b",
      "model gpt-5-turbo is not available on hosted; check the model name; npx parley models lists what the server has",
      `model provider gone is not answering: ${gone()}`,
    ]);
  });

  it("shows missing models and silent providers in status, and still answers", async () => {
    bot = await startRouted(llm());
    expect(await bot.say("hello", { private: true })).toBe("Echo: hello");
    const status = await bot.say("/status", { private: true });
    expect(status).toContain("local: answering, but qwen2.5-coder:7b is missing (ollama pull qwen2.5-coder:7b)");
    expect(status).toContain(`gone: not answering (${gone()})`);
  });
});
