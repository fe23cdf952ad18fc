/**
 * Splits a long answer into messages that each fit a platform's length limit,
 * cutting where a reader would: paragraph, then line, then sentence or space,
 * and only as a last resort mid-word. A fenced code block cut in two is
 * closed at the end of one part and reopened, with its language, at the
 * start of the next, so every part renders on its own.
 */

/** An open code fence: its marker (```` ``` ````, `~~~`, …) and full opening line. */
interface Fence {
  marker: string;
  line: string;
}

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Parts shorter than this share of the room are avoided when a better cut exists. */
const MIN_FILL = 0.5;

/**
 * Splits `text` into parts of at most `maxLength` characters (UTF-16 code
 * units, which is how Telegram and Discord count). Empty or blank text gives
 * no parts. Text that fits is returned unchanged as the only part.
 */
export function splitMessage(text: string, maxLength: number): string[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError("maxLength must be a positive integer");
  if (text.trim() === "") return [];
  if (text.length <= maxLength) return [text];

  const parts: string[] = [];
  let rest = text;
  let fence: Fence | undefined;
  while (rest.trim() !== "") {
    // A reopened fence whose opening line alone nearly fills a part cannot be carried on.
    if (fence && fence.line.length + fence.marker.length + 3 > maxLength) fence = undefined;
    const prefix = fence ? `${fence.line}\n` : "";
    if (prefix.length + rest.length <= maxLength) {
      parts.push(prefix + rest);
      break;
    }
    const cut = cutPart(rest, fence, maxLength - prefix.length);
    const body = rest.slice(0, cut.end);
    const open = fenceAfter(body, fence);
    parts.push(prefix + body + (open ? `\n${open.marker}` : ""));
    fence = open;
    rest = rest.slice(cut.next).replace(/^\n+/, "");
  }
  return parts;
}

interface Cut {
  /** Where this part's text ends. */
  end: number;
  /** Where the next part's text starts (after the separator). */
  next: number;
}

/** Finds where to end a part of at most `room` characters, leaving space to close a fence. */
function cutPart(rest: string, fence: Fence | undefined, room: number): Cut {
  let budget = room;
  for (;;) {
    const cut = bestCut(rest, Math.max(1, budget));
    const body = rest.slice(0, cut.end);
    const open = fenceAfter(body, fence);
    const closing = open ? open.marker.length + 1 : 0;
    if (body.length + closing <= room || budget <= 1) {
      return open ? avoidEmptyFence(rest, body, cut, fence) : cut;
    }
    budget -= body.length + closing - room;
  }
}

/** Moves a cut that would end right after a fence's opening line to before that line. */
function avoidEmptyFence(rest: string, body: string, cut: Cut, fence: Fence | undefined): Cut {
  const lastLineStart = body.lastIndexOf("\n") + 1;
  if (lastLineStart === 0) return cut;
  const before = body.slice(0, lastLineStart - 1);
  const lastLine = body.slice(lastLineStart);
  if (!FENCE_LINE.test(lastLine) || fenceAfter(before, fence) !== undefined) return cut;
  if (before.trim() === "") return cut;
  return { end: lastLineStart - 1, next: lastLineStart };
}

/** The best place to cut within the first `budget` characters of `rest`. */
function bestCut(rest: string, budget: number): Cut {
  const window = rest.slice(0, budget + 1); // a separator may sit just past the room
  const candidates: Array<(minEnd: number) => Cut | undefined> = [
    (minEnd) => lastSeparator(window, "\n\n", budget, minEnd),
    (minEnd) => lastSeparator(window, "\n", budget, minEnd),
    (minEnd) => lastSentenceEnd(window, budget, minEnd),
    (minEnd) => lastSeparator(window, " ", budget, minEnd),
  ];
  const minEnd = Math.floor(budget * MIN_FILL);
  for (const find of candidates) {
    const cut = find(minEnd);
    if (cut) return cut;
  }
  for (const find of candidates) {
    const cut = find(1);
    if (cut) return cut;
  }
  let end = budget;
  // Never cut an emoji (a surrogate pair) in half.
  if (end < rest.length && isHighSurrogate(rest.charCodeAt(end - 1)) && end > 1) end -= 1;
  return { end, next: end };
}

function lastSeparator(window: string, separator: string, budget: number, minEnd: number): Cut | undefined {
  const at = window.lastIndexOf(separator, budget);
  if (at < minEnd || at < 1) return undefined;
  return { end: at, next: at + separator.length };
}

function lastSentenceEnd(window: string, budget: number, minEnd: number): Cut | undefined {
  for (let i = Math.min(budget, window.length - 1); i >= minEnd && i >= 1; i--) {
    if (window[i] === " " && /[.!?…]["')\]]?$/.test(window.slice(Math.max(0, i - 2), i))) {
      return { end: i, next: i + 1 };
    }
  }
  return undefined;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The fence still open after `body`, given the fence open before it. */
function fenceAfter(body: string, fence: Fence | undefined): Fence | undefined {
  let open = fence;
  for (const line of body.split("\n")) {
    const match = FENCE_LINE.exec(line);
    if (!match) continue;
    const marker = match[1] ?? "";
    const info = match[2] ?? "";
    if (!open) {
      // Backtick fences cannot have backticks in their info string (CommonMark).
      if (marker.startsWith("`") && info.includes("`")) continue;
      open = { marker, line: line.trimStart() };
    } else if (marker[0] === open.marker[0] && marker.length >= open.marker.length && info.trim() === "") {
      open = undefined;
    }
  }
  return open;
}
