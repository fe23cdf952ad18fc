import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { ParleyError, type ErrorCode } from "../../src/core/errors.js";
import { createOpenAiProvider } from "../../src/llm/openai.js";
import type { ChatRequest } from "../../src/llm/types.js";
import {
  countWords,
  startFakeOpenAi,
  unusedPort,
  type CompatVariants,
  type FakeOpenAi,
  type Fault,
} from "../fakes/openai.js";
import { collect } from "./collect.js";

const TIMEOUT_MS = 300;
/** Scheduling slack on a busy 2-core machine. */
const MARGIN_MS = 1_500;
/**
 * The silence timeout of tests about what keeps a call alive: chunks come a
 * quarter of it apart, so a busy machine cannot make one late.
 */
const ALIVE_TIMEOUT_MS = 800;
const ALIVE_GAP_MS = ALIVE_TIMEOUT_MS / 4;
const API_KEY = "sk-test-4f9a1c7e2b";

let fake: FakeOpenAi;

beforeAll(async () => {
  fake = await startFakeOpenAi({ models: ["gpt-4o-mini", "llama-3.1-8b-instant"], apiKey: API_KEY });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.setFault(null);
  fake.setResponder(null);
  fake.setVariants({});
  fake.requests.length = 0;
  vi.restoreAllMocks();
});

function provider(extra: { apiKey?: string; baseURL?: string; sendStreamOptions?: boolean; timeoutMs?: number } = {}) {
  return createOpenAiProvider({
    name: "groq",
    baseURL: extra.baseURL ?? fake.baseURL,
    apiKey: "apiKey" in extra ? extra.apiKey : API_KEY,
    timeoutMs: extra.timeoutMs ?? TIMEOUT_MS,
    sendStreamOptions: extra.sendStreamOptions,
  });
}

const request: ChatRequest = {
  model: "gpt-4o-mini",
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

function lastChat() {
  const chats = fake.requests.filter((r) => r.path === "/v1/chat/completions");
  return chats[chats.length - 1]!;
}

describe("openai provider: answers", () => {
  it("streams the answer and ends with the usage the server reported", async () => {
    const got = await collect(provider().chat(request));

    expect(got.error).toBeUndefined();
    const sent = lastChat().answer!;
    expect(got.text).toBe("Echo: what is the weather like");
    expect(got.texts).toEqual(sent.chunks);
    expect(got.done).toEqual({
      type: "done",
      model: "gpt-4o-mini",
      usage: { promptTokens: sent.promptTokens, completionTokens: sent.completionTokens },
    });
    expect(sent.promptTokens).toBe(countWords(request.messages));
    expect(sent.completionTokens).toBe(sent.chunks.length);
  });

  it("asks for usage, sends only role and content, no retries", async () => {
    fake.setFault("500");
    await collect(provider().chat({ ...request, temperature: 0.7 }));
    expect(fake.requests.filter((r) => r.path === "/v1/chat/completions")).toHaveLength(1);

    await collect(provider().chat({ ...request, temperature: 0.7 }));
    const body = lastChat().body as Record<string, unknown>;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.temperature).toBe(0.7);
    expect(body.messages).toEqual(request.messages);
    for (const message of body.messages as object[]) expect(Object.keys(message).sort()).toEqual(["content", "role"]);
    expect(lastChat().headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it("leaves stream_options out when told to", async () => {
    await collect(provider({ sendStreamOptions: false }).chat(request));
    expect(lastChat().body).not.toHaveProperty("stream_options");
  });

  it.each<[string, CompatVariants, boolean]>([
    ["no role in the first delta", { noRoleInFirstDelta: true }, true],
    ["usage on the last choice chunk", { usageInLastChoiceChunk: true }, true],
    ["extra unknown fields", { extraFields: true }, true],
    ["extra fields and usage on the last choice chunk", { extraFields: true, usageInLastChoiceChunk: true }, true],
    ["stream_options ignored", { ignoreStreamOptions: true }, false],
    ["usage only in x_groq (Groq)", { usageInXGroq: true }, true],
    ["no finish_reason, only data: [DONE]", { noFinishReason: true }, true],
    ["no finish_reason and no usage, only data: [DONE]", { noFinishReason: true, ignoreStreamOptions: true }, false],
  ])("compatible server with %s: text, and usage when sent", async (_, variants, sendsUsage) => {
    fake.setVariants(variants);
    const got = await collect(provider().chat(request));
    expect(got.error).toBeUndefined();
    const sent = lastChat().answer!;
    expect(got.text).toBe(sent.text);
    expect(got.done?.type).toBe("done");
    expect(got.done?.usage).toEqual(
      sendsUsage ? { promptTokens: sent.promptTokens, completionTokens: sent.completionTokens } : undefined,
    );
  });

  it("asks again without stream_options when the server refuses them, and stops sending them", async () => {
    fake.setVariants({ rejectStreamOptions: true });
    const openai = provider();
    const got = await collect(openai.chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe(lastChat().answer!.text);
    const chats = () => fake.requests.filter((r) => r.path === "/v1/chat/completions");
    expect(chats().map((r) => "stream_options" in (r.body as object))).toEqual([true, false]);
    await collect(openai.chat(request));
    expect(chats()).toHaveLength(3);
    expect(lastChat().body).not.toHaveProperty("stream_options");
  });

  it("sends a placeholder key to a local server that needs none", async () => {
    const local = await startFakeOpenAi();
    try {
      const got = await collect(provider({ baseURL: local.baseURL, apiKey: undefined }).chat(request));
      expect(got.error).toBeUndefined();
      expect(local.requests[0]!.headers.authorization).toBe("Bearer not-needed");
    } finally {
      await local.close();
    }
  });

  it("times out on silence, not on total duration: slow but steady chunks arrive", async () => {
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c ", "d ", "e"], chunkDelayMs: ALIVE_GAP_MS }));
    const got = await collect(provider({ timeoutMs: ALIVE_TIMEOUT_MS }).chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("a b c d e");
    expect(got.elapsedMs).toBeGreaterThan(ALIVE_TIMEOUT_MS);
  });

  it("does not count a slow consumer as a silent server", async () => {
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c"], chunkDelayMs: 20 }));
    const got = await collect(provider().chat(request), () => sleep(TIMEOUT_MS * 1.5));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("a b c");
    expect(got.done?.usage).toBeDefined();
  });

  it("a reasoning model's reasoning_content chunks keep the call alive, and are not shown", async () => {
    const thinking = ["Let ", "me ", "think ", "about ", "it."];
    fake.setResponder(() => ({ thinking, chunks: ["Fine."], chunkDelayMs: ALIVE_GAP_MS }));
    const got = await collect(provider({ timeoutMs: ALIVE_TIMEOUT_MS }).chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("Fine.");
    // Longer than the silence timeout, with no content until the end: the reasoning kept it alive.
    expect(got.elapsedMs).toBeGreaterThan(ALIVE_TIMEOUT_MS);
  });

  it("hides an inline <think> block at the start of the answer, and keeps the server's counts", async () => {
    fake.setResponder(() => ({ chunks: ["<think>", "\nweighing it", "</think>", "\n\n", "Fine."], promptTokens: 12, completionTokens: 5 }));
    const got = await collect(provider().chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("Fine.");
    expect(got.done?.usage).toEqual({ promptTokens: 12, completionTokens: 5 });
  });

  it("lists the server's models", async () => {
    expect(await provider().models()).toEqual(["gpt-4o-mini", "llama-3.1-8b-instant"]);
  });
});

describe("openai provider: failures", () => {
  it("an unknown model is model_not_found, naming model and provider", async () => {
    const got = await collect(provider().chat({ ...request, model: "gpt-9" }));
    const error = expectParley(got.error, "model_not_found");
    expect(error.userMessage).toBe("Model gpt-9 does not exist on the groq model server.");
  });

  it("a wrong key is provider_auth, and the key the server echoed stays out of the message", async () => {
    const wrongKey = "sk-wrong-9d8c7b6a5f";
    const got = await collect(provider({ apiKey: wrongKey }).chat(request));
    const error = expectParley(got.error, "provider_auth");
    expect(error.userMessage).not.toContain(wrongKey);
    expect(error.message).not.toContain(wrongKey);
    expect(error.cause).toBeUndefined(); // the client's error holds the server's echo
    expect(JSON.stringify(lastChat().body)).not.toContain(wrongKey);
    expectParley(await provider({ apiKey: undefined }).models().catch((e: unknown) => e), "provider_auth");
  });

  it.each<[Fault["kind"], ErrorCode, boolean]>([
    ["500", "provider_error", true],
    ["503", "provider_error", true],
    ["400", "provider_bad_request", false],
    ["401", "provider_auth", false],
    ["404-model", "model_not_found", false],
  ])("HTTP fault %s becomes %s (retryable: %s)", async (kind, code, retryable) => {
    fake.setFault(kind);
    const error = expectParley((await collect(provider().chat(request))).error, code);
    expect(error.retryable).toBe(retryable);
  });

  it("429 becomes provider_rate_limited with the server's retry-after", async () => {
    fake.setFault({ kind: "429", retryAfterSec: 4 });
    const error = expectParley((await collect(provider().chat(request))).error, "provider_rate_limited");
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(4000);
  });

  it.each<[string, Record<string, string>, number | undefined]>([
    ["retry-after-ms", { "retry-after-ms": "750" }, 750],
    [
      "the exhausted window's x-ratelimit-reset",
      {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1.5s",
        "x-ratelimit-remaining-tokens": "9000",
        "x-ratelimit-reset-tokens": "6m0s",
      },
      1500,
    ],
    [
      "both windows exhausted: the later reset",
      {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1.5s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "1m2.5s",
      },
      62_500,
    ],
    ["no window said exhausted: the sooner reset", { "x-ratelimit-reset-requests": "20ms", "x-ratelimit-reset-tokens": "6m0s" }, 20],
    ["nothing readable", { "x-ratelimit-reset-requests": "soon" }, undefined],
  ])("429 without retry-after: waits for %s", async (_, headers, expectedMs) => {
    fake.setFault({ kind: "429", retryAfterSec: null, headers });
    const error = expectParley((await collect(provider().chat(request))).error, "provider_rate_limited");
    expect(error.retryAfterMs).toBe(expectedMs);
  });

  it("an unknown model refused with 400 (OpenRouter, LM Studio) is model_not_found too", async () => {
    fake.setFault("400-model");
    expectParley((await collect(provider().chat(request))).error, "model_not_found");
    fake.setFault({ kind: "400-model", message: 'Model "gpt-4o-mini" not found. Please specify a valid model.' });
    expectParley((await collect(provider().chat(request))).error, "model_not_found");
    // A 400 that is about something else stays a refused request.
    fake.setFault("400");
    expectParley((await collect(provider().chat(request))).error, "provider_bad_request");
  });

  it("an error object inside the stream after the first chunk: partial text, then a provider_error that is not retried", async () => {
    fake.setFault("stream-error");
    const got = await collect(provider().chat(request));
    const error = expectParley(got.error, "provider_error");
    expect(error.retryable).toBe(false);
    expect(got.text).toBe(lastChat().answer!.chunks[0]);
    expect(got.done).toBeUndefined();
  });

  it.each<[number, ErrorCode, boolean]>([
    [429, "provider_rate_limited", true],
    [502, "provider_error", true],
    [402, "provider_bad_request", false],
  ])("an error event before any text with code %s (OpenRouter) is read as that status: %s", async (errorCode, code, retryable) => {
    fake.setFault({ kind: "stream-error-first", errorCode });
    const got = await collect(provider().chat(request));
    expect(expectParley(got.error, code).retryable).toBe(retryable);
    expect(got.text).toBe("");
  });

  it("a wrong path says to check the address, and that it usually ends in /v1", async () => {
    const got = await collect(provider({ baseURL: fake.url }).chat(request));
    const error = expectParley(got.error, "provider_bad_request");
    expect(error.userMessage).toBe("The groq model server does not offer this API; check its address (an OpenAI-compatible address usually ends in /v1).");
  });

  it("a server that never answers ends in provider_timeout within the timeout", async () => {
    fake.setFault("hang");
    const got = await collect(provider().chat(request));
    const error = expectParley(got.error, "provider_timeout");
    expect(error.retryable).toBe(true);
    expect(got.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(got.elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it("a stream that stalls mid-way ends in provider_timeout after the first chunk", async () => {
    fake.setFault("stall");
    const got = await collect(provider().chat(request));
    expectParley(got.error, "provider_timeout");
    expect(got.text).toBe(lastChat().answer!.chunks[0]);
    expect(got.elapsedMs).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it("a cut stream yields the partial text, then stream_cut (not retryable)", async () => {
    fake.setFault("cut");
    const got = await collect(provider().chat(request));
    const error = expectParley(got.error, "stream_cut");
    expect(error.retryable).toBe(false);
    expect(got.text).toBe(lastChat().answer!.chunks[0]);
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

  it("a refused connection is provider_unavailable (retryable)", async () => {
    const baseURL = `http://127.0.0.1:${await unusedPort()}/v1`;
    const got = await collect(provider({ baseURL }).chat(request));
    const error = expectParley(got.error, "provider_unavailable");
    expect(error.retryable).toBe(true);
    expectParley(await provider({ baseURL }).models().catch((e: unknown) => e), "provider_unavailable");
  });

  it("the caller's abort while the consumer holds a chunk ends the stream with the caller's reason", async () => {
    const controller = new AbortController();
    const got = await collect(provider({ timeoutMs: 5_000 }).chat(request, controller.signal), async () => {
      await sleep(50); // the whole answer arrives meanwhile
      controller.abort(new Error("user went away"));
    });
    expect((got.error as Error).message).toBe("user went away");
    expect(got.texts).toEqual([lastChat().answer!.chunks[0]]);
    expect(got.elapsedMs).toBeLessThan(1_000);
  });

  it("models() times out on a hanging server", async () => {
    fake.setFault({ kind: "hang", scope: "all" });
    const started = performance.now();
    expectParley(await provider().models().catch((e: unknown) => e), "provider_timeout");
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
  });

  it("no user message contains the server's address (but the one saying it could not be reached) or the API key", async () => {
    const faults: Fault["kind"][] = ["500", "503", "400", "401", "429", "404-model", "hang", "stall", "cut", "not-json"];
    const messages: string[] = [];
    for (const fault of faults) {
      fake.setFault(fault);
      const { error } = await collect(provider().chat(request));
      expect(error).toBeInstanceOf(ParleyError);
      messages.push((error as ParleyError).userMessage);
    }
    const wrongKey = "sk-leaky-0123456789";
    messages.push(expectParley((await collect(provider({ apiKey: wrongKey }).chat(request))).error, "provider_auth").userMessage);
    for (const message of messages) {
      expect(message).not.toMatch(/https?:|127\.0\.0\.1|localhost/);
      expect(message).not.toContain(String(fake.port));
      expect(message).not.toContain(API_KEY);
      expect(message).not.toContain(wrongKey);
    }
    expect(new Set(messages).size).toBeGreaterThan(5);
  });

  it("a server that cannot be reached is named by its address, without credentials or query", async () => {
    const port = await unusedPort();
    const baseURL = `http://me:${API_KEY}@127.0.0.1:${port}/v1?api-key=${API_KEY}`;
    const refused = expectParley((await collect(provider({ baseURL }).chat(request))).error, "provider_unavailable");
    expect(refused.userMessage).toBe(
      `Could not reach groq at http://127.0.0.1:${port}/v1 — is the server running? Check OPENAI_BASE_URL and your network.`,
    );
    expect(refused.userMessage).not.toContain(API_KEY);
  });
});
