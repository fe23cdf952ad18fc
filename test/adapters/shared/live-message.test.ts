import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { streamLiveMessage, type LiveMessageTarget } from "../../../src/adapters/shared/live-message.js";
import { createPacer } from "../../../src/adapters/shared/pacer.js";

interface Call {
  kind: "send" | "edit";
  id: number;
  text: string;
  atMs: number;
}

/** A recording target whose calls take `latencyMs`. */
function recorder(opts: { maxLength?: number; intervalMs?: number; latencyMs?: number; failEditAt?: number } = {}) {
  const started = Date.now();
  const calls: Call[] = [];
  const messages = new Map<number, string>();
  let nextId = 1;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const target: LiveMessageTarget<number> = {
    maxLength: opts.maxLength ?? 100,
    minEditIntervalMs: opts.intervalMs ?? 50,
    async send(text) {
      const id = nextId++;
      calls.push({ kind: "send", id, text, atMs: Date.now() - started });
      await sleep(opts.latencyMs ?? 1);
      messages.set(id, text);
      return id;
    },
    async edit(id, text) {
      calls.push({ kind: "edit", id, text, atMs: Date.now() - started });
      if (opts.failEditAt !== undefined && calls.length >= opts.failEditAt) throw new Error("platform said no");
      await sleep(opts.latencyMs ?? 1);
      messages.set(id, text);
    },
  };
  return { target, calls, shown: () => [...messages.values()] };
}

// Pacing, holds and token gaps on a fake clock: exact, instant, and the same on a busy machine.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets the fake clock run until `work` and every timer it started are done. */
async function settle<T>(work: Promise<T>): Promise<T> {
  await vi.runAllTimersAsync();
  return work;
}

async function* timed(chunks: string[], gapMs: number, failWith?: Error): AsyncIterable<string> {
  for (const chunk of chunks) {
    await new Promise((r) => setTimeout(r, gapMs));
    yield chunk;
  }
  if (failWith) throw failWith;
}

describe("streamLiveMessage", () => {
  it("sends the first tokens at once, then edits no faster than the interval, and ends with the full text", async () => {
    const { target, calls, shown } = recorder({ intervalMs: 100, maxLength: 1000 });
    const chunks = Array.from({ length: 40 }, (_, i) => `w${i} `);
    const full = await settle(streamLiveMessage(timed(chunks, 10), target));
    expect(full).toBe(chunks.join(""));
    expect(shown()).toEqual([full]);
    expect(calls[0]!.kind).toBe("send");
    expect(calls[0]!.atMs).toBeLessThan(60); // first chunk arrives after ~10 ms
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.atMs - calls[i - 1]!.atMs).toBeGreaterThanOrEqual(95);
    // ~400 ms of streaming at one call per 100 ms: a handful of edits, not one per delta.
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.length).toBeLessThanOrEqual(7);
  });

  it("skips edits that change nothing on screen", async () => {
    const { target, calls } = recorder({ intervalMs: 20 });
    await settle(streamLiveMessage(timed(["Hello", " ", "  ", "\n", " world", "\n\n"], 30), target));
    const texts = calls.map((c) => c.text.trim());
    expect(texts).toEqual(["Hello", "Hello   \n world"]);
  });

  it("continues in new messages past the limit, every part within it", async () => {
    const { target, calls, shown } = recorder({ maxLength: 50, intervalMs: 5 });
    const chunks = Array.from({ length: 30 }, (_, i) => `Sentence number ${i}. `);
    const full = await settle(streamLiveMessage(timed(chunks, 2), target));
    const parts = shown();
    expect(parts.length).toBeGreaterThan(5);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(50);
    expect(parts.join(" ").replace(/\s+/g, " ").trim()).toBe(full.trim());
    expect(calls.filter((c) => c.kind === "send").length).toBe(parts.length);
  });

  it("holds the first message briefly so a fast short answer goes out in one call", async () => {
    const { target, calls } = recorder({ intervalMs: 1000 });
    const full = await settle(streamLiveMessage(timed(["Short ", "and ", "fast."], 20), { ...target, firstMessageDelayMs: 200 }));
    expect(calls.map((c) => [c.kind, c.text])).toEqual([["send", full]]);
  });

  it("sends the first message after firstMessageDelayMs even while the answer goes on", async () => {
    const { target, calls } = recorder({ intervalMs: 1000, maxLength: 1000 });
    const started = Date.now();
    let firstAt = 0;
    async function* slow() {
      await new Promise((r) => setTimeout(r, 50));
      firstAt = Date.now() - started;
      yield "begin ";
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 50));
        yield `w${i} `;
      }
    }
    await settle(streamLiveMessage(slow(), { ...target, firstMessageDelayMs: 150 }));
    expect(calls[0]!.kind).toBe("send");
    expect(calls[0]!.atMs - firstAt).toBeGreaterThanOrEqual(140);
    expect(calls[0]!.atMs - firstAt).toBeLessThan(300);
    expect(calls[0]!.text.startsWith("begin w0")).toBe(true);
  });

  it("sends nothing for a blank answer", async () => {
    const { target, calls } = recorder();
    expect(await settle(streamLiveMessage(timed([" ", "\n"], 1), target))).toBe(" \n");
    expect(calls).toEqual([]);
  });

  it("shows the partial text and rethrows when the deltas fail", async () => {
    const { target, shown } = recorder({ intervalMs: 200 });
    const boom = new Error("model went away");
    const failed = expect(streamLiveMessage(timed(["partial ", "answer"], 5, boom), target)).rejects.toBe(boom);
    await vi.runAllTimersAsync();
    await failed;
    expect(shown()).toEqual(["partial answer"]);
  });

  it("stops and throws when the platform refuses a call", async () => {
    const { target } = recorder({ intervalMs: 5, failEditAt: 2 });
    const refused = expect(streamLiveMessage(timed(["a", "b", "c", "d"], 20), target)).rejects.toThrow("platform said no");
    await vi.runAllTimersAsync();
    await refused;
  });

  it("shares one pacer between replies into the same chat", async () => {
    const pacer = createPacer(100);
    const a = recorder();
    const b = recorder();
    await settle(
      Promise.all([
        streamLiveMessage(timed(["one", " two", " three"], 5), { ...a.target, pacer }),
        streamLiveMessage(timed(["uno", " dos", " tres"], 5), { ...b.target, pacer }),
      ]),
    );
    const all = [...a.calls, ...b.calls].map((c) => c.atMs).sort((x, y) => x - y);
    // Two first sends may go at once; every later call is ≥100 ms after the previous slot.
    const later = all.slice(2);
    expect(later.length).toBeGreaterThan(0);
    expect(all.at(-1)! - all[0]!).toBeGreaterThanOrEqual(100 * later.length - 10);
  });

  it("counts the next slot from the end of a slow call, such as one that waited out a rate limit", async () => {
    const { target, calls } = recorder({ intervalMs: 100 });
    const slowEdit = target.edit;
    let slowed = false;
    target.edit = async (id, text) => {
      if (!slowed) {
        slowed = true;
        await new Promise((r) => setTimeout(r, 400)); // a 429 waited out inside the call
      }
      return slowEdit(id, text);
    };
    await settle(streamLiveMessage(timed(["a", " b", " c", " d", " e", " f"], 60), target));
    const edits = calls.filter((c) => c.kind === "edit");
    expect(edits.length).toBeGreaterThanOrEqual(2);
    // The first edit was recorded after its 400 ms wait; the next one is a whole interval after that.
    expect(edits[1]!.atMs - edits[0]!.atMs).toBeGreaterThanOrEqual(95);
  });

  it("with paceFirstMessage, spaces the next answer's first message from the last call in the chat", async () => {
    const pacer = createPacer(150);
    const a = recorder();
    const b = recorder();
    const started = Date.now();
    await settle(streamLiveMessage(timed(["first answer"], 1), { ...a.target, pacer, paceFirstMessage: true }));
    // A quiet chat: the first answer goes at once.
    expect(Date.now() - started).toBeLessThan(100);
    await settle(streamLiveMessage(timed(["second answer"], 1), { ...b.target, pacer, paceFirstMessage: true }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(b.shown()).toEqual(["second answer"]);
  });
});

describe("createPacer", () => {
  it("spaces waits by the interval and counts marked calls", async () => {
    let clock = 1000;
    const pacer = createPacer(100, () => clock);
    pacer.mark();
    const started = Date.now();
    clock = 1000; // wait() sees the slot 100 ms ahead of the mark
    await settle(pacer.wait());
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });
});
