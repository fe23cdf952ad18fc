import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { createConsoleAdapter, type ConsoleAdapter } from "../../src/adapters/console/index.js";
import type { AdapterContext } from "../../src/core/adapter.js";
import { isParleyError } from "../../src/core/errors.js";
import type { IncomingMessage, Reply } from "../../src/core/types.js";
import { createLogger } from "../../src/log.js";
import { fakeTerminal, type FakeTerminal } from "./terminal-screen.js";

type Handler = (message: IncomingMessage, reply: Reply) => Promise<void>;

/** Words every `everyMs` until the reply's signal aborts, then the signal's reason, as the model call does. */
async function* endlessAnswer(signal: AbortSignal | undefined, everyMs = 20): AsyncGenerator<string> {
  for (let i = 1; ; i++) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, everyMs);
      signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
    if (signal?.aborted) throw signal.reason;
    yield `word${i} `;
  }
}

async function* answerOf(parts: string[], firstAfter: Promise<void>): AsyncGenerator<string> {
  await firstAfter;
  for (const part of parts) yield part;
}

describe("console adapter in a terminal", () => {
  let term: FakeTerminal;
  let adapter: ConsoleAdapter;
  let quits: number;
  const failures: unknown[] = [];

  async function start(handler: Handler): Promise<void> {
    term = fakeTerminal();
    quits = 0;
    adapter = createConsoleAdapter({ input: term.input, output: term.output, interactive: true, color: false, onQuit: () => quits++ });
    let queue = Promise.resolve();
    const ctx = {
      // Like the dispatcher: one message of the channel at a time, and never rejects.
      dispatch: (message: IncomingMessage, reply: Reply) =>
        (queue = queue.then(() => handler(message, reply)).catch((e: unknown) => void failures.push(e))),
      commands: [],
      complete: async () => [],
      log: pino({ level: "silent" }),
      joined: () => ({ stay: true }),
    } as unknown as AdapterContext;
    await adapter.start(ctx);
    await term.waitFor((s) => s.endsWith("you>"));
  }

  afterEach(async () => {
    failures.length = 0;
    await adapter?.stop();
  });

  it("shows a thinking mark after Enter until the first words, then the answer, then the prompt", async () => {
    let firstWords!: () => void;
    await start(async (_message, reply) => {
      reply.typing();
      await reply.stream(answerOf(["Hello ", "there."], new Promise((r) => (firstWords = r))));
    });
    term.type("hi\r");
    let screen = await term.waitFor((s) => s.includes("thinking…"));
    expect(screen.split("\n").slice(-2)).toEqual(["you> hi", "thinking…"]);
    firstWords();
    screen = await term.waitFor((s) => s.endsWith("you>"));
    expect(screen).not.toContain("thinking");
    expect(screen.split("\n").slice(-3)).toEqual(["you> hi", "Hello there.", "you>"]);
  });

  it("erases the thinking mark when the answer is a plain message", async () => {
    await start(async (_message, reply) => {
      reply.typing();
      await new Promise((r) => setTimeout(r, 30));
      await reply.send("Could not reach Ollama at http://127.0.0.1:1 — is it running?");
    });
    term.type("hi\r");
    const screen = await term.waitFor((s) => s.endsWith("you>") && s.includes("Could not"));
    expect(screen.split("\n").slice(-3)).toEqual(["you> hi", "Could not reach Ollama at http://127.0.0.1:1 — is it running?", "you>"]);
  });

  it("Ctrl-C stops the answer being written, marks it, and the next question is answered normally", async () => {
    const signals: (AbortSignal | undefined)[] = [];
    let outcome: unknown;
    await start(async (message, reply) => {
      signals.push(reply.signal);
      reply.typing();
      if (message.text === "story") {
        outcome = await reply.stream(endlessAnswer(reply.signal)).catch((e: unknown) => e);
      } else {
        await reply.stream(answerOf([`Echo: ${message.text}`], Promise.resolve()));
      }
    });
    term.type("story\r");
    await term.waitFor((s) => s.includes("word3"));
    term.type("\x03");
    let screen = await term.waitFor((s) => s.endsWith("you>"));
    expect(screen).toMatch(/\nword1 word2 word3 (word\d+ )*\(stopped\)\nyou>$/);
    expect(signals[0]!.aborted).toBe(true);
    expect(isParleyError(signals[0]!.reason) && signals[0]!.reason.code).toBe("stopped");
    // Text was shown: the stream ends with it, as the cut answer.
    expect(outcome).toMatch(/^word1 word2 word3/);
    // Nothing of the stopped answer comes after the mark.
    await new Promise((r) => setTimeout(r, 100));
    expect(term.lines().at(-1)).toBe("you>");

    term.type("next\r");
    screen = await term.waitFor((s) => s.endsWith("you>") && s.includes("Echo: next"));
    expect(screen.split("\n").slice(-3)).toEqual(["you> next", "Echo: next", "you>"]);
    expect(signals[1]!.aborted).toBe(false);
    expect(quits).toBe(0);

    // At the prompt, Ctrl-C first clears what was typed; at an empty prompt, it quits.
    term.type("never mind");
    await term.waitFor((s) => s.endsWith("you> never mind"));
    term.type("\x03");
    await term.waitFor((s) => s.endsWith("you>"));
    expect(quits).toBe(0);
    term.type("\x03");
    await expect.poll(() => quits).toBe(1);
  });

  it("Ctrl-C while thinking replaces the mark; the stream fails with the stop as its reason", async () => {
    let outcome: unknown;
    await start(async (_message, reply) => {
      reply.typing();
      outcome = await reply.stream(endlessAnswer(reply.signal, 60_000)).catch((e: unknown) => e);
    });
    term.type("slow one\r");
    await term.waitFor((s) => s.includes("thinking…"));
    term.type("\x03");
    const screen = await term.waitFor((s) => s.endsWith("you>"));
    expect(screen.split("\n").slice(-3)).toEqual(["you> slow one", "(stopped)", "you>"]);
    expect(isParleyError(outcome) && outcome.code).toBe("stopped");
    expect(quits).toBe(0);
  });

  it("a second Ctrl-C while the answer is still stopping quits", async () => {
    await start(async (_message, reply) => {
      reply.typing();
      await reply.stream(endlessAnswer(reply.signal)).catch(() => undefined);
      // Still busy after the stop (a frozen store, say).
      await new Promise(() => {});
    });
    term.type("story\r");
    await term.waitFor((s) => s.includes("word1"));
    term.type("\x03");
    await term.waitFor((s) => s.includes("(stopped)"));
    expect(quits).toBe(0);
    term.type("\x03");
    await expect.poll(() => quits).toBe(1);
  });

  it("prints log lines above the prompt and the answer being written, and redraws them", async () => {
    let midAnswer!: () => void;
    let goOn!: () => void;
    await start(async (_message, reply) => {
      reply.typing();
      async function* answer() {
        yield "The first half";
        midAnswer();
        await new Promise<void>((r) => (goOn = r));
        yield " and the second.";
      }
      await reply.stream(answer());
    });
    // Logs on the same terminal, as stderr and stdout share one in a console run.
    const log = createLogger("info", [], term.output, { pretty: true, color: false, around: (print) => adapter.printAbove(print) });

    term.type("half typed");
    await term.waitFor((s) => s.endsWith("you> half typed"));
    log.warn({ code: "store_unavailable", err: new Error("connect ECONNREFUSED 127.0.0.1:6379") }, "store unreachable");
    let screen = await term.waitFor((s) => s.includes("store unreachable"));
    const lines = screen.split("\n");
    // One line, cut to the terminal's width.
    expect(lines.at(-2)).toMatch(/^\d\d:\d\d:\d\d warn store unreachable: connect ECONNREFUSED 127\.0\.0\.1:6379 · code=st…$/);
    expect(lines.at(-2)).toHaveLength(79);
    expect(lines.at(-1)).toBe("you> half typed");
    expect(screen).not.toContain("{");
    expect(screen).not.toContain("    at ");

    const reached = new Promise<void>((r) => (midAnswer = r));
    term.type(" question\r");
    await reached;
    await term.waitFor((s) => s.endsWith("The first half"));
    log.info("a model was loaded");
    screen = await term.waitFor((s) => s.includes("a model was loaded"));
    expect(screen.split("\n").slice(-3)).toEqual(["you> half typed question", expect.stringMatching(/info a model was loaded$/), "The first half"]);
    goOn();
    screen = await term.waitFor((s) => s.endsWith("you>"));
    expect(screen.split("\n").slice(-2)).toEqual(["The first half and the second.", "you>"]);
  });

  it("a line typed while an answer is written is shown with its own answer, not inside the first", async () => {
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    await start(async (message, reply) => {
      reply.typing();
      await reply.stream(message.text === "one" ? answerOf(["Answer one."], first) : answerOf([`Answer ${message.text}.`], Promise.resolve()));
    });
    term.type("one\r");
    await term.waitFor((s) => s.includes("thinking…"));
    term.type("two\r");
    await new Promise((r) => setTimeout(r, 50));
    expect(term.lines().at(-1)).toBe("thinking…");
    release();
    const screen = await term.waitFor((s) => s.endsWith("you>") && s.includes("Answer two."));
    expect(screen.split("\n").slice(-5)).toEqual(["you> one", "Answer one.", "you> two", "Answer two.", "you>"]);
  });

  it("Ctrl-C during a command that calls no model still shows what it did", async () => {
    let stored!: () => void;
    await start(async (_message, reply) => {
      reply.typing();
      await new Promise<void>((resolve) => (stored = resolve));
      await reply.send("Remembered as #3.");
    });
    term.type("/remember the sky is blue\r");
    await term.waitFor((s) => s.includes("thinking…"));
    term.type("\x03");
    await term.waitFor((s) => s.includes("(stopped)"));
    stored();
    const screen = await term.waitFor((s) => s.includes("Remembered as #3.") && s.endsWith("you>"));
    expect(screen.split("\n").slice(-3)).toEqual(["(stopped)", "Remembered as #3.", "you>"]);
  });
});
