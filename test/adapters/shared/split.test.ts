import { describe, expect, it } from "vitest";
import { splitMessage } from "../../../src/adapters/shared/split.js";

/** Whether every fence opened in `part` is closed in it. */
function fencesBalanced(part: string): boolean {
  let open: string | undefined;
  for (const line of part.split("\n")) {
    const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!m) continue;
    if (!open) open = m[1];
    else if (m[1]![0] === open[0] && m[1]!.length >= open.length && m[2]!.trim() === "") open = undefined;
  }
  return open === undefined;
}

describe("splitMessage", () => {
  it("returns short text unchanged and blank text as no parts", () => {
    expect(splitMessage("hello", 10)).toEqual(["hello"]);
    expect(splitMessage("exactly10!", 10)).toEqual(["exactly10!"]);
    expect(splitMessage("", 10)).toEqual([]);
    expect(splitMessage(" \n ", 10)).toEqual([]);
  });

  it("rejects a nonsensical limit", () => {
    expect(() => splitMessage("x", 0)).toThrow(RangeError);
  });

  it("prefers paragraph boundaries over line boundaries", () => {
    const a = "a".repeat(30);
    const text = `${a}\n${a}\n\n${a}\n${a}`; // paragraph break at 61
    const parts = splitMessage(text, 100);
    expect(parts).toEqual([`${a}\n${a}`, `${a}\n${a}`]);
  });

  it("falls back to lines, then sentences, then spaces, then a hard cut", () => {
    expect(splitMessage("first line here\nsecond line here", 20)).toEqual(["first line here", "second line here"]);
    expect(splitMessage("One sentence. Two sentence here", 20)).toEqual(["One sentence.", "Two sentence here"]);
    expect(splitMessage("alpha beta gamma delta", 12)).toEqual(["alpha beta", "gamma delta"]);
    expect(splitMessage("x".repeat(25), 10)).toEqual(["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
  });

  it("does not make a tiny part when a better-filled cut exists", () => {
    const text = `Hi.\n${"word ".repeat(30)}`;
    const parts = splitMessage(text, 60);
    expect(parts[0]!.length).toBeGreaterThan(30);
  });

  it("never cuts a surrogate pair in half", () => {
    const text = "😀".repeat(20); // 40 code units, no separators
    const parts = splitMessage(text, 7);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(7);
      expect(part).not.toMatch(/[\ud800-\udbff]$/);
      expect(part).not.toMatch(/^[\udc00-\udfff]/);
    }
    expect(parts.join("")).toBe(text);
  });

  it("closes a code block at the end of a part and reopens it with its language", () => {
    const code = Array.from({ length: 40 }, (_, i) => `print(${i})`).join("\n");
    const text = `Here is code:\n\n\`\`\`python\n${code}\n\`\`\`\n\nDone.`;
    const parts = splitMessage(text, 120);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(120);
      expect(fencesBalanced(part)).toBe(true);
    }
    expect(parts[1]!.startsWith("```python\n")).toBe(true);
    // All the code survives, in order.
    const lines = parts.join("\n").split("\n").filter((l) => l.startsWith("print("));
    expect(lines).toEqual(code.split("\n"));
    expect(parts.at(-1)).toContain("Done.");
  });

  it("keeps ~~~ and longer fences intact", () => {
    const body = Array.from({ length: 30 }, (_, i) => `line ${i} has \`\`\` inside`).join("\n");
    const text = `~~~~js\n${body}\n~~~~`;
    const parts = splitMessage(text, 100);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(part.startsWith("~~~~js\n")).toBe(true);
      expect(part.endsWith("\n~~~~")).toBe(true);
    }
  });

  it("does not end a part with an empty opened fence", () => {
    const text = `${"intro words ".repeat(7)}\n\`\`\`ts\n${"const x = 1;\n".repeat(10)}\`\`\``;
    const parts = splitMessage(text, 100);
    for (const part of parts) expect(part).not.toMatch(/```ts\n```$/);
  });

  it("keeps every part within the limit for large mixed text", () => {
    let text = "";
    for (let i = 0; i < 200; i++) {
      text += i % 7 === 0 ? `\n\`\`\`js\n${"let a = [1, 2, 3];\n".repeat(i % 5 + 1)}\`\`\`\n` : `Paragraph ${i}. ${"lorem ipsum ".repeat(i % 13)}\n\n`;
    }
    for (const max of [50, 200, 4096]) {
      const parts = splitMessage(text, max);
      for (const part of parts) {
        expect(part.length).toBeLessThanOrEqual(max);
        expect(part.trim()).not.toBe("");
        expect(fencesBalanced(part)).toBe(true);
      }
      const words = (s: string) => s.split(/\s+/).filter((w) => w && !w.startsWith("```"));
      expect(words(parts.join("\n"))).toEqual(words(text));
    }
  });
});
