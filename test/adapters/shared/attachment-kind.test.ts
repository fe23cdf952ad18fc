import { describe, expect, it } from "vitest";
import { attachmentKind } from "../../../src/adapters/shared/attachment-kind.js";
import { formatBytes } from "../../../src/adapters/shared/download.js";

describe("attachmentKind", () => {
  it.each([
    ["image/png", "a.png", "image"],
    ["image/jpeg", "IMG_1.JPG", "image"],
    [undefined, "cat.webp", "image"],
    ["image/svg+xml", "logo.svg", "file"],
    ["text/plain; charset=utf-8", "notes", "text"],
    ["application/json", "data", "text"],
    ["application/octet-stream", "error.LOG", "text"],
    ["video/mp2t", "index.ts", "text"],
    [undefined, "config.yml", "text"],
    ["audio/ogg", "voice-message.ogg", "audio"],
    [undefined, "memo.m4a", "audio"],
    ["application/zip", "a.zip", "file"],
    ["application/pdf", "paper.pdf", "file"],
  ] as const)("%s %s → %s", (mimeType, name, kind) => {
    expect(attachmentKind(mimeType, name)).toBe(kind);
  });
});

describe("formatBytes", () => {
  it("says sizes as people read them", () => {
    expect(formatBytes(10 * 1_048_576)).toBe("10 MB");
    expect(formatBytes(1_572_864)).toBe("1.5 MB");
    expect(formatBytes(65_536)).toBe("64 KB");
    expect(formatBytes(900)).toBe("900 bytes");
  });
});
