/** What a message's attachments give the model, the user and the history. */
import { describe, expect, it } from "vitest";
import { readAttachments, type AttachedFile } from "../../src/chat/attachments.js";
import { ParleyError } from "../../src/core/errors.js";

const limits = { maxImages: 2, maxImageBytes: 100, maxTextChars: 50 };

/** An attachment holding `bytes`, refusing (as adapters do) when asked for fewer bytes than it has. */
function file(kind: AttachedFile["kind"], name: string, bytes: Buffer | string, mimeType?: string): AttachedFile & { asked: number[] } {
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, "utf8");
  const asked: number[] = [];
  return {
    kind,
    name,
    mimeType,
    size: data.length,
    asked,
    async fetch(maxBytes) {
      asked.push(maxBytes);
      if (data.length > maxBytes) throw new ParleyError("bad_input", `${name} is larger than the ${maxBytes} bytes I read.`);
      return data;
    },
  };
}

describe("readAttachments", () => {
  it("hands over the first maxImages images byte for byte, each fetched with the size cap, and says which were skipped", async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const a = file("image", "a.png", png, "image/png");
    const b = file("image", "b.jpg", Buffer.alloc(10, 7));
    const c = file("image", "c.png", png);
    const read = await readAttachments([a, b, c], limits);
    expect(read.images).toEqual([
      { name: "a.png", mimeType: "image/png", data: png },
      { name: "b.jpg", mimeType: "image/jpeg", data: Buffer.alloc(10, 7) },
    ]);
    expect(a.asked).toEqual([100]);
    expect(c.asked).toEqual([]);
    expect(read.notes).toEqual(["I look at 2 images a message; I skipped c.png."]);
    expect(read.placeholders).toEqual(["[image: a.png]", "[image: b.jpg]", "[image: c.png, not read]"]);
  });

  it("tells why an image was not read, and goes on with the others", async () => {
    const read = await readAttachments([file("image", "huge.png", Buffer.alloc(500)), file("image", "ok.png", Buffer.alloc(5))], limits);
    expect(read.images.map((i) => i.name)).toEqual(["ok.png"]);
    expect(read.notes).toEqual(["huge.png is larger than the 100 bytes I read."]);
  });

  it("reads text files into fenced blocks under their names, up to maxTextChars in all, and says what was cut", async () => {
    const read = await readAttachments(
      [file("text", "notes.md", "# Plan\nship it"), file("text", "error.log", `${"x".repeat(60)}`), file("text", "more.txt", "late")],
      limits,
    );
    expect(read.text).toBe(`notes.md:\n\`\`\`\n# Plan\nship it\n\`\`\`\n\nerror.log:\n\`\`\`\n${"x".repeat(36)}\n\`\`\`\n(24 more characters left out)`);
    expect(read.notes).toEqual([
      "error.log is long: I read its first 36 characters and left out 24.",
      "I did not read more.txt: the files before it used the 50 characters I read a message.",
    ]);
    expect(read.placeholders).toEqual(["[file: notes.md, 14 characters]", "[file: error.log, 60 characters]", "[file: more.txt, not read]"]);
  });

  it("fences a file that holds backticks with more of them", async () => {
    const read = await readAttachments([file("text", "README.md", "use ```js blocks```")], limits);
    expect(read.text).toBe("README.md:\n````\nuse ```js blocks```\n````");
  });

  it("leaves audio to transcription and says other files are not read", async () => {
    const voice = file("audio", "voice.ogg", Buffer.alloc(3));
    const read = await readAttachments([voice, file("file", "report.pdf", Buffer.alloc(3))], limits);
    expect(read.audio).toEqual([voice]);
    expect(read.notes).toEqual(["I can't read report.pdf: I read images, text files and voice messages."]);
    expect(read.placeholders).toEqual(["[file: report.pdf, not read]"]);
  });
});
