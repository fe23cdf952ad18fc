import { describe, expect, it } from "vitest";
import { memoryId, memorySeq } from "../../src/store/memory-ids.js";

describe("memory ids", () => {
  it("are 5 characters, distinct, and give back their count, for the first 100,000 of a channel", () => {
    const seen = new Set<string>();
    for (let seq = 1; seq <= 100_000; seq++) {
      const id = memoryId(seq);
      expect(id).toMatch(/^[0-9a-z]{5}$/);
      expect(memorySeq(id)).toBe(seq);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
  });

  it("go on with 6 characters past 36^5, still distinct from the 5-character ones", () => {
    const edge = 36 ** 5;
    expect(memoryId(edge - 1)).toHaveLength(5);
    for (const seq of [edge, edge + 1, 2_000_000_000]) {
      expect(memoryId(seq)).toHaveLength(6);
      expect(memorySeq(memoryId(seq))).toBe(seq);
    }
  });

  it("do not read as the small numbers a user might type by mistake", () => {
    for (let seq = 1; seq <= 1_000; seq++) expect(memoryId(seq)).not.toMatch(/^0*\d{1,4}$/);
  });
});
