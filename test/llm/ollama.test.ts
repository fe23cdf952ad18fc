import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { ParleyError, type ErrorCode } from "../../src/core/errors.js";
import { createOllamaProvider } from "../../src/llm/ollama.js";
import type { ChatRequest } from "../../src/llm/types.js";
import { Writable } from "node:stream";
import pino from "pino";
import { windowFromShow } from "../../src/llm/ollama-context.js";
import { countWords, DEFAULT_CONTEXT_LENGTH, startFakeOllama, unusedPort, type FakeOllama, type Fault } from "../fakes/ollama.js";
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

let fake: FakeOllama;

beforeAll(async () => {
  fake = await startFakeOllama({ models: ["llama3.2:latest", "qwen2.5:0.5b"] });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.setFault(null);
  fake.setResponder(null);
  fake.requests.length = 0;
  vi.restoreAllMocks();
});

/** `llm.maxContextTokens`'s default. */
const MAX_CONTEXT_TOKENS = 8192;

function provider(extra: { keepAlive?: string | number; host?: string; timeoutMs?: number } = {}) {
  return createOllamaProvider({
    name: "ollama",
    host: extra.host ?? fake.url,
    timeoutMs: extra.timeoutMs ?? TIMEOUT_MS,
    keepAlive: extra.keepAlive,
    maxContextTokens: MAX_CONTEXT_TOKENS,
  });
}

const request: ChatRequest = {
  model: "llama3.2",
  messages: [
    { role: "system", content: "You are terse." },
    { role: "user", content: "how are you today" },
  ],
};

function expectParley(error: unknown, code: ErrorCode): ParleyError {
  expect(error).toBeInstanceOf(ParleyError);
  expect((error as ParleyError).code).toBe(code);
  return error as ParleyError;
}

function lastChat() {
  const chats = fake.requests.filter((r) => r.path === "/api/chat");
  return chats[chats.length - 1]!;
}

describe("ollama provider: answers", () => {
  it("streams the answer in chunks and ends with the token counts the server reported", async () => {
    const got = await collect(provider().chat(request));

    expect(got.error).toBeUndefined();
    const sent = lastChat().answer!;
    expect(got.text).toBe("Echo: how are you today");
    expect(got.texts).toEqual(sent.chunks);
    expect(got.texts.length).toBeGreaterThan(1);
    expect(got.done).toEqual({
      type: "done",
      model: "llama3.2",
      usage: { promptTokens: sent.promptTokens, completionTokens: sent.completionTokens },
    });
    // The fake's documented rule, so other suites can rely on it.
    expect(sent.promptTokens).toBe(countWords(request.messages));
    expect(sent.completionTokens).toBe(sent.chunks.length);
  });

  it("reports scripted token counts, not its own estimate", async () => {
    fake.setResponder(() => ({ chunks: ["Hel", "lo"], promptTokens: 123, completionTokens: 45 }));
    const got = await collect(provider().chat(request));
    expect(got.text).toBe("Hello");
    expect(got.done?.usage).toEqual({ promptTokens: 123, completionTokens: 45 });
  });

  it("sends the model, role/content messages, streaming, temperature, context window", async () => {
    await collect(provider().chat({ ...request, temperature: 0.3 }));
    const body = lastChat().body as Record<string, unknown>;
    expect(body.model).toBe("llama3.2");
    expect(body.stream).toBe(true);
    expect(body.messages).toEqual(request.messages);
    expect(body.options).toEqual({ temperature: 0.3, num_ctx: MAX_CONTEXT_TOKENS });
    expect(body).not.toHaveProperty("keep_alive");
  });

  it("sends keep_alive from its config, and a request's own keepAlive over it", async () => {
    await collect(provider({ keepAlive: "30m" }).chat(request));
    expect((lastChat().body as Record<string, unknown>).keep_alive).toBe("30m");

    await collect(provider({ keepAlive: "30m" }).chat({ ...request, keepAlive: 0 }));
    expect((lastChat().body as Record<string, unknown>).keep_alive).toBe(0);
    expect(fake.loadedModels()).not.toContain("llama3.2:latest");
  });

  it("times out on silence, not on total duration: slow but steady chunks arrive", async () => {
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c ", "d ", "e"], chunkDelayMs: ALIVE_GAP_MS }));
    const got = await collect(provider({ timeoutMs: ALIVE_TIMEOUT_MS }).chat(request));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("a b c d e");
    expect(got.elapsedMs).toBeGreaterThan(ALIVE_TIMEOUT_MS);
  });

  it("does not count a slow consumer as a silent server", async () => {
    // The server is still sending while the consumer dawdles over each chunk.
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c"], chunkDelayMs: 20 }));
    const got = await collect(provider().chat(request), () => sleep(TIMEOUT_MS * 1.5));
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("a b c");
    expect(got.done?.type).toBe("done");
  });

  it("a thinking model's reasoning chunks (no content) keep the call alive, and are not shown", async () => {
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
    expect(await provider().models()).toEqual(["llama3.2:latest", "qwen2.5:0.5b"]);
    fake.setModels(["mistral"]);
    expect(await provider().models()).toEqual(["mistral:latest"]);
    fake.setModels(["llama3.2:latest", "qwen2.5:0.5b"]);
  });
});

describe("ollama provider: failures", () => {
  it("names the missing model and how to install it", async () => {
    const got = await collect(provider().chat({ ...request, model: "mistral" }));
    const error = expectParley(got.error, "model_not_found");
    expect(error.userMessage).toBe(
      "Model mistral is not installed on the Ollama server. Install it with: ollama pull mistral",
    );
    expect(error.retryable).toBe(false);
  });

  it.each([
    ["before 0.6", 'model "mistral" not found, try pulling it first'],
    ["newer", "model 'mistral' not found"],
  ])("recognises the missing-model answer of Ollama %s", async (_, message) => {
    fake.setFault({ kind: "404-model", message });
    const got = await collect(provider().chat({ ...request, model: "mistral" }));
    const error = expectParley(got.error, "model_not_found");
    expect(error.userMessage).toBe("Model mistral is not installed on the Ollama server. Install it with: ollama pull mistral");
  });

  it("says in Ollama's own words why it failed (a 500 or a 400), without internal addresses", async () => {
    fake.setFault({ kind: "500", message: "model requires more system memory (5.6 GiB) than is available (3.1 GiB)" });
    let error = expectParley((await collect(provider().chat(request))).error, "provider_error");
    expect(error.userMessage).toBe(
      "The ollama model server had an internal error: model requires more system memory (5.6 GiB) than is available (3.1 GiB).",
    );
    fake.setFault({ kind: "500", message: 'POST predict: Post "http://127.0.0.1:41231/completion": EOF' });
    error = expectParley((await collect(provider().chat(request))).error, "provider_error");
    expect(error.userMessage).not.toMatch(/https?:|127\.0\.0\.1/);
    fake.setFault({ kind: "500", message: "<html><body><h1>502 Bad Gateway</h1></body></html>" });
    error = expectParley((await collect(provider().chat(request))).error, "provider_error");
    expect(error.userMessage).toBe("The ollama model server had an internal error.");
    fake.setFault({ kind: "400", message: '"nomic-embed-text" does not support chat' });
    error = expectParley((await collect(provider().chat(request))).error, "provider_bad_request");
    expect(error.userMessage).toBe('The ollama model server refused the request: "nomic-embed-text" does not support chat.');
  });

  it("an error line as the first line of the stream is a provider_error that may be retried", async () => {
    fake.setFault("stream-error-first");
    const got = await collect(provider().chat(request));
    expect(expectParley(got.error, "provider_error").retryable).toBe(true);
    expect(got.text).toBe("");
  });

  it("an error line inside the stream after the first chunk: partial text, then a provider_error that is not retried", async () => {
    fake.setFault("stream-error");
    const got = await collect(provider().chat(request));
    const error = expectParley(got.error, "provider_error");
    expect(error.retryable).toBe(false);
    expect(got.text).toBe(lastChat().answer!.chunks[0]);
    expect(got.done).toBeUndefined();
  });

  it.each<[Fault["kind"], ErrorCode, boolean]>([
    ["500", "provider_error", true],
    ["503", "provider_error", true],
    ["400", "provider_bad_request", false],
    ["401", "provider_auth", false],
  ])("HTTP fault %s becomes %s (retryable: %s)", async (kind, code, retryable) => {
    fake.setFault(kind);
    const error = expectParley((await collect(provider().chat(request))).error, code);
    expect(error.retryable).toBe(retryable);
  });

  it("429 becomes provider_rate_limited with the server's retry-after", async () => {
    fake.setFault({ kind: "429", retryAfterSec: 7 });
    const error = expectParley((await collect(provider().chat(request))).error, "provider_rate_limited");
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(7000);
    expect(error.userMessage).toContain("7 s");
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

  it.each(["text/html; charset=utf-8", "application/x-ndjson"])(
    "a 200 body that is not JSON (%s) is provider_bad_response, and nothing is printed",
    async (contentType) => {
      const printed = [vi.spyOn(console, "log"), vi.spyOn(console, "warn"), vi.spyOn(console, "error")];
      fake.setFault({ kind: "not-json", contentType });
      const got = await collect(provider().chat(request));
      expectParley(got.error, "provider_bad_response");
      for (const spy of printed) expect(spy).not.toHaveBeenCalled();
    },
  );

  it("a refused connection is provider_unavailable (retryable)", async () => {
    const host = `http://127.0.0.1:${await unusedPort()}`;
    const got = await collect(provider({ host }).chat(request));
    const error = expectParley(got.error, "provider_unavailable");
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toContain("ollama");
    expectParley(await provider({ host }).models().catch((e: unknown) => e), "provider_unavailable");
  });

  it("the caller's abort ends the stream with the caller's reason, not a ParleyError", async () => {
    fake.setResponder(() => ({ chunks: ["a ", "b ", "c"], chunkDelayMs: 100 }));
    const controller = new AbortController();
    const reason = new Error("user went away");
    const got = await collect(provider({ timeoutMs: 5_000 }).chat(request, controller.signal), () =>
      controller.abort(reason),
    );
    expect(got.error).toBe(reason);
    expect(got.texts).toEqual(["a "]);
    expect(got.elapsedMs).toBeLessThan(1_000);
  });

  it("the caller's abort while the consumer holds a chunk ends the stream, even with the rest already received", async () => {
    const controller = new AbortController();
    const got = await collect(provider({ timeoutMs: 5_000 }).chat(request, controller.signal), async () => {
      await sleep(50); // the whole answer arrives meanwhile
      controller.abort(new Error("user went away"));
    });
    expect((got.error as Error).message).toBe("user went away");
    expect(got.texts).toEqual([lastChat().answer!.chunks[0]]);
    expect(got.elapsedMs).toBeLessThan(1_000);
  });

  it("models() fails with the same codes: 500, hang, not-json", async () => {
    fake.setFault({ kind: "500", scope: "all" });
    expectParley(await provider().models().catch((e: unknown) => e), "provider_error");
    fake.setFault({ kind: "hang", scope: "all" });
    const started = performance.now();
    expectParley(await provider().models().catch((e: unknown) => e), "provider_timeout");
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    fake.setFault({ kind: "not-json", scope: "all" });
    expectParley(await provider().models().catch((e: unknown) => e), "provider_bad_response");
  });

  it("a one-shot fault hits one call; a sticky one stays until cleared", async () => {
    fake.setFault("500");
    expectParley((await collect(provider().chat(request))).error, "provider_error");
    expect((await collect(provider().chat(request))).error).toBeUndefined();

    fake.setFault({ kind: "500", sticky: true });
    expectParley((await collect(provider().chat(request))).error, "provider_error");
    expectParley((await collect(provider().chat(request))).error, "provider_error");
    fake.setFault(null);
    expect((await collect(provider().chat(request))).error).toBeUndefined();
  });

  it("no user message contains the server's address, but the one saying it could not be reached", async () => {
    const faults: Fault["kind"][] = ["500", "503", "400", "401", "429", "404-model", "hang", "stall", "cut", "not-json"];
    const messages: string[] = [];
    for (const fault of faults) {
      fake.setFault(fault);
      const { error } = await collect(provider().chat(request));
      expect(error).toBeInstanceOf(ParleyError);
      messages.push((error as ParleyError).userMessage);
    }
    for (const message of messages) {
      expect(message).not.toMatch(/https?:|127\.0\.0\.1|localhost/);
      expect(message).not.toContain(String(fake.port));
    }
    expect(new Set(messages).size).toBeGreaterThan(5);
  });

  it("a server that cannot be reached is named by its address, with how to start it or point at another", async () => {
    const port = await unusedPort();
    const refused = expectParley((await collect(provider({ host: `http://127.0.0.1:${port}` }).chat(request))).error, "provider_unavailable");
    expect(refused.userMessage).toBe(
      `Could not reach Ollama at http://127.0.0.1:${port} — is it running? Start it with \`ollama serve\`, or set OLLAMA_HOST.`,
    );
  });
});

describe("ollama provider: context window (num_ctx)", () => {
  let small: FakeOllama;
  beforeAll(async () => {
    small = await startFakeOllama({ models: ["llama3.2:latest", "tinyllama:latest"], contextLengths: { "tinyllama:latest": 2048 } });
  });
  afterAll(async () => {
    await small.close();
  });
  afterEach(() => {
    small.setFault(null);
    small.requests.length = 0;
  });

  const showCalls = () => small.requests.filter((r) => r.path === "/api/show");
  function debugLines(): { log: pino.Logger; lines: string[] } {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString("utf8"));
        done();
      },
    });
    return { log: pino({ level: "debug" }, sink), lines };
  }
  const on = (extra: { contextTokens?: Record<string, number>; maxContextTokens?: number; log?: pino.Logger; timeoutMs?: number } = {}) =>
    createOllamaProvider({ name: "ollama", host: small.url, timeoutMs: TIMEOUT_MS, maxContextTokens: MAX_CONTEXT_TOKENS, ...extra });

  it("sends the model's own length from /api/show, capped at maxContextTokens, asking once per model", async () => {
    const ollama = on();
    for (const model of ["llama3.2", "llama3.2", "tinyllama", "tinyllama"]) {
      expect((await collect(ollama.chat({ ...request, model }))).error).toBeUndefined();
    }
    expect(DEFAULT_CONTEXT_LENGTH).toBeGreaterThan(MAX_CONTEXT_TOKENS);
    expect(small.numCtxSent()).toEqual([MAX_CONTEXT_TOKENS, MAX_CONTEXT_TOKENS, 2048, 2048]);
    expect(showCalls().map((r) => (r.body as { model: string }).model)).toEqual(["llama3.2", "tinyllama"]);
    expect(await ollama.contextTokens!("tinyllama")).toBe(2048);
    expect(showCalls()).toHaveLength(2);
  });

  it("a larger cap lets the model's length through; a configured window wins without asking", async () => {
    await collect(on({ maxContextTokens: 32_768 }).chat(request));
    expect(small.numCtxSent()).toEqual([32_768]);

    small.requests.length = 0;
    const configured = on({ contextTokens: { "llama3.2:latest": 16_384, tinyllama: 1024 } });
    await collect(configured.chat(request));
    await collect(configured.chat({ ...request, model: "tinyllama:latest" }));
    expect(small.numCtxSent()).toEqual([16_384, 1024]);
    expect(showCalls()).toEqual([]);
  });

  it("a failed /api/show leaves num_ctx unset (logged at debug), the answer comes all the same, and the next call asks again", async () => {
    const { log, lines } = debugLines();
    const ollama = on({ log });
    small.setFault({ kind: "500", scope: "all" });
    const first = await collect(ollama.chat(request));
    expect(first.error).toBeUndefined();
    expect(first.text).toBe("Echo: how are you today");
    await collect(ollama.chat(request));
    expect(small.numCtxSent()).toEqual([undefined, MAX_CONTEXT_TOKENS]);
    expect(showCalls()).toHaveLength(2);
    const line = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => /context length/.test(l.msg));
    expect(line?.level).toBe(20);
  });

  it("a /api/show that never answers costs at most the timeout, and the answer's own wait is whole", async () => {
    small.setFault({ kind: "hang", scope: "all" });
    // Chunks half the timeout apart: late only if the lookup's wait were charged to the answer.
    small.setResponder(() => ({ chunks: ["slow ", "but ", "steady"], chunkDelayMs: ALIVE_TIMEOUT_MS / 2 }));
    const got = await collect(on({ timeoutMs: ALIVE_TIMEOUT_MS }).chat(request));
    small.setResponder(null);
    expect(got.error).toBeUndefined();
    expect(got.text).toBe("slow but steady");
    expect(small.numCtxSent()).toEqual([undefined]);
    // The lookup's timeout, then three chunks; had the lookup used the answer's timer, the first chunk would be late.
    expect(got.elapsedMs).toBeGreaterThanOrEqual(ALIVE_TIMEOUT_MS - 20);
    expect(got.elapsedMs).toBeLessThan(ALIVE_TIMEOUT_MS + 3 * (ALIVE_TIMEOUT_MS / 2) + MARGIN_MS);
  });

  it("reads the window a Modelfile sets before the trained length, and nothing from an answer without either", () => {
    const modelInfo = { "general.architecture": "qwen2", "qwen2.context_length": 32_768 };
    expect(windowFromShow({ parameters: "num_ctx                        4096\nstop \"<|im_end|>\"", model_info: modelInfo })).toEqual({
      tokens: 4096,
      from: "modelfile",
    });
    expect(windowFromShow({ parameters: 'stop "<|im_end|>"', model_info: modelInfo })).toEqual({ tokens: 32_768, from: "model" });
    expect(windowFromShow({ parameters: "", model_info: {} })).toBeUndefined();
    expect(windowFromShow({ model_info: { "general.architecture": "llama", "llama.context_length": "big" } })).toBeUndefined();
    expect(windowFromShow("404 page not found")).toBeUndefined();
  });
});
