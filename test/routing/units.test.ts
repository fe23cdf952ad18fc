/** The small parts the router is made of. */
import { describe, expect, it } from "vitest";
import { ParleyError } from "../../src/core/errors.js";
import { AnswerStream } from "../../src/llm/answer.js";
import type { ChatDelta } from "../../src/llm/types.js";
import { backoffMs } from "../../src/llm/backoff.js";
import { CircuitBreaker } from "../../src/llm/breaker.js";
import { LatencyWindow } from "../../src/llm/latency.js";
import { costOf, formatCost } from "../../src/llm/prices.js";
import { keepAliveFor, parseTarget, unloadsAtOnce } from "../../src/llm/setup.js";
import { WarmModels } from "../../src/llm/warm-models.js";

describe("backoff", () => {
  const retry = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };

  it("doubles from the base, with half of each wait random, capped at the maximum", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, retry, undefined, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, retry, undefined, () => 1))).toEqual([100, 200, 400, 800, 1000]);
  });

  it("never waits less than the server's retry-after", () => {
    expect(backoffMs(1, retry, 700, () => 0.5)).toBe(700);
    expect(backoffMs(4, retry, 10, () => 1)).toBe(800);
  });
});

describe("circuit breaker", () => {
  it("opens after N failures in a row, for the cool-down, and closes on success", () => {
    const breaker = new CircuitBreaker(3, 1000);
    breaker.failed(0);
    breaker.failed(0);
    expect(breaker.waitMs(0)).toBe(0);
    breaker.succeeded();
    breaker.failed(10);
    breaker.failed(10);
    expect(breaker.waitMs(10)).toBe(0);
    breaker.failed(10);
    expect(breaker.waitMs(10)).toBe(1000);
    expect(breaker.waitMs(600)).toBe(410);
    expect(breaker.waitMs(1010)).toBe(0);
    // The trial after the cool-down fails: open again at once.
    breaker.failed(1020);
    expect(breaker.waitMs(1020)).toBe(1000);
    breaker.succeeded();
    expect(breaker.waitMs(1020)).toBe(0);
  });

  it("holds off for as long as the server asked", () => {
    const breaker = new CircuitBreaker(3, 1000);
    breaker.holdOff(30_000, 0);
    expect(breaker.waitMs(0)).toBe(30_000);
  });
});

describe("latency window", () => {
  it("gives the median of the last N samples", () => {
    const window = new LatencyWindow(4);
    expect(window.median()).toBeUndefined();
    for (const ms of [100, 5000, 200, 300]) window.add(ms);
    expect(window.median()).toBe(250);
    window.add(400); // drops 100
    expect(window.median()).toBe(350);
    window.add(10); // drops 5000
    expect(window.median()).toBe(250);
    expect(window.count).toBe(4);
  });
});

describe("warm models", () => {
  it("returns the least recently used models beyond the limit", () => {
    const warm = new WarmModels(2);
    expect(warm.use("a")).toEqual([]);
    expect(warm.use("b")).toEqual([]);
    expect(warm.use("a")).toEqual([]);
    expect(warm.use("c")).toEqual(["b"]);
    expect(warm.list()).toEqual(["a", "c"]);
    warm.forget("a");
    expect(warm.use("d")).toEqual([]);
    expect(warm.list()).toEqual(["c", "d"]);
  });
});

describe("prices", () => {
  it("costs tokens per million, and 0 without a price", () => {
    expect(costOf({ input: 2.5, output: 10 }, { promptTokens: 1000, completionTokens: 500 })).toBeCloseTo(0.0075, 12);
    expect(costOf(undefined, { promptTokens: 1000, completionTokens: 500 })).toBe(0);
  });

  it("formats cents, or two significant digits below a cent", () => {
    expect(formatCost(0, "$")).toBe("$0.00");
    expect(formatCost(1.234, "$")).toBe("$1.23");
    expect(formatCost(0.0027, "€")).toBe("€0.0027");
    expect(formatCost(0.75, "EUR")).toBe("0.75 EUR");
  });
});

describe("targets and keep-alive", () => {
  const providers = new Set(["local", "openrouter"]);

  it("splits provider/model at the first slash, else falls back to the default provider", () => {
    expect(parseTarget("local/qwen2.5-coder:7b", providers)).toEqual({ provider: "local", model: "qwen2.5-coder:7b" });
    expect(parseTarget("openrouter/meta-llama/llama-3.1-8b", providers)).toEqual({ provider: "openrouter", model: "meta-llama/llama-3.1-8b" });
    expect(parseTarget("meta-llama/llama-3.1-8b", providers)).toBeUndefined();
    expect(parseTarget("meta-llama/llama-3.1-8b", providers, "openrouter")).toEqual({ provider: "openrouter", model: "meta-llama/llama-3.1-8b" });
    expect(parseTarget("local/", providers, "local")).toEqual({ provider: "local", model: "local/" });
  });

  it("maps strategies to keep_alive values", () => {
    expect([keepAliveFor("ram"), keepAliveFor("ssd"), keepAliveFor("none"), keepAliveFor("90s"), keepAliveFor("-1"), keepAliveFor(5)]).toEqual([
      "30m",
      "2m",
      0,
      "90s",
      -1,
      5,
    ]);
    expect([0, "0", "0s", "0m"].every(unloadsAtOnce)).toBe(true);
    expect(["30m", 5, -1, undefined].some(unloadsAtOnce)).toBe(false);
  });
});

describe("answer notes", () => {
  async function shown(deltas: ChatDelta[], failAfter = false): Promise<{ text: string; stream: AnswerStream }> {
    async function* source(): AsyncGenerator<ChatDelta> {
      yield* deltas;
      if (failAfter) throw new ParleyError("stream_cut", "The answer from the local model server stopped before its end.");
    }
    const stream = new AnswerStream(source());
    let text = "";
    for await (const piece of stream.shown()) text += piece;
    return { text, stream };
  }

  it("closes an open code block before a note, and keeps the model's text apart", async () => {
    const cut = await shown([{ type: "text", text: "Here:\n```ts\nconst x = 1;" }], true);
    expect(cut.text).toBe("Here:\n```ts\nconst x = 1; …\n```\n\n*(answer cut off: the answer from the local model server stopped before its end)*");
    expect(cut.stream.text).toBe("Here:\n```ts\nconst x = 1;");
    expect(cut.stream.cut?.code).toBe("stream_cut");

    const fallback = await shown([
      { type: "text", text: "Done.\n```\nok\n```" },
      { type: "done", model: "m", target: "b/m", fallback: { from: "a/m", reason: "was unavailable" } },
    ]);
    expect(fallback.text).toBe("Done.\n```\nok\n```\n\n*(answered by b/m because a/m was unavailable)*");
    expect(fallback.stream.text).toBe("Done.\n```\nok\n```");
  });

  it("rethrows a failure before any text: there is nothing to mark", async () => {
    await expect(shown([], true)).rejects.toThrow("stopped before its end");
  });
});
