import { describe, expect, it } from "vitest";
import { ThinkingFilter } from "../../src/llm/thinking-filter.js";

function run(pieces: string[]): string {
  const filter = new ThinkingFilter();
  return pieces.map((p) => filter.push(p)).join("") + filter.flush();
}

describe("thinking filter", () => {
  it("hides a leading <think> block, even with its tags split across pieces", () => {
    expect(run(["<think>\nLet me see.\n</think>\n\nParis."])).toBe("Paris.");
    expect(run(["  <th", "ink>", "hmm </th", "ink", ">", "\n\n", "Par", "is."])).toBe("Paris.");
    expect(run(["<think>\n\n</think>\n\n", "Hi"])).toBe("Hi");
  });

  it("leaves every other answer as it is", () => {
    expect(run(["Paris ", "is the capital."])).toBe("Paris is the capital.");
    expect(run(["<b>bold</b> text"])).toBe("<b>bold</b> text");
    expect(run(["  ", "indented"])).toBe("  indented");
    expect(run(["<th"])).toBe("<th");
    expect(run(["Use <think> tags like this: <think>x</think>"])).toBe("Use <think> tags like this: <think>x</think>");
  });

  it("shows nothing for a block that never closes", () => {
    expect(run(["<think>", "still thinking when the tokens ran out"])).toBe("");
  });
});
