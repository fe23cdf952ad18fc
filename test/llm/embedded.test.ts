/**
 * The embedded provider with the real node-llama-cpp and a tiny model the
 * tests write themselves (test/support/tiny-gguf.ts). Every provider here
 * shares one loaded model (the provider loads each file once), so the
 * model and its chat wrapper are loaded once for the file.
 */
import { mkdtemp, mkdir, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParleyError, stoppedBy, type ErrorCode } from "../../src/core/errors.js";
import { createEmbeddedProvider, type EmbeddedProvider, type EmbeddedProviderOptions } from "../../src/llm/embedded.js";
import { acquireModel, releaseModel } from "../../src/llm/embedded-model.js";
import type { ChatDelta, ChatRequest } from "../../src/llm/types.js";
import { tinyGguf, tinyVocab, writeTinyGguf } from "../support/tiny-gguf.js";
import { collect } from "./collect.js";

let dir: string;
let modelFile: string;
/** The provider most tests share: one sequence, short answers. */
let main: EmbeddedProvider;
const made: EmbeddedProvider[] = [];

const TIMEOUT_MS = 5_000;
/** Long enough that an answer is still being written while a test looks at it (about 1–2 ms per token here). */
const LONG_ANSWER_TOKENS = 400;

function provider(extra: Partial<EmbeddedProviderOptions> = {}): EmbeddedProvider {
  // One thread: the test files run side by side on two cores, and llama.cpp's threads wait by spinning, so two
  // threads on a busy machine are many times slower than one.
  const p = createEmbeddedProvider({ name: "local", file: modelFile, timeoutMs: TIMEOUT_MS, maxTokens: 24, threads: 1, ...extra });
  made.push(p);
  return p;
}

const request: ChatRequest = {
  model: "tiny",
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

/** Reads `stream` until its first text delta, leaving the rest unread. */
async function firstText(iterator: AsyncIterator<ChatDelta>): Promise<string> {
  const step = await iterator.next();
  if (step.done || step.value.type !== "text") throw new Error("expected a text delta first");
  return step.value.text;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "parley-embedded-"));
  modelFile = path.join(dir, "tiny.gguf");
  await writeTinyGguf(modelFile);
  main = provider();
  // Loads the runtime and the model once for the whole file.
  await collect(main.chat(request));
});

afterAll(async () => {
  await Promise.all(made.map((p) => p.close()));
  await rm(dir, { recursive: true, force: true });
});

describe("the tiny GGUF model", () => {
  it("is a GGUF v3 file node-llama-cpp's own reader reads back: llama metadata, vocabulary, aligned tensors", async () => {
    const bytes = tinyGguf({ seed: 7 });
    const file = path.join(dir, "read-back.gguf");
    await writeFile(file, bytes);
    const info = await readGgufFileInfo(file);
    const vocab = tinyVocab();

    expect(bytes.length).toBeLessThan(3_000_000);
    expect(info.version).toBe(3);
    const meta = info.metadata as any;
    expect(meta.general.architecture).toBe("llama");
    expect(meta.llama).toMatchObject({
      context_length: 1024,
      embedding_length: 64,
      block_count: 2,
      feed_forward_length: 128,
      attention: { head_count: 4, head_count_kv: 2 },
      rope: { dimension_count: 16 },
    });
    expect(meta.llama.attention.layer_norm_rms_epsilon).toBeCloseTo(1e-5);
    expect(meta.tokenizer.ggml.model).toBe("llama");
    expect(meta.tokenizer.ggml.tokens).toEqual(vocab.tokens);
    expect(meta.tokenizer.ggml.token_type).toEqual(vocab.types);
    expect(meta.tokenizer.chat_template).toContain("<|im_start|>");

    const tensors = new Map(info.tensorInfo!.map((t) => [t.name, t]));
    expect(tensors.size).toBe(3 + 2 * 9);
    // ne[0] first: a row of the embedding is one token's vector.
    expect(tensors.get("token_embd.weight")!.dimensions).toEqual([64, vocab.tokens.length]);
    expect(tensors.get("blk.1.attn_k.weight")!.dimensions).toEqual([64, 32]);
    expect(tensors.get("blk.0.ffn_down.weight")!.dimensions).toEqual([128, 64]);
    for (const t of tensors.values()) expect(Number(t.offset) % 32).toBe(0);
    // The data section starts aligned after the tensor infos and ends with the last tensor: nothing missing, nothing extra.
    const alignUp = (n: number) => Math.ceil(n / 32) * 32;
    const last = [...tensors.values()].sort((a, b) => Number(b.offset) - Number(a.offset))[0]!;
    const lastBytes = last.dimensions.reduce((a: number, b) => a * Number(b), 1) * 4;
    expect(bytes.length).toBe(alignUp(info.infoEndOffset!) + Number(last.offset) + alignUp(lastBytes));
  });

  it("the same seed writes the same bytes, another seed other weights", () => {
    expect(tinyGguf({ seed: 3 }).equals(tinyGguf({ seed: 3 }))).toBe(true);
    expect(tinyGguf({ seed: 3 }).equals(tinyGguf({ seed: 4 }))).toBe(false);
  });
});

describe("embedded provider: answers", () => {
  it("streams the answer in several deltas and ends with done and the tokens the model generated", async () => {
    const got = await collect(main.chat(request));

    expect(got.error).toBeUndefined();
    expect(got.texts.length).toBeGreaterThan(1);
    expect(got.text.length).toBeGreaterThan(0);
    expect(got.done?.model).toBe("tiny");
    const usage = got.done!.usage!;
    expect(usage.promptTokens).toBeGreaterThan(0);

    // The same prompt straight through node-llama-cpp, greedy like the provider: the same tokens.
    const shared = await acquireModel(modelFile);
    try {
      const context = await shared.model.createContext({ threads: 1 });
      try {
        const session = new shared.lib.LlamaChat({ contextSequence: context.getSequence(), chatWrapper: shared.chatWrapper });
        let tokens = 0;
        const direct = await session.generateResponse(
          [
            { type: "system", text: "You are terse." },
            { type: "user", text: "how are you today" },
            { type: "model", response: [] },
          ],
          { maxTokens: 24, onToken: (t) => (tokens += t.length) },
        );
        expect(direct.metadata.stopReason).toBe("maxTokens");
        expect(direct.response).toBe(got.text);
        expect(usage.completionTokens).toBe(tokens);
        expect(usage.completionTokens).toBe(24);
      } finally {
        await context.dispose();
      }
    } finally {
      await releaseModel(modelFile);
    }
  });

  it("counts the rendered prompt: system prompt and history are in it, token for token", async () => {
    const tokens = async (req: ChatRequest) => (await collect(main.chat(req))).done!.usage!.promptTokens;
    const plain = await tokens(request);
    // The vocabulary is one character per token: ten more letters are ten more tokens.
    const longerSystem = await tokens({ ...request, messages: [{ role: "system", content: "You are terse.abcdefghij" }, request.messages[1]!] });
    expect(longerSystem - plain).toBe(10);
    const withHistory = await tokens({
      ...request,
      messages: [request.messages[0]!, { role: "user", content: "hi" }, { role: "assistant", content: "yo" }, request.messages[1]!],
    });
    // Two more turns: their texts and their ChatML markers.
    expect(withHistory - plain).toBeGreaterThan(4);
  });

  it("caps an answer at maxTokens", async () => {
    const short = await collect(provider({ maxTokens: 5 }).chat(request));
    const long = await collect(provider({ maxTokens: 60 }).chat(request));
    expect(short.done?.usage?.completionTokens).toBe(5);
    expect(long.done?.usage?.completionTokens).toBe(60);
    expect(long.text.startsWith(short.text)).toBe(true);
    expect(long.text.length).toBeGreaterThan(short.text.length);
  });

  it("ends an answer where the context ends, when maxTokens would go past it", async () => {
    // The tiny model's context is 1,024 tokens and it never stops by itself: without the cap the answer would
    // run into node-llama-cpp's context shift, which re-reads the conversation for every further token.
    const p = provider({ maxTokens: 5_000, contextTokens: 256 });
    const answer = await collect(p.chat(request));
    expect(answer.error).toBeUndefined();
    const { promptTokens, completionTokens } = answer.done!.usage!;
    expect(completionTokens).toBeGreaterThan(100);
    expect(promptTokens + completionTokens).toBeLessThanOrEqual(256);
  });

  it("starts every answer from a fresh conversation: another channel's answer in between changes nothing", async () => {
    const other: ChatRequest = { model: "tiny", messages: [{ role: "user", content: "something else entirely, from another channel" }] };
    const first = await collect(main.chat(request));
    await collect(main.chat(other));
    const again = await collect(main.chat(request));
    expect(again.text).toBe(first.text);
    expect(again.done?.usage).toEqual(first.done?.usage);
  });

  it("names its one model after the file; a request for another model is refused", async () => {
    expect(await main.models()).toEqual(["tiny"]);
    const got = await collect(main.chat({ ...request, model: "llama3.2" }));
    expect(expectParley(got.error, "model_not_found").userMessage).toContain("tiny");
  });

  it("describes itself for /status: file, size, context, answers served, median latency", async () => {
    const p = provider();
    const before = await p.describe();
    expect(before).toMatchObject({ provider: "local", model: "tiny", file: modelFile, loaded: false, answers: 0, sequences: 1 });
    expect(before.sizeBytes).toBe((await stat(modelFile)).size);
    expect(before.medianAnswerMs).toBeUndefined();

    await collect(p.chat(request));
    await collect(p.chat(request));
    const after = await p.describe();
    expect(after).toMatchObject({ loaded: true, answers: 2, contextTokens: 1024, trainContextTokens: 1024, running: 0, waiting: 0 });
    expect(after.medianAnswerMs).toBeGreaterThan(0);
    expect(after.medianFirstTokenMs).toBeGreaterThan(0);
  });
});

describe("embedded provider: stopping", () => {
  it("stops mid-answer when the caller aborts, with the caller's reason, and frees the sequence", async () => {
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS });
    const controller = new AbortController();
    const reason = stoppedBy.user();
    const got = await collect(p.chat(request, controller.signal), () => controller.abort(reason));
    expect(got.error).toBe(reason);
    expect(got.texts.length).toBeLessThan(LONG_ANSWER_TOKENS / 2);
    expect(got.done).toBeUndefined();
    expect((await p.describe()).running).toBe(0);
    // The next call gets the sequence at once.
    expect((await collect(p.chat(request))).done?.usage?.completionTokens).toBe(LONG_ANSWER_TOKENS);
  });

  it("a consumer that stops reading stops the generation: the sequence is free when its loop ends", async () => {
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS });
    let seen = 0;
    for await (const delta of p.chat(request)) {
      if (delta.type === "text" && ++seen === 2) break;
    }
    expect(await p.describe()).toMatchObject({ running: 0, answers: 0 });
  });

  it("an abort before the call starts rejects at once with the caller's reason", async () => {
    const reason = stoppedBy.restart();
    const got = await collect(main.chat(request, AbortSignal.abort(reason)));
    expect(got.error).toBe(reason);
    expect(got.texts).toEqual([]);
  });

  it("fails with provider_timeout when the model is silent longer than timeoutMs", async () => {
    // A prompt that takes the model a while to read, against a 1 ms silence timeout.
    const long = "abcdefghij".repeat(80);
    const got = await collect(provider({ timeoutMs: 1 }).chat({ model: "tiny", messages: [{ role: "user", content: long }] }));
    const error = expectParley(got.error, "provider_timeout");
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toBe("The embedded model tiny did not answer in time.");
    expect(got.texts).toEqual([]);
  });

  it("times out on silence, not on total duration: a long answer of steady tokens completes", async () => {
    const got = await collect(provider({ timeoutMs: 150, maxTokens: LONG_ANSWER_TOKENS }).chat(request));
    expect(got.error).toBeUndefined();
    expect(got.done?.usage?.completionTokens).toBe(LONG_ANSWER_TOKENS);
    expect(got.elapsedMs).toBeGreaterThan(150);
  });

  it("does not count a slow consumer as a silent model", async () => {
    const got = await collect(provider({ timeoutMs: 200, maxTokens: 3 }).chat(request), () => sleep(300));
    expect(got.error).toBeUndefined();
    expect(got.done?.usage?.completionTokens).toBe(3);
  });

  it("close() stops a running answer, refuses new calls and frees its context", async () => {
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS });
    const stream = p.chat(request)[Symbol.asyncIterator]();
    await firstText(stream);
    await p.close();
    const rest = await collect({ [Symbol.asyncIterator]: () => stream });
    expectParley(rest.error, "stream_cut");
    expect(rest.texts.length).toBeLessThan(LONG_ANSWER_TOKENS / 2);
    expect((await p.describe()).loaded).toBe(false);
    expectParley((await collect(p.chat(request))).error, "provider_unavailable");
  });
});

describe("embedded provider: one answer per sequence", () => {
  it("with one sequence, two calls run one after the other", async () => {
    const p = provider({ maxTokens: 40 });
    const events: string[] = [];
    const run = (name: string) =>
      collect(p.chat(request), (d) => {
        events.push(`${name}:${d.type}`);
      });
    const [a, b] = await Promise.all([run("a"), run("b")]);
    expect(a.error).toBeUndefined();
    expect(b.error).toBeUndefined();
    expect(b.text).toBe(a.text);
    // All of a (40 tokens, then done) before anything of b.
    const firstOfB = events.findIndex((e) => e.startsWith("b:"));
    expect(events.indexOf("a:done")).toBeLessThan(firstOfB);
    expect(events.slice(firstOfB).every((e) => e.startsWith("b:"))).toBe(true);
  });

  it("with two sequences, two calls run at once", async () => {
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS, sequences: 2 });
    const a = p.chat(request)[Symbol.asyncIterator]();
    const b = p.chat(request)[Symbol.asyncIterator]();
    await Promise.all([firstText(a), firstText(b)]);
    expect(await p.describe()).toMatchObject({ running: 2, waiting: 0 });
    await Promise.all([a.return?.(), b.return?.()]);
  });

  it("a call that finds the line full fails at once as busy (retryable), while the one in line is answered later", async () => {
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS, maxQueued: 1 });
    const a = p.chat(request)[Symbol.asyncIterator]();
    await firstText(a);
    const b = collect(p.chat(request));
    await sleep(10);
    const started = performance.now();
    const c = await collect(p.chat(request));
    const error = expectParley(c.error, "provider_unavailable");
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toBe("The embedded model tiny is busy with other answers.");
    expect(performance.now() - started).toBeLessThan(200);
    expect(await p.describe()).toMatchObject({ running: 1, waiting: 1 });

    await a.return?.();
    const answered = await b;
    expect(answered.error).toBeUndefined();
    expect(answered.done?.usage?.completionTokens).toBe(LONG_ANSWER_TOKENS);
  });

  it("with a short maxWaitMs, calls that would wait behind a running answer fail at once", async () => {
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS, maxWaitMs: 50 });
    // One answer timed: now the provider knows how long an answer takes (far more than 50 ms).
    await collect(p.chat(request));
    expect((await p.describe()).medianAnswerMs).toBeGreaterThan(100);

    const a = p.chat(request)[Symbol.asyncIterator]();
    await firstText(a);
    const started = performance.now();
    const [second, third] = await Promise.all([collect(p.chat(request)), collect(p.chat(request))]);
    // At once: long before the running answer could end (a busy machine gets some slack).
    expect(performance.now() - started).toBeLessThan(200);
    for (const refused of [second, third]) {
      const error = expectParley(refused.error, "provider_unavailable");
      expect(error.retryable).toBe(true);
      // Refused for the wait it would have had, not after waiting 50 ms.
      expect(error.message).toContain("expected wait");
    }
    expect(await p.describe()).toMatchObject({ running: 1, waiting: 0 });
    await a.return?.();
  });

  it("a call still waiting after maxWaitMs fails as busy then, not when the running answer ends", async () => {
    // A fresh provider has timed no answer, so it cannot refuse at once: the call waits its maxWaitMs.
    const p = provider({ maxTokens: LONG_ANSWER_TOKENS, maxWaitMs: 100 });
    const a = p.chat(request)[Symbol.asyncIterator]();
    await firstText(a);
    const b = await collect(p.chat(request));
    expect(expectParley(b.error, "provider_unavailable").message).toContain("maxWaitMs 100");
    expect(b.elapsedMs).toBeGreaterThanOrEqual(95);
    expect((await p.describe()).running).toBe(1);
    await a.return?.();
  });
});

describe("embedded provider: model files it cannot run", () => {
  const ask = (file: string) => collect(provider({ file }).chat({ model: "", messages: [{ role: "user", content: "hi" }] }));

  it("a missing file: model_not_found naming the path", async () => {
    const file = path.join(dir, "absent.gguf");
    const error = expectParley((await ask(file)).error, "model_not_found");
    expect(error.userMessage).toBe(`The embedded model file ${file} does not exist.`);
  });

  it("a folder: model_not_found naming the path", async () => {
    const folder = path.join(dir, "folder.gguf");
    await mkdir(folder, { recursive: true });
    expect(expectParley((await ask(folder)).error, "model_not_found").userMessage).toBe(`The embedded model file ${folder} is not a file.`);
  });

  it.each([
    ["truncated in its tensor data", (b: Buffer) => b.subarray(0, b.length - 1_000)],
    ["truncated in its metadata", (b: Buffer) => b.subarray(0, 3_000)],
    ["not GGUF at all", () => Buffer.from("just some text, not a model\n".repeat(100))],
    ["empty", () => Buffer.alloc(0)],
  ])("a file %s is refused with a clear message naming the path", async (what, corrupt) => {
    const file = path.join(dir, `broken-${what.replace(/\W+/g, "-")}.gguf`);
    await writeFile(file, corrupt(tinyGguf()));
    const error = expectParley((await ask(file)).error, "provider_bad_response");
    expect(error.userMessage).toContain(`The embedded model file ${file} could not be loaded`);
    expect(error.userMessage).not.toMatch(/\n|\bat \S+:\d+/);
    expect(error.retryable).toBe(false);
  });

  it("a failed load is not kept: once the file is fixed, the next call answers", async () => {
    const file = path.join(dir, "fixed-later.gguf");
    await writeFile(file, tinyGguf().subarray(0, 5_000));
    const p = provider({ file });
    expectParley((await collect(p.chat({ ...request, model: "fixed-later" }))).error, "provider_bad_response");
    await writeTinyGguf(file);
    const got = await collect(p.chat({ ...request, model: "fixed-later" }));
    expect(got.error).toBeUndefined();
    expect(got.done?.model).toBe("fixed-later");
  });
});
