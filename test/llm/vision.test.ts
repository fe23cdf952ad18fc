/**
 * Images to the models that can see them: each provider's wire format with
 * the real clients against the fakes, byte for byte; which model can see
 * (Ollama's `/api/show`, the config, well-known names); the router's
 * `visionChoice`, `hasImages` rules and a fallback chain that skips models
 * that cannot see.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { ParleyError } from "../../src/core/errors.js";
import { createAnthropicProvider } from "../../src/llm/anthropic.js";
import { createOllamaProvider } from "../../src/llm/ollama.js";
import { visionFromShow } from "../../src/llm/ollama-show.js";
import { createOpenAiProvider } from "../../src/llm/openai.js";
import { createRouter } from "../../src/llm/providers.js";
import type { ModelRouter } from "../../src/llm/router.js";
import type { ChatMessage } from "../../src/llm/types.js";
import { knownToSee } from "../../src/llm/vision-models.js";
import { startFakeAnthropic, type FakeAnthropic } from "../fakes/anthropic.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import { collect } from "./collect.js";

/** A 1×1 PNG, then bytes whose base64 holds `+` and `/`, so any re-encoding on the way shows. */
const PNG = Buffer.concat([
  Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64"),
  Buffer.from([0xfb, 0xff, 0xbf, 0x00, 0x3e, 0x3f]),
]);

const withImage = (text = "What is in this picture?"): ChatMessage[] => [
  { role: "system", content: "You are helpful." },
  { role: "user", content: text, images: [{ mimeType: "image/png", data: PNG, name: "cat.png" }] },
];

const silent = pino({ level: "silent" });

let ollama: FakeOllama;
let openai: FakeOpenAi;
let anthropic: FakeAnthropic;

beforeAll(async () => {
  [ollama, openai, anthropic] = await Promise.all([
    startFakeOllama({ models: ["llama3.2", "llava"], visionModels: ["llava"] }),
    startFakeOpenAi({ models: ["gpt-4o-mini", "local-vl", "text-only"] }),
    startFakeAnthropic({ models: ["claude-haiku-5-5"] }),
  ]);
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close(), anthropic.close()]);
});
afterEach(() => {
  for (const fake of [ollama, openai, anthropic]) {
    fake.setFault(null);
    fake.requests.length = 0;
  }
});

const bodiesOf = (fake: { requests: { path: string; body?: unknown }[] }, path: string) =>
  fake.requests.filter((r) => r.path === path).map((r) => r.body as Record<string, unknown>);

describe("wire formats, with the real clients", () => {
  it("Ollama: the message's images as base64, byte for byte; no images field without images", async () => {
    const provider = createOllamaProvider({ name: "ollama", host: ollama.url, timeoutMs: 5_000, maxContextTokens: 8192 });
    const answer = await collect(provider.chat({ model: "llava", messages: withImage() }));
    expect(answer.error).toBeUndefined();
    expect(answer.text).toBe("Echo: What is in this picture?");
    await collect(provider.chat({ model: "llava", messages: [{ role: "user", content: "hi" }] }));

    const [first, second] = bodiesOf(ollama, "/api/chat") as Array<{ messages: Array<{ role: string; content: string; images?: string[] }> }>;
    const user = first!.messages[1]!;
    expect(user.content).toBe("What is in this picture?");
    expect(user.images).toHaveLength(1);
    expect(Buffer.from(user.images![0]!, "base64").equals(PNG)).toBe(true);
    expect(user.images![0]).toBe(PNG.toString("base64"));
    expect(first!.messages[0]).not.toHaveProperty("images");
    expect(second!.messages[0]).toEqual({ role: "user", content: "hi" });
  });

  it("OpenAI-compatible: text then an image_url data URL part per image; plain string content without images", async () => {
    const provider = createOpenAiProvider({ name: "openai", baseURL: openai.baseURL, timeoutMs: 5_000 });
    const twoImages = withImage("Which is bigger?");
    twoImages[1]!.images!.push({ mimeType: "image/jpeg", data: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x01]) });
    const answer = await collect(provider.chat({ model: "gpt-4o-mini", messages: twoImages }));
    expect(answer.error).toBeUndefined();
    expect(answer.text).toBe("Echo: Which is bigger?");
    await collect(provider.chat({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }));

    const [first, second] = bodiesOf(openai, "/v1/chat/completions") as Array<{ messages: Array<{ role: string; content: unknown }> }>;
    expect(first!.messages[0]).toEqual({ role: "system", content: "You are helpful." });
    expect(first!.messages[1]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "Which is bigger?" },
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG.toString("base64")}` } },
        { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AE=" } },
      ],
    });
    const url = ((first!.messages[1]!.content as Array<{ image_url?: { url: string } }>)[1]!.image_url!.url);
    expect(Buffer.from(url.slice(url.indexOf(",") + 1), "base64").equals(PNG)).toBe(true);
    expect(second!.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("Anthropic: image blocks before the text block, accepted and answered", async () => {
    const provider = createAnthropicProvider({ name: "anthropic", baseURL: anthropic.url, timeoutMs: 5_000, maxTokens: 100 });
    const answer = await collect(provider.chat({ model: "claude-haiku-5-5", messages: withImage() }));
    expect(answer.error).toBeUndefined();
    expect(answer.text).toBe("Echo: What is in this picture?");

    const [body] = bodiesOf(anthropic, "/v1/messages") as Array<{ system?: string; messages: Array<{ role: string; content: unknown }> }>;
    expect(body!.system).toBe("You are helpful.");
    expect(body!.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG.toString("base64") } },
          { type: "text", text: "What is in this picture?" },
        ],
      },
    ]);
    const block = (body!.messages[0]!.content as Array<{ source?: { data: string } }>)[0]!;
    expect(Buffer.from(block.source!.data, "base64").equals(PNG)).toBe(true);
  });
});

describe("which model can see", () => {
  it("Ollama: /api/show with the vision capability says yes, without it no; asked once per model, shared with the context window", async () => {
    const provider = createOllamaProvider({ name: "ollama", host: ollama.url, timeoutMs: 5_000, maxContextTokens: 8192 });
    expect(await provider.canSee!("llava")).toBe(true);
    expect(await provider.canSee!("llama3.2")).toBe(false);
    expect(await provider.canSee!("llava")).toBe(true);
    await provider.contextTokens!("llava");
    await collect(provider.chat({ model: "llava", messages: withImage() }));
    const shown = bodiesOf(ollama, "/api/show").map((b) => b.model);
    expect(shown).toEqual(["llava", "llama3.2"]);
  });

  it("Ollama: not known when the server is not reached or names no capabilities (an older Ollama)", async () => {
    const provider = createOllamaProvider({ name: "ollama", host: "http://127.0.0.1:1", timeoutMs: 1_000, maxContextTokens: 8192 });
    expect(await provider.canSee!("llava")).toBeUndefined();
    expect(visionFromShow({ details: {} })).toBeUndefined();
    expect(visionFromShow({ capabilities: ["completion"] })).toBe(false);
  });

  it("well-known hosted names see; others are not known (not 'cannot')", () => {
    for (const name of ["gpt-4o", "gpt-4o-mini", "gpt-4.1-nano", "openai/gpt-4o-mini", "claude-haiku-5-5", "claude-3-5-sonnet-20241022", "anthropic/claude-3.5-sonnet"]) {
      expect(knownToSee(name), name).toBe(true);
    }
    for (const name of ["gpt-3.5-turbo", "gpt-4o-audio-preview", "gpt-4o-mini-tts", "claude-2.1", "claude-instant-1.2", "llama-3.1-8b-instant"]) {
      expect(knownToSee(name), name).toBeUndefined();
    }
  });
});

const dir = mkdtempSync(join(tmpdir(), "parley-vision-"));
let files = 0;

function configOf(llm: Record<string, unknown>, env: Record<string, string> = {}) {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, stringify({ llm: { timeoutMs: 5_000, retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, ...llm } }));
  return loadConfig({ PARLEY_CONFIG: path, ...env });
}

function routerOf(llm: Record<string, unknown>, env: Record<string, string> = {}): ModelRouter {
  return createRouter(configOf(llm, env), silent, { checkAtStart: false });
}

function refusal(llm: Record<string, unknown>, env: Record<string, string> = {}): string {
  try {
    configOf(llm, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("the config was accepted");
}

const providers = () => ({
  local: { kind: "ollama", baseUrl: ollama.url, models: ["llama3.2", "llava"] },
  cloud: { kind: "openai", baseUrl: openai.baseURL, models: ["gpt-4o-mini", "local-vl", "text-only"], vision: ["local-vl"] },
});

const targetOf = (choice: { provider: { name: string }; model: string }) => `${choice.provider.name}/${choice.model}`;

describe("the router", () => {
  it("a non-vision default with llm.visionModel: the vision model is chosen, and it is sent the image", async () => {
    const router = routerOf({ providers: providers(), default: "local/llama3.2", visionModel: "local/llava" });
    const chosen = await router.visionChoice(router.choose(undefined, "What is this?", 0, { hasImages: true }));
    expect("choice" in chosen && chosen.choice.reason).toBe("vision");
    if (!("choice" in chosen)) throw new Error("refused");
    expect(targetOf(chosen.choice)).toBe("local/llava");

    const answer = await collect(router.chat(chosen.choice, withImage()));
    expect(answer.done).toMatchObject({ target: "local/llava" });
    expect(bodiesOf(ollama, "/api/chat").map((b) => b.model)).toEqual(["llava"]);
  });

  it("a default that can see is kept: by Ollama's capabilities, by the provider's vision list, by a well-known name", async () => {
    for (const model of ["local/llava", "cloud/local-vl", "cloud/gpt-4o-mini"]) {
      const router = routerOf({ providers: providers(), default: model });
      const chosen = await router.visionChoice(router.choose(undefined, "What is this?", 0, { hasImages: true }));
      expect("choice" in chosen && targetOf(chosen.choice), model).toBe(model);
    }
  });

  it("vision: true on a provider: every model of it sees", async () => {
    const all = { ...providers(), cloud: { ...providers().cloud, vision: true } };
    const router = routerOf({ providers: all, default: "cloud/text-only" });
    const chosen = await router.visionChoice(router.choose(undefined, "What is this?", 0, { hasImages: true }));
    expect("choice" in chosen && targetOf(chosen.choice)).toBe("cloud/text-only");
    const without = routerOf({ providers: providers(), default: "cloud/text-only" });
    expect("refuse" in (await without.visionChoice(without.choose(undefined, "What is this?", 0, { hasImages: true })))).toBe(true);
  });

  it("with no vision model: one sentence saying the model cannot see and what to configure", async () => {
    const router = routerOf({ providers: providers(), default: "cloud/text-only" });
    const chosen = await router.visionChoice(router.choose(undefined, "What is this?", 0, { hasImages: true }));
    expect(chosen).toEqual({
      refuse:
        "The model cloud/text-only cannot see images; to have them answered, set llm.visionModel (LLM_VISION_MODEL) to one that can, such as ollama/llava or openai/gpt-4o-mini.",
    });
    expect(openai.requests).toEqual([]);
  });

  it("a hasImages rule is chosen only for messages with images, alone or with a pattern", async () => {
    const router = routerOf({
      providers: providers(),
      default: "local/llama3.2",
      routes: [
        { hasImages: true, pattern: "\\bcode\\b", model: "cloud/gpt-4o-mini" },
        { hasImages: true, model: "local/llava" },
      ],
    });
    expect(targetOf(router.choose(undefined, "What is this?"))).toBe("local/llama3.2");
    expect(targetOf(router.choose(undefined, "What is this?", 0, { hasImages: false }))).toBe("local/llama3.2");
    expect(router.choose(undefined, "What is this?", 0, { hasImages: true })).toMatchObject({ reason: "route", rule: 1, model: "llava" });
    expect(router.choose(undefined, "Explain this code", 0, { hasImages: true })).toMatchObject({ reason: "route", rule: 0, model: "gpt-4o-mini" });
    expect(router.describeRoutes()[1]).toEqual({ when: "with images", target: "local/llava" });

    // A persona's model that cannot see gives way to the image-only rule's model.
    const chosen = await router.visionChoice({ ...router.named("local/llama3.2"), reason: "persona" });
    expect("choice" in chosen && chosen.choice).toMatchObject({ reason: "route", rule: 1, model: "llava" });
  });

  it("the fallback chain skips models that cannot see: they are never sent the image", async () => {
    const router = routerOf({
      providers: providers(),
      default: "cloud/gpt-4o-mini",
      fallback: ["cloud/text-only", "local/llama3.2", "local/llava"],
    });
    openai.setFault({ kind: "500", sticky: true });
    const answer = await collect(router.chat(router.defaultChoice, withImage()));
    expect(answer.done).toMatchObject({ target: "local/llava", fallback: { from: "cloud/gpt-4o-mini" } });
    expect(bodiesOf(openai, "/v1/chat/completions").map((b) => b.model)).toEqual(["gpt-4o-mini"]);
    expect(bodiesOf(ollama, "/api/chat").map((b) => b.model)).toEqual(["llava"]);

    // Without images the same chain is tried in order, as before.
    openai.setFault(null);
    ollama.requests.length = 0;
    await collect(router.chat(router.named("local/llama3.2"), [{ role: "user", content: "hi" }]));
    expect(bodiesOf(ollama, "/api/chat").map((b) => b.model)).toEqual(["llama3.2"]);
  });

  it("when no model of the chain can see, nothing is sent and the error says why", async () => {
    const router = routerOf({ providers: providers(), default: "cloud/text-only", fallback: ["local/llama3.2"] });
    const { error } = await collect(router.chat(router.defaultChoice, withImage()));
    expect(error).toBeInstanceOf(ParleyError);
    expect((error as ParleyError).userMessage).toContain("cloud/text-only: The model cloud/text-only cannot see images.");
    expect((error as ParleyError).userMessage).toContain("local/llama3.2: The model local/llama3.2 cannot see images.");
    expect(bodiesOf(openai, "/v1/chat/completions")).toEqual([]);
    expect(bodiesOf(ollama, "/api/chat")).toEqual([]);
  });
});

describe("settings", () => {
  it("LLM_VISION_MODEL: provider/model or a model of the single provider", async () => {
    const single = { PARLEY_CONFIG: "", OLLAMA_HOST: ollama.url };
    for (const value of ["ollama/llava", "llava"]) {
      const router = createRouter(loadConfig({ ...single, LLM_VISION_MODEL: value }), silent, { checkAtStart: false });
      const chosen = await router.visionChoice(router.defaultChoice);
      expect("choice" in chosen && targetOf(chosen.choice), value).toBe("ollama/llava");
    }
  });

  it("refusals name the setting", () => {
    expect(refusal({ providers: providers(), default: "local/llama3.2", visionModel: "nowhere/llava" })).toMatch(/^llm\.visionModel: "nowhere\/llava"/);
    expect(() => loadConfig({ PARLEY_CONFIG: "", LLM_VISION_MODEL: "openai/gpt-4o-mini" })).toThrow(/llm\.visionModel: "openai\/gpt-4o-mini" names provider openai, which is not configured/);
    expect(refusal({ routes: [{ model: "ollama/llava" }] })).toMatch(/llm\.routes\.0.*a route needs a pattern, maxChars, hasImages: true/);
    expect(refusal({ providers: { local: { kind: "ollama", models: ["llava"], vision: "llava" } } })).toMatch(/llm\.providers\.local\.vision/);
    expect(refusal({ providers: { small: { kind: "embedded", vision: ["x"] } } })).toMatch(/^llm\.providers\.small\.vision: embedded models take text only/);
  });
});
