import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/store/guard.js";
import { PendingWrites } from "../../src/store/pending-writes.js";

/** A store that is up or away, and the writes it took, in order. */
function fakeStore() {
  const state = { away: false, written: [] as string[] };
  const write = (name: string) => async () => {
    if (state.away) throw new StoreUnavailableError("set", new Error("refused"));
    state.written.push(name);
  };
  return { state, write };
}

function logged() {
  const lines: Array<{ msg: string; what?: string }> = [];
  const log = pino({ level: "info" }, new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  return { lines, log };
}

describe("pending writes", () => {
  it("writes at once while the store is up", async () => {
    const { state, write } = fakeStore();
    const pending = new PendingWrites({ log: pino({ level: "silent" }), reachable: () => !state.away });
    expect(await pending.write("a", write("a"))).toBe("written");
    expect(state.written).toEqual(["a"]);
    expect(pending.size).toBe(0);
  });

  it("keeps what the store could not take, and later writes behind it, then writes all in order", async () => {
    const { state, write } = fakeStore();
    const { lines, log } = logged();
    const pending = new PendingWrites({ log, reachable: () => !state.away });
    state.away = true;
    expect(await pending.write("a", write("a"))).toBe("kept");
    state.away = false; // back, but not flushed yet: b must not overtake a
    expect(await pending.write("b", write("b"))).toBe("kept");
    expect(state.written).toEqual([]);
    await pending.flush();
    expect(state.written).toEqual(["a", "b"]);
    expect(pending.size).toBe(0);
    expect(lines.some((l) => l.msg.includes("kept a write") && l.what === "a")).toBe(true);
  });

  it("stops flushing when the store goes away again, and carries on from there next time", async () => {
    const { state, write } = fakeStore();
    const pending = new PendingWrites({ log: pino({ level: "silent" }), reachable: () => !state.away });
    state.away = true;
    for (const name of ["a", "b", "c"]) await pending.write(name, write(name));
    await pending.flush();
    expect(state.written).toEqual([]);
    expect(pending.size).toBe(3);
    state.away = false;
    await pending.flush();
    expect(state.written).toEqual(["a", "b", "c"]);
  });

  it("keeps at most maxEntries, dropping the oldest with a log line", async () => {
    const { state, write } = fakeStore();
    const { lines, log } = logged();
    const pending = new PendingWrites({ log, reachable: () => !state.away, maxEntries: 2 });
    state.away = true;
    for (const name of ["a", "b", "c"]) await pending.write(name, write(name));
    expect(pending.size).toBe(2);
    expect(lines.some((l) => l.msg.includes("dropped the oldest") && l.what === "a")).toBe(true);
    state.away = false;
    await pending.flush();
    expect(state.written).toEqual(["b", "c"]);
  });

  it("does not write twice what reached the store after it was given up on", async () => {
    const { state } = fakeStore();
    const pending = new PendingWrites({ log: pino({ level: "silent" }), reachable: () => !state.away });
    let tries = 0;
    state.away = true;
    await pending.write("late", async () => {
      tries++;
      // A timeout whose write the server carried out later (a frozen Redis that thawed).
      throw new StoreUnavailableError("setMany", new Error("no answer within 2000 ms"), Promise.resolve(true));
    });
    state.away = false;
    await pending.flush();
    expect(tries).toBe(1);
    expect(pending.size).toBe(0);
  });

  it("passes on failures that are not the store being away", async () => {
    const pending = new PendingWrites({ log: pino({ level: "silent" }), reachable: () => true });
    await expect(pending.write("bug", async () => Promise.reject(new TypeError("boom")))).rejects.toThrow("boom");
    // A refusal while the store answers would fail again on every flush: the caller hears of it.
    await expect(pending.write("refused", async () => Promise.reject(new StoreUnavailableError("set", new Error("READONLY"))))).rejects.toThrow();
    expect(pending.size).toBe(0);
  });
});
