/**
 * Every failure of a model server, through the whole bot (dispatcher,
 * chat command, router, the real ollama and openai clients) against the
 * wire-level fakes: each ends in a retried answer, a fallback answer or one
 * clear reply, and the next message is served normally.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, unusedPort, type FakeOllama, type Fault } from "../fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../fakes/openai.js";
import type { TestApp } from "../support/app-harness.js";
import { chatCalls, fastLlm, startRouted, timed } from "./support.js";

const KEY = "sk-test-0123456789abcdef";
const env = { BACKUP_KEY: KEY };
/** Scheduling slack on a busy 2-core machine. */
const SLACK_MS = 700;

let ollama: FakeOllama;
let openai: FakeOpenAi;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
  openai = await startFakeOpenAi({ apiKey: KEY, models: ["gpt-4o-mini"] });
});
afterAll(async () => {
  await Promise.all([ollama.close(), openai.close()]);
});
beforeEach(() => {
  for (const fake of [ollama, openai]) {
    fake.setFault(null);
    fake.setResponder(null);
    fake.requests.length = 0;
  }
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

type Kind = "ollama" | "openai";

function providerOf(kind: Kind, baseUrl?: string) {
  return kind === "ollama"
    ? { kind: "ollama", baseUrl: baseUrl ?? ollama.url, models: ["llama3.2"] }
    : { kind: "openai", baseUrl: baseUrl ?? openai.baseURL, apiKeyEnv: "BACKUP_KEY", models: ["gpt-4o-mini"] };
}
const modelOf = (kind: Kind) => (kind === "ollama" ? "llama3.2" : "gpt-4o-mini");
const fakeOf = (kind: Kind) => (kind === "ollama" ? ollama : openai);

/** The bot with one provider, `primary`, of this kind and no fallback. */
function alone(kind: Kind, baseUrl?: string) {
  return startRouted({ providers: { primary: providerOf(kind, baseUrl) }, default: `primary/${modelOf(kind)}` }, env);
}

/** A private chat: the model sees the text without the speaker's name. */
const say = (text: string) => bot!.say(text, { private: true });

/** The next message after a failure is answered as usual, and the failed one left no trace in its prompt. */
async function nextIsServed(kind: Kind, failed: string): Promise<void> {
  const fake = fakeOf(kind);
  fake.setFault(null);
  expect(await say("and now?")).toBe("Echo: and now?");
  const prompt = JSON.stringify(chatCalls(fake.requests).at(-1)!.body);
  expect(prompt).toContain("and now?");
  expect(prompt).not.toContain(failed);
}

describe.each(["ollama", "openai"] as const)("%s alone: retried answers", (kind) => {
  it.each([
    ["500", { kind: "500" }],
    ["503", { kind: "503" }],
    ["429 with retry-after", { kind: "429", retryAfterSec: 0.3 }],
    ["hang past the timeout", { kind: "hang" }],
    ["not-JSON body", { kind: "not-json" }],
  ] satisfies Array<[string, Fault]>)("a one-shot %s is retried and answered, with nothing to say about it", async (name, fault) => {
    bot = await alone(kind);
    fakeOf(kind).setFault(fault);
    const { value: answer, ms } = await timed(() => say("retry me"));
    if (fault.kind === "not-json") {
      // Not retryable: a server that sends HTML is misconfigured, not busy.
      expect(answer).toMatch(/sent an answer that could not be read/);
      expect(chatCalls(fakeOf(kind).requests)).toHaveLength(1);
      return nextIsServed(kind, "retry me");
    }
    expect(answer).toBe("Echo: retry me");
    expect(chatCalls(fakeOf(kind).requests)).toHaveLength(2);
    if (fault.kind === "429") expect(ms).toBeGreaterThanOrEqual(300);
    if (fault.kind === "hang") expect(ms).toBeGreaterThanOrEqual(fastLlm.timeoutMs);
    expect(name).toBeTruthy();
  });
});

describe.each(["ollama", "openai"] as const)("%s alone: one clear reply", (kind) => {
  it.each([
    ["sticky 500", { kind: "500", sticky: true }, /had an internal error/, 2],
    ["sticky 429", { kind: "429", sticky: true, retryAfterSec: 0.05 }, /rate limiting us; try again in 1 s/, 2],
    ["sticky hang", { kind: "hang", sticky: true }, /did not answer in time/, 2],
    ["400", { kind: "400" }, /refused the request/, 1],
    ["401", { kind: "401" }, /refused our API key/, 1],
  ] satisfies Array<[string, Fault, RegExp, number]>)("%s", async (_name, fault, expected, calls) => {
    bot = await alone(kind);
    fakeOf(kind).setFault(fault);
    const answer = await say("this fails");
    expect(answer).toMatch(expected);
    expect(answer.split("\n")).toHaveLength(1);
    expect(answer).not.toContain("http");
    expect(chatCalls(fakeOf(kind).requests)).toHaveLength(calls);
    await nextIsServed(kind, "this fails");
  });

  it("a model that does not exist: says which, and how to get it (Ollama), without retrying", async () => {
    bot = await alone(kind);
    fakeOf(kind).setFault("404-model");
    const answer = await say("this fails");
    expect(answer).toBe(
      kind === "ollama"
        ? "Model llama3.2 is not installed on the Ollama server. Install it with: ollama pull llama3.2"
        : "Model gpt-4o-mini does not exist on the primary model server.",
    );
    expect(chatCalls(fakeOf(kind).requests)).toHaveLength(1);
    await nextIsServed(kind, "this fails");
  });

  it("a refused connection is retried, then said plainly", async () => {
    const port = await unusedPort();
    const base = kind === "ollama" ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1`;
    bot = await alone(kind, base);
    const { value: answer, ms } = await timed(() => say("anyone?"));
    expect(answer).toBe(
      kind === "ollama"
        ? `Could not reach Ollama (primary) at ${base} — is it running? Start it with \`ollama serve\`, or set llm.providers.primary.baseUrl.`
        : `Could not reach primary at ${base} — is the server running? Check llm.providers.primary.baseUrl and your network.`,
    );
    expect(ms).toBeLessThan(SLACK_MS + 1000);
  });

  it.each([
    ["cut after the first chunk", "cut", /answer cut off: the answer from the primary model server stopped before its end/],
    ["silent after the first chunk", "stall", /answer cut off: the primary model server did not answer in time/],
  ] as const)("a stream %s keeps what arrived, marks it, is not retried and not stored", async (_name, faultKind, mark) => {
    bot = await alone(kind);
    fakeOf(kind).setResponder(() => ({ chunks: ["Partial ", "answer ", "that never ends"] }));
    fakeOf(kind).setFault(faultKind);
    const answer = await say("tell me a story");
    expect(answer.startsWith("Partial …\n\n*(")).toBe(true);
    expect(answer).toMatch(mark);
    expect(answer).not.toContain("that never ends");
    expect(chatCalls(fakeOf(kind).requests)).toHaveLength(1);
    fakeOf(kind).setResponder(null);
    await nextIsServed(kind, "tell me a story");
    expect(JSON.stringify(chatCalls(fakeOf(kind).requests).at(-1)!.body)).not.toContain("Partial");
  });
});

describe("a fallback chain answers when the first model cannot", () => {
  /** primary: Ollama; backup: the OpenAI-compatible fake. */
  function chained(primaryUrl?: string, llm: Record<string, unknown> = {}) {
    return startRouted(
      {
        providers: { primary: providerOf("ollama", primaryUrl), backup: providerOf("openai") },
        default: "primary/llama3.2",
        fallback: ["backup/gpt-4o-mini"],
        ...llm,
      },
      env,
    );
  }
  const note = (reason: string) => `\n\n*(answered by backup/gpt-4o-mini because primary/llama3.2 ${reason})*`;

  it.each([
    ["sticky 500", { kind: "500", sticky: true }, "was unavailable", 2],
    ["sticky hang", { kind: "hang", sticky: true }, "was unavailable", 2],
    ["404 model", { kind: "404-model" }, "was not found", 1],
    ["401", { kind: "401" }, "refused our API key", 1],
    ["400", { kind: "400" }, "refused the request", 1],
    ["not-JSON body", { kind: "not-json" }, "sent an unreadable answer", 1],
  ] satisfies Array<[string, Fault, string, number]>)("after a %s, with a note saying so", async (_name, fault, reason, primaryCalls) => {
    bot = await chained();
    ollama.setFault(fault);
    expect(await say("who answers?")).toBe(`Echo: who answers?${note(reason)}`);
    expect(chatCalls(ollama.requests)).toHaveLength(primaryCalls);
    expect(chatCalls(openai.requests)).toHaveLength(1);
    // The next message goes to the first model again, and the fallback's answer (without the note) is in its history.
    ollama.setFault(null);
    expect(await say("and you?")).toBe("Echo: and you?");
    const prompt = (chatCalls(ollama.requests).at(-1)!.body as { messages: Array<{ content: string }> }).messages.map((m) => m.content);
    expect(prompt.slice(-3)).toEqual(["who answers?", "Echo: who answers?", "and you?"]);
  });

  it("after a refused connection", async () => {
    bot = await chained(`http://127.0.0.1:${await unusedPort()}`);
    expect(await say("hello")).toBe(`Echo: hello${note("was unavailable")}`);
  });

  it("at once when a 429 asks for longer than retries may wait, and skips the provider until then", async () => {
    bot = await chained();
    ollama.setFault({ kind: "429", retryAfterSec: 30 });
    const first = await timed(() => say("quick"));
    expect(first.value).toBe(`Echo: quick${note("was rate limited")}`);
    expect(first.ms).toBeLessThan(fastLlm.retry.maxDelayMs);
    expect(chatCalls(ollama.requests)).toHaveLength(1);
    // The server asked for 30 s: the next message does not knock again.
    expect(await say("again")).toBe(`Echo: again${note("was rate limited")}`);
    expect(chatCalls(ollama.requests)).toHaveLength(1);
    expect(chatCalls(openai.requests)).toHaveLength(2);
  });

  it("never after text was shown: a cut stream is not replayed by another model", async () => {
    bot = await chained();
    ollama.setResponder(() => ({ chunks: ["Half ", "an answer"] }));
    ollama.setFault("cut");
    const answer = await say("go");
    expect(answer).toMatch(/^Half …\n\n\*\(answer cut off/);
    expect(chatCalls(openai.requests)).toHaveLength(0);
  });

  it("walks the whole chain, and says what each model did when none could answer", async () => {
    bot = await startRouted(
      {
        providers: { primary: providerOf("ollama"), backup: providerOf("openai") },
        default: "primary/llama3.2",
        fallback: ["primary/llama3.2", "backup/gpt-4o-mini", "backup/gpt-4o"],
      },
      env,
    );
    ollama.setFault({ kind: "500", sticky: true });
    openai.setFault({ kind: "401", sticky: true });
    const answer = await say("anyone?");
    expect(answer).toBe(
      [
        "No model could answer:",
        "• primary/llama3.2: The primary model server had an internal error: llama runner process has terminated: exit status 2.",
        "• backup/gpt-4o-mini: The backup model server refused our API key (missing or wrong).",
        "• backup/gpt-4o: The backup model server refused our API key (missing or wrong).",
      ].join("\n"),
    );
    // The default is not tried twice because the chain names it again.
    expect(chatCalls(ollama.requests)).toHaveLength(2);
    expect(chatCalls(openai.requests)).toHaveLength(2);
    ollama.setFault(null);
    openai.setFault(null);
    expect(await say("now?")).toBe("Echo: now?");
  });

  it("records the tokens the fallback reported, under the model that answered", async () => {
    bot = await chained();
    ollama.setFault("404-model");
    openai.setResponder(() => ({ text: "from backup", promptTokens: 77, completionTokens: 11 }));
    await say("count");
    const usage = bot.app.services.usage;
    expect(await usage.userToday("telegram:1001")).toMatchObject({ promptTokens: 77, completionTokens: 11 });
    expect(await usage.modelsToday()).toEqual([{ model: "backup/gpt-4o-mini", usage: { requests: 1, commands: 0, promptTokens: 77, completionTokens: 11, cost: 0 } }]);
  });
});

describe("OpenAI-compatible servers that differ from OpenAI in small ways", () => {
  it.each([
    ["no role in the first delta", { noRoleInFirstDelta: true }, true],
    ["usage on the last choice chunk", { usageInLastChoiceChunk: true }, true],
    ["extra fields everywhere", { extraFields: true }, true],
    ["stream_options ignored (no usage at all)", { ignoreStreamOptions: true }, false],
    ["all of them at once", { noRoleInFirstDelta: true, usageInLastChoiceChunk: true, extraFields: true }, true],
  ] as const)("%s: answered, with the server's own token counts when it sends them", async (_name, variants, counted) => {
    openai.setVariants(variants);
    try {
      bot = await alone("openai");
      openai.setResponder(() => ({ text: "compatible answer here", promptTokens: 321, completionTokens: 12 }));
      expect(await say("hi")).toBe("compatible answer here");
      const today = await bot.app.services.usage.userToday("telegram:1001");
      if (counted) expect(today).toMatchObject({ promptTokens: 321, completionTokens: 12 });
      else {
        // Nothing reported: an estimate is recorded rather than nothing.
        expect(today.promptTokens).toBeGreaterThan(0);
        expect(today.promptTokens).not.toBe(321);
      }
      expect(await say("again")).toBe("compatible answer here");
    } finally {
      openai.setVariants({});
    }
  });
});
