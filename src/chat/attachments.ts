/**
 * What a chat message's attachments give the model: its images (at most
 * `maxImages`, each at most `maxImageBytes`, downloaded with that cap), its
 * text files read into the prompt as fenced blocks under their names (at
 * most `maxTextChars` in all, a longer one cut with a note), and one
 * sentence for each thing not read. The history keeps a short placeholder
 * for each (`[image: cat.png]`, `[file: error.log, 3,204 characters]`),
 * never the bytes.
 */
import { isParleyError } from "../core/errors.js";

/** One attached file as an adapter hands it over (see `IncomingMessage.attachments`). */
export interface AttachedFile {
  kind: "image" | "text" | "audio" | "file";
  name: string;
  mimeType?: string;
  size?: number;
  fetch(maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
}

export interface AttachmentLimits {
  /** Images sent with one message. @defaultValue 4 */
  maxImages: number;
  /** Bytes of one image. @defaultValue 10 MB */
  maxImageBytes: number;
  /** Characters of text files read into one prompt, all files together. @defaultValue 20_000 */
  maxTextChars: number;
}

/** An image for the model. */
export interface ReadImage {
  name: string;
  mimeType: string;
  data: Buffer;
}

export interface ReadAttachments {
  images: ReadImage[];
  /** The text files as fenced blocks, for the prompt; empty when none. */
  text: string;
  /** One sentence per thing skipped or not read, for the user. */
  notes: string[];
  /** What the history keeps of each attachment. */
  placeholders: string[];
  /** Voice messages and audio files, left to transcription. */
  audio: AttachedFile[];
}

/** UTF-8 takes at most four bytes a character. */
const BYTES_PER_CHAR = 4;
/** A text file up to this size is read and cut to the characters wanted; a larger one is not read. */
const MAX_TEXT_FILE_BYTES = 1_000_000;

/** Reads what the model should get of `files`; download failures become notes, never errors. */
export async function readAttachments(files: readonly AttachedFile[], limits: AttachmentLimits, signal?: AbortSignal): Promise<ReadAttachments> {
  const out: ReadAttachments = { images: [], text: "", notes: [], placeholders: [], audio: [] };
  const images = files.filter((f) => f.kind === "image");
  const skipped = images.slice(limits.maxImages);
  for (const image of images.slice(0, limits.maxImages)) {
    out.placeholders.push(`[image: ${image.name}]`);
    try {
      const data = await image.fetch(limits.maxImageBytes, signal);
      out.images.push({ name: image.name, mimeType: image.mimeType ?? mimeOf(image.name), data });
    } catch (e) {
      out.notes.push(failure(e, image.name));
    }
  }
  if (skipped.length > 0) {
    out.notes.push(`I look at ${limits.maxImages} images a message; I skipped ${skipped.map((i) => i.name).join(", ")}.`);
    for (const image of skipped) out.placeholders.push(`[image: ${image.name}, not read]`);
  }

  let charsLeft = limits.maxTextChars;
  const blocks: string[] = [];
  for (const file of files.filter((f) => f.kind === "text")) {
    if (charsLeft <= 0) {
      out.notes.push(`I did not read ${file.name}: the files before it used the ${limits.maxTextChars.toLocaleString("en")} characters I read a message.`);
      out.placeholders.push(`[file: ${file.name}, not read]`);
      continue;
    }
    let text: string;
    try {
      // Read whole up to a megabyte, so a long log is cut with a note rather than refused; larger ones are refused.
      text = decode(await file.fetch(Math.max(MAX_TEXT_FILE_BYTES, charsLeft * BYTES_PER_CHAR), signal));
    } catch (e) {
      out.notes.push(failure(e, file.name));
      out.placeholders.push(`[file: ${file.name}, not read]`);
      continue;
    }
    const kept = text.slice(0, charsLeft);
    charsLeft -= kept.length;
    const cut = text.length - kept.length;
    blocks.push(fenced(file.name, kept, cut));
    if (cut > 0) out.notes.push(`${file.name} is long: I read its first ${kept.length.toLocaleString("en")} characters and left out ${cut.toLocaleString("en")}.`);
    out.placeholders.push(`[file: ${file.name}, ${text.length.toLocaleString("en")} characters]`);
  }
  out.text = blocks.join("\n\n");

  for (const file of files) {
    if (file.kind === "audio") out.audio.push(file);
    if (file.kind === "file") {
      out.notes.push(`I can't read ${file.name}: I read images, text files and voice messages.`);
      out.placeholders.push(`[file: ${file.name}, not read]`);
    }
  }
  return out;
}

/** A text file under its name, fenced with more backticks than it holds. */
function fenced(name: string, text: string, cut: number): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const note = cut > 0 ? `\n(${cut.toLocaleString("en")} more characters left out)` : "";
  return `${name}:\n${fence}\n${text}\n${fence}${note}`;
}

/** The bytes as text: UTF-8 (a BOM dropped), with a broken last character left out. */
function decode(bytes: Buffer): string {
  return new TextDecoder("utf-8").decode(bytes).replace(/^\uFEFF/, "").replace(/\uFFFD$/, "");
}

function failure(e: unknown, name: string): string {
  if (isParleyError(e)) return e.userMessage;
  return `I couldn't download ${name}.`;
}

function mimeOf(name: string): string {
  const ext = name.toLowerCase().split(".").pop();
  return ext === "png" ? "image/png" : ext === "gif" ? "image/gif" : ext === "webp" ? "image/webp" : "image/jpeg";
}
