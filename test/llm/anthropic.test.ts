/**
 * The Anthropic provider: the real `@anthropic-ai/sdk` client against the
 * wire-level fake of Anthropic's API (`test/fakes/anthropic.ts`), alone and
 * (for retries after `retry-after`) through the whole bot's router.
 */
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { ParleyError, type ErrorCode } from "../../src/core/errors.js";
import { createAnthropicProvider } from "../../src/llm/anthropic.js";
import { checkConfiguredProviders } from "../../src/llm/providers.js";
import { resolveLlmSetup } from "../../src/llm/setup.js";
import type { ChatRequest } from "../../src/llm/types.js";
import { countWords, startFakeAnthropic, unusedPort, type FakeAnthropic, type Fault } from "../fakes/anthropic.js";
import { startRouted, timed, writeConfig } from "../routing/support.js";
import type { TestApp } from "../support/app-harness.js";
import { collect } from "./collect.js";

/** The silence timeout of tests about timeouts. */
const TIMEOUT_MS = 300;
/** The silence timeout of every other test: a busy machine must not make it fire. */
const GENEROUS_TIMEOUT_MS = 10_000;
/** Scheduling slack on a busy 2-core machine. */
const MARGIN_MS = 1_500;
/** Tests about what keeps a call alive: events come a quarter of the timeout apart. */
const ALIVE_TIMEOUT_MS = 800;
const ALIVE_GAP_MS = ALIVE_TIMEOUT_MS / 4;
const API_KEY = "sk-ant-api03-test-4f9a1c7e2b";
const MODEL = "claude-haiku-5-5";
const emptyConfig = fileURLToPath(new URL("../support/empty-config.yaml", import.meta.url));

let fake: FakeAnthropic;

beforeAll(async () => {
  fake = await startFakeAnthropic({ models: [MODEL, "claude-sonnet-5-5"], apiKey: API_KEY });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.setFault(null);
  fake.setResponder(null);
  fake.setModels([MODEL, "claude-sonnet-5-5"]);
  fake.requests.length = 0;
  vi.restoreAllMocks();
});

function provider(extra: { apiKey?: string; baseURL?: string; timeoutMs?: number; maxTokens?: number; log?: pino.Logger } = {}) {
  return createAnthropicProvider({
    name: "anthropic",
    baseURL: extra.baseURL ?? fake.url,
    apiKey: "apiKey" in extra ? extra.apiKey : API_KEY,
    timeoutMs: extra.timeoutMs ?? GENEROUS_TIMEOUT_MS,
    maxTokens: extra.maxTokens ?? 1024,
    log: extra.log,
  });
}

const request: ChatRequest = {
  model: MODEL,
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "what is the weather like" },
  ],
};

function expectParley(error: unknown, code: ErrorCode): ParleyError {
  expect(error).toBeInstanceOf(ParleyError);
  expect((error as ParleyError).code).toBe(code);
  return error as ParleyError;
}

function messageCalls() {
  return fake.requests.filter((r) => r.path === "/v1/messages");
}

function lastMessage() {
  return messageCalls().at(-1)!;
}

/** A pino logger that keeps every line it writes, at debug level. */
function capturedLog() {
  const lines: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  return { log, text: () => lines.join("") };
}

describe("anthropic provider: answers", () => {
  it("streams the answer and ends with the token counts of message_start and message_delta", async () => {
    fake.setResponder(() => ({ chunks: ["Sunny ", "and ", "warm."], promptTokens: 321, completionTokens: 12 }));
    const got = await collect(provider().chat(request));

    expect(got.error).toBeUndefined();
    expect(got.texts).toEqual(["Sunny ", "and ", "warm."]);
    expect(got.done).toEqual({ type: "done", model: MODEL, usage: { promptTokens: 321, completionTokens: 12 } });
  });

  it("counts the fake's default tokens: the system prompt is input too", async () => {
    const got = await collect(provider().chat(request));
    expect(got.text).toBe("Echo: what is the weather like");
    const sent = lastMessage().answer!;
    expect(sent.promptTokens).toBe(countWords(request.messages));
    expect(got.done?.usage).toEqual({ promptTokens: sent.promptTokens, completionTokens: sent.chunks.length });
  });

  it("sends the system prompts as top-level system, max_tokens, a stream, the key and the API version; no temperature", async () => {
    await collect(
      provider({ maxTokens: 600 }).chat({
        ...request,
        temperature: 0.7,
        messages: [
          { role: "system", content: "You are terse." },
          { role: "system", content: "Facts: the sky is blue." },
          { role: "user", content: "hello" },
        ],
      }),
    );
    const call = lastMessage();
    const body = call.body as Record<string, unknown>;
    expect(body.system).toBe("You are terse.\n\nFacts: the sky is blue.");
    expect(body.messages).toEqual([{ role: "user", content: "hello" }]);
    expect(body.max_tokens).toBe(600);
    expect(body.stream).toBe(true);
    expect(body.model).toBe(MODEL);
    expect(body).not.toHaveProperty("temperature");
    expect(call.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // The official client sends the key as a bearer token.
    expect(call.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it("merges consecutive turns of one role, drops empty ones and answers before the first question", async () => {
    const got = await collect(
      provider().chat({
        model: MODEL,
        messages: [
          { role: "assistant", content: "an answer whose question is gone" },
          { role: "system", content: "Be kind." },
          { role: "user", content: "first" },
          { role: "user", content: "second" },
          { role: "assistant", content: "  " },
          { role: "assistant", content: "reply" },
          { role: "assistant", content: "more reply" },
          { role: "user", content: "third" },
        ],
      }),
    );
    // The fake refuses what Anthropic refuses (a first answer, roles in a row, empty text): it answered.
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("Echo: third");
    const body = lastMessage().body as Record<string, unknown>;
    expect(body.system).toBe("Be kind.");
    expect(body.messages).toEqual([
      { role: "user", content: "first\n\nsecond" },
      { role: "assistant", content: "reply\n\nmore reply" },
      { role: "user", content: "third" },
    ]);
  });

  it("the fake itself refuses a system role among the messages and turns that do not alternate", async () => {
    const post = (messages: unknown[]) =>
      fetch(`${fake.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": API_KEY, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: MODEL, max_tokens: 10, messages }),
      });
    const system = await post([{ role: "system", content: "x" }, { role: "user", content: "hi" }]);
    expect(system.status).toBe(400);
    expect(((await system.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    expect((await post([{ role: "user", content: "a" }, { role: "user", content: "b" }])).status).toBe(400);
    expect((await post([{ role: "user", content: "a" }])).status).toBe(200);
  });

  it("times out on silence, not on total duration: slow but steady events arrive", async () => {
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c ", "d ", "e"], chunkDelayMs: ALIVE_GAP_MS }));
    const got = await collect(provider({ timeoutMs: ALIVE_TIMEOUT_MS }).chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("a b c d e");
    expect(got.elapsedMs).toBeGreaterThan(ALIVE_TIMEOUT_MS);
  });

  it("thinking deltas keep the call alive and are not shown", async () => {
    const thinking = ["Let ", "me ", "think ", "about ", "it."];
    fake.setResponder(() => ({ thinking, chunks: ["Fine."], chunkDelayMs: ALIVE_GAP_MS }));
    const got = await collect(provider({ timeoutMs: ALIVE_TIMEOUT_MS }).chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("Fine.");
    expect(got.elapsedMs).toBeGreaterThan(ALIVE_TIMEOUT_MS);
  });

  it("does not count a slow consumer as a silent server", async () => {
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c"], chunkDelayMs: 20 }));
    const got = await collect(provider({ timeoutMs: TIMEOUT_MS }).chat(request), () => sleep(TIMEOUT_MS * 1.5));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("a b c");
    expect(got.done?.usage).toBeDefined();
  });

  it("lists the server's models, every page", async () => {
    expect(await provider().models()).toEqual([MODEL, "claude-sonnet-5-5"]);
    const many = Array.from({ length: 1003 }, (_, i) => `claude-test-${i}`);
    fake.setModels(many);
    fake.requests.length = 0;
    expect(await provider().models()).toEqual(many);
    const pages = fake.requests.filter((r) => r.path === "/v1/models");
    expect(pages).toHaveLength(2);
  });
});

describe("anthropic provider: failures", () => {
  it("a wrong key is provider_auth with a clear message; the key is in no error and no log line", async () => {
    const wrongKey = "sk-ant-api03-wrong-9d8c7b6a5f";
    const { log, text } = capturedLog();
    const got = await collect(provider({ apiKey: wrongKey, log }).chat(request));
    const error = expectParley(got.error, "provider_auth");
    expect(error.userMessage).toBe("The anthropic model server refused our API key (missing or wrong).");
    expect(error.message).not.toContain(wrongKey);
    expect(error.cause).toBeUndefined(); // the client's error holds the server's echo of the key
    expect(text()).toContain("provider_auth"); // the failure was logged...
    expect(text()).not.toContain(wrongKey); // ...without the key
    expect(text()).not.toContain(API_KEY);
    expectParley(await provider({ apiKey: undefined }).models().catch((e: unknown) => e), "provider_auth");
  });

  it("a missing key sends a placeholder, never a key of the environment", async () => {
    vi.stubEnv("ANTHROPIC_API_KEY", API_KEY);
    try {
      expectParley((await collect(provider({ apiKey: undefined }).chat(request))).error, "provider_auth");
      expect(lastMessage().headers.authorization).toBe("Bearer not-needed");
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("429 is provider_rate_limited with the server's retry-after, and the client does not retry it itself", async () => {
    fake.setFault({ kind: "429", retryAfterSec: 4 });
    const error = expectParley((await collect(provider().chat(request))).error, "provider_rate_limited");
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(4000);
    expect(error.userMessage).toBe("The anthropic model server is rate limiting us; try again in 4 s.");
    expect(messageCalls()).toHaveLength(1);
  });

  it("529 (overloaded) is a retryable provider_error with the server's retry-after, not retried by the client", async () => {
    fake.setFault({ kind: "529", retryAfterSec: 3 });
    const error = expectParley((await collect(provider().chat(request))).error, "provider_error");
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(3000);
    expect(error.userMessage).toBe("The anthropic model server is overloaded; try again in 3 s.");
    expect(messageCalls()).toHaveLength(1);
  });

  it.each<[Fault["kind"], ErrorCode, boolean]>([
    ["500", "provider_error", true],
    ["400", "provider_bad_request", false],
    ["401", "provider_auth", false],
    ["404-model", "model_not_found", false],
  ])("HTTP fault %s becomes %s (retryable: %s)", async (kind, code, retryable) => {
    fake.setFault(kind);
    const error = expectParley((await collect(provider().chat(request))).error, code);
    expect(error.retryable).toBe(retryable);
  });

  it("an unknown model is model_not_found, naming model and provider", async () => {
    const got = await collect(provider().chat({ ...request, model: "claude-9" }));
    const error = expectParley(got.error, "model_not_found");
    expect(error.userMessage).toBe("Model claude-9 does not exist on the anthropic model server.");
  });

  it("an address ending in /v1 (the client adds it) says to check the address", async () => {
    const got = await collect(provider({ baseURL: `${fake.url}/v1` }).chat(request));
    const error = expectParley(got.error, "provider_bad_request");
    expect(error.userMessage).toBe("The anthropic model server does not offer this API; check its address (an Anthropic address ends before /v1, which the client adds).");
  });

  it("an error event after the first words: partial text, then a provider_error that is not retried", async () => {
    fake.setFault("stream-error");
    const got = await collect(provider().chat(request));
    const error = expectParley(got.error, "provider_error");
    expect(error.retryable).toBe(false);
    expect(got.text).toBe(lastMessage().answer!.chunks[0]);
    expect(got.done).toBeUndefined();
  });

  it.each<[number, ErrorCode, boolean]>([
    [529, "provider_error", true],
    [429, "provider_rate_limited", true],
    [400, "provider_bad_request", false],
  ])("an error event before any text with the type of a %s is read as that status: %s", async (errorCode, code, retryable) => {
    fake.setFault({ kind: "stream-error-first", errorCode });
    const got = await collect(provider().chat(request));
    expect(expectParley(got.error, code).retryable).toBe(retryable);
    expect(got.text).toBe("");
  });

  it("a server that never answers ends in provider_timeout within the timeout", async () => {
    fake.setFault("hang");
    const got = await collect(provider({ timeoutMs: TIMEOUT_MS }).chat(request));
    const error = expectParley(got.error, "provider_timeout");
    expect(error.retryable).toBe(true);
    expect(got.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(got.elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it("a stream that goes silent after its first words ends in provider_timeout", async () => {
    fake.setFault("stall");
    const got = await collect(provider({ timeoutMs: TIMEOUT_MS }).chat(request));
    expectParley(got.error, "provider_timeout");
    expect(got.text).toBe(lastMessage().answer!.chunks[0]);
    expect(got.elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it("a cut stream yields the partial text, then stream_cut (not retryable)", async () => {
    fake.setFault("cut");
    const got = await collect(provider().chat(request));
    const error = expectParley(got.error, "stream_cut");
    expect(error.retryable).toBe(false);
    expect(got.text).toBe(lastMessage().answer!.chunks[0]);
    expect(got.done).toBeUndefined();
  });

  it.each([
    ["an HTML page", "text/html; charset=utf-8"],
    ["SSE whose data is not JSON", "text/event-stream"],
  ])("a 200 answer with %s is provider_bad_response, and the client prints nothing", async (_, contentType) => {
    const printed = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
    fake.setFault({ kind: "not-json", contentType });
    expectParley((await collect(provider().chat(request))).error, "provider_bad_response");
    fake.setFault({ kind: "not-json", contentType, scope: "all" });
    expectParley(await provider().models().catch((e: unknown) => e), "provider_bad_response");
    for (const spy of printed) expect(spy).not.toHaveBeenCalled();
  });

  it("a refused connection is provider_unavailable, naming the address and ANTHROPIC_BASE_URL, without credentials", async () => {
    const port = await unusedPort();
    const baseURL = `http://me:${API_KEY}@127.0.0.1:${port}?key=${API_KEY}`;
    const got = await collect(provider({ baseURL }).chat(request));
    const error = expectParley(got.error, "provider_unavailable");
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toBe(`Could not reach anthropic at http://127.0.0.1:${port} — is the server running? Check ANTHROPIC_BASE_URL and your network.`);
    expectParley(await provider({ baseURL: `http://127.0.0.1:${port}` }).models().catch((e: unknown) => e), "provider_unavailable");
    // A provider of the config file is set by its entry there.
    const named = createAnthropicProvider({ name: "claude", baseURL: `http://127.0.0.1:${port}`, apiKey: API_KEY, timeoutMs: GENEROUS_TIMEOUT_MS, maxTokens: 1024 });
    expect(expectParley((await collect(named.chat(request))).error, "provider_unavailable").userMessage).toContain("Check llm.providers.claude.baseUrl");
  });

  it("the caller's abort while the consumer holds a chunk ends the stream with the caller's reason", async () => {
    const controller = new AbortController();
    const got = await collect(provider().chat(request, controller.signal), async () => {
      await sleep(50); // the whole answer arrives meanwhile
      controller.abort(new Error("user went away"));
    });
    expect((got.error as Error).message).toBe("user went away");
    expect(got.texts).toEqual([lastMessage().answer!.chunks[0]]);
    expect(got.done).toBeUndefined();
  });

  it("the caller's abort while waiting for a hanging server ends the call at once with the caller's reason", async () => {
    fake.setFault("hang");
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 100);
    const got = await collect(provider().chat(request, controller.signal));
    expect((got.error as Error).message).toBe("stop");
    expect(got.elapsedMs).toBeLessThan(GENEROUS_TIMEOUT_MS / 2);
  });

  it("models() times out on a hanging server", async () => {
    fake.setFault({ kind: "hang", scope: "all" });
    const started = performance.now();
    expectParley(await provider({ timeoutMs: TIMEOUT_MS }).models().catch((e: unknown) => e), "provider_timeout");
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it("no user message contains the server's address (but the one saying it could not be reached) or a key", async () => {
    const faults: Fault["kind"][] = ["500", "400", "401", "429", "529", "404-model", "hang", "stall", "cut", "not-json", "stream-error"];
    const messages: string[] = [];
    for (const fault of faults) {
      fake.setFault(fault);
      const { error } = await collect(provider({ timeoutMs: TIMEOUT_MS }).chat(request));
      expect(error).toBeInstanceOf(ParleyError);
      messages.push((error as ParleyError).userMessage);
    }
    const wrongKey = "sk-ant-leaky-0123456789";
    messages.push(expectParley((await collect(provider({ apiKey: wrongKey }).chat(request))).error, "provider_auth").userMessage);
    for (const message of messages) {
      expect(message).not.toMatch(/https?:|127\.0\.0\.1|localhost/);
      expect(message).not.toContain(String(fake.port));
      expect(message).not.toContain(API_KEY);
      expect(message).not.toContain(wrongKey);
    }
    expect(new Set(messages).size).toBeGreaterThan(6);
  });
});

describe("anthropic provider: configuration", () => {
  const env = (extra: Record<string, string> = {}) => ({ PARLEY_CONFIG: emptyConfig, LLM_PROVIDER: "anthropic", ...extra });

  it("LLM_PROVIDER=anthropic: Anthropic's address, ANTHROPIC_API_KEY, the default model and max_tokens", () => {
    const config = loadConfig(env({ ANTHROPIC_API_KEY: API_KEY }));
    const [only] = resolveLlmSetup(config.llm).providers;
    expect(only).toMatchObject({ name: "anthropic", kind: "anthropic", baseUrl: "https://api.anthropic.com", apiKey: API_KEY, models: [MODEL], maxTokens: 1024 });
    const proxied = resolveLlmSetup(loadConfig(env({ ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url })).llm).providers[0]!;
    expect(proxied.baseUrl).toBe(fake.url);
  });

  it("refuses to start without ANTHROPIC_API_KEY, and never takes OPENAI_API_KEY for it", () => {
    expect(() => loadConfig(env())).toThrow(new ConfigError("LLM_PROVIDER=anthropic needs an API key in ANTHROPIC_API_KEY."));
    expect(() => loadConfig(env({ OPENAI_API_KEY: "sk-openai-0123" }))).toThrow(/ANTHROPIC_API_KEY/);
  });

  it("a provider of kind anthropic in the file: Anthropic's address, its key variable, maxTokens (1024 unless set)", () => {
    const fromFile = (providers: Record<string, unknown>) =>
      resolveLlmSetup(loadConfig({ PARLEY_CONFIG: writeConfig({ llm: { providers } }), CLAUDE_KEY: API_KEY }).llm).providers;
    const [claude, plain] = fromFile({
      claude: { kind: "anthropic", apiKeyEnv: "CLAUDE_KEY", models: [MODEL], maxTokens: 300 },
      plain: { kind: "anthropic", apiKeyEnv: "CLAUDE_KEY", models: [MODEL] },
    });
    expect(claude).toMatchObject({ kind: "anthropic", baseUrl: "https://api.anthropic.com", apiKey: API_KEY, maxTokens: 300 });
    expect(plain!.maxTokens).toBe(1024);
    expect(() => fromFile({ gpt: { kind: "openai", models: ["gpt-4o-mini"], maxTokens: 300 } })).toThrow(
      new ConfigError("llm.providers.gpt.maxTokens: only providers of kind anthropic or embedded are told the longest answer."),
    );
    expect(() => fromFile({ claude: { kind: "anthropic", models: [MODEL], keepAlive: "ram" } })).toThrow(/keepAlive: only providers of kind ollama/);
  });

  it("the availability check finds a model asked for by its alias among the dated ids Anthropic lists", async () => {
    fake.setModels(["claude-haiku-4-5-20251001"]);
    const config = loadConfig(env({ ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url, LLM_MODEL: "claude-haiku-4-5" }));
    const [check] = await checkConfiguredProviders(config, GENEROUS_TIMEOUT_MS);
    expect(check).toMatchObject({ name: "anthropic", kind: "anthropic", ok: true, missing: [] });
    const other = loadConfig(env({ ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: fake.url, LLM_MODEL: "claude-haiku-4" }));
    expect((await checkConfiguredProviders(other, GENEROUS_TIMEOUT_MS))[0]!.missing.map((m) => m.model)).toEqual(["claude-haiku-4"]);
  });
});

describe("anthropic provider: through the whole bot (in process)", () => {
  let bot: TestApp | undefined;
  afterEach(async () => {
    await bot?.stop();
    bot = undefined;
  });

  const alone = () =>
    startRouted(
      {
        // Not a test about timeouts: a generous silence allowance.
        timeoutMs: GENEROUS_TIMEOUT_MS,
        providers: {
          claude: { kind: "anthropic", baseUrl: fake.url, apiKeyEnv: "CLAUDE_KEY", models: [MODEL], prices: { [MODEL]: { input: 3, output: 15 } } },
        },
        default: `claude/${MODEL}`,
      },
      { CLAUDE_KEY: API_KEY },
    );

  it("records the server's token counts, priced by the provider's prices", async () => {
    bot = await alone();
    fake.setResponder(() => ({ text: "Priced.", promptTokens: 1_000, completionTokens: 200 }));
    expect(await bot.say("how much?", { private: true })).toBe("Priced.");
    // 1,000 × $3 + 200 × $15 per million tokens.
    expect(await bot.say("/usage", { private: true })).toContain("1,200 tokens (1,000 in, 200 out), costing $0.0060");
  });

  it.each([
    ["429", { kind: "429", retryAfterSec: 0.3 }],
    ["529", { kind: "529", retryAfterSec: 0.3 }],
  ] satisfies Array<[string, Fault]>)("a one-shot %s is answered by the second call, no sooner than retry-after", async (_name, fault) => {
    bot = await alone();
    fake.setFault(fault);
    const { value: answer, ms } = await timed(() => bot!.say("retry me", { private: true }));
    expect(answer).toBe("Echo: retry me");
    expect(messageCalls()).toHaveLength(2);
    expect(ms).toBeGreaterThanOrEqual(300);
  });

  it("a retry-after longer than retry.maxDelayMs is not waited for: one call, one clear reply", async () => {
    bot = await alone();
    fake.setFault({ kind: "529", retryAfterSec: 30 });
    const { value: answer, ms } = await timed(() => bot!.say("busy?", { private: true }));
    expect(answer).toMatch(/overloaded/);
    expect(messageCalls()).toHaveLength(1);
    expect(ms).toBeLessThan(5_000);
  });
});
