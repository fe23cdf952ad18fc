/**
 * Turns the model's Markdown into Telegram's HTML dialect. Every tag this
 * emits is closed by construction and every piece of text is escaped, so the
 * result always parses; Markdown that does not pair up (a lone `*`, an open
 * backtick) is shown as the literal characters. An unclosed code fence, as
 * seen mid-stream, is shown as a code block.
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const LINK = /^\[([^[\]\n]+)\]\(\s*<?((?:[^()\s<>]|\([^()\s]*\))+)>?(?:\s+"[^"\n]*")?\s*\)/;
const AUTOLINK = /^<((?:https?|mailto):[^\s<>]+)>/i;
/** Link targets kept as links; `tg://user?id=…` is left out because Telegram turns it into a mention that pings. */
const SAFE_URL = /^(?:https?:\/\/|mailto:)/i;
const LANGUAGE = /^[A-Za-z0-9_+#.-]{1,32}$/;
const EMPHASIS: ReadonlyArray<{ mark: string; tag: string }> = [
  { mark: "**", tag: "b" },
  { mark: "__", tag: "b" },
  { mark: "~~", tag: "s" },
  { mark: "*", tag: "i" },
  { mark: "_", tag: "i" },
];

/** `@name` as Telegram would turn into a mention that notifies a member of the chat. */
const MENTION = /(^|[^A-Za-z0-9_])@(?=[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_]))/g;
/** The same, for the `@` at the start (or second place, after a boundary) of a slice. */
const MENTION_AT = /^(?:@|[^A-Za-z0-9_]@)[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])/;
/** U+2060 WORD JOINER: invisible, but `@\u2060name` is no longer a mention. */
const WORD_JOINER = "\u2060";

/**
 * Keeps the model's `@name` from pinging anyone: Telegram makes a mention of
 * every `@username` in a message, and a mention notifies that member.
 */
export function defuseMentions(text: string): string {
  return text.replace(MENTION, `$1@${WORD_JOINER}`);
}

/** Escapes text for Telegram HTML (also safe inside double-quoted attributes). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Markdown (bold, italics, strikethrough, code, code blocks, links, headings, quotes) → Telegram HTML. */
export function markdownToTelegramHtml(markdown: string): string {
  const out: string[] = [];
  let fence: { marker: string; language: string; lines: string[] } | undefined;
  let quote: string[] = [];
  const flushQuote = () => {
    if (quote.length > 0) out.push(`<blockquote>${quote.map((l) => renderInline(l)).join("\n")}</blockquote>`);
    quote = [];
  };
  for (const line of markdown.split("\n")) {
    if (fence) {
      const close = FENCE.exec(line);
      if (close && close[1]![0] === fence.marker[0] && close[1]!.length >= fence.marker.length && close[2] === "") {
        out.push(renderCodeBlock(fence.language, fence.lines));
        fence = undefined;
      } else {
        fence.lines.push(line);
      }
      continue;
    }
    const open = FENCE.exec(line);
    if (open && !(open[1]!.startsWith("`") && line.slice(line.indexOf(open[1]!) + open[1]!.length).includes("`"))) {
      flushQuote();
      fence = { marker: open[1]!, language: open[2] ?? "", lines: [] };
      continue;
    }
    const quoted = QUOTE.exec(line);
    if (quoted) {
      quote.push(quoted[1]!);
      continue;
    }
    flushQuote();
    const heading = HEADING.exec(line);
    out.push(heading ? `<b>${renderInline(heading[1]!)}</b>` : renderInline(line));
  }
  flushQuote();
  if (fence) out.push(renderCodeBlock(fence.language, fence.lines));
  return out.join("\n");
}

/** The text Telegram shows for HTML this module made: tags dropped, entities decoded. */
export function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&(lt|gt|quot|amp);/g, (_m, name: string) => ({ lt: "<", gt: ">", quot: '"', amp: "&" })[name] ?? "");
}

function renderCodeBlock(language: string, lines: string[]): string {
  // A fence just opened mid-stream shows nothing yet.
  if (lines.join("").trim() === "") return "";
  const code = escapeHtml(lines.join("\n"));
  return LANGUAGE.test(language) ? `<pre><code class="language-${escapeHtml(language)}">${code}</code></pre>` : `<pre>${code}</pre>`;
}

/** Inline Markdown of one line; `inLink` stops links nesting inside link text. */
function renderInline(text: string, inLink = false): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "\\" && i + 1 < text.length && /[!-/:-@[-`{-~]/.test(text[i + 1]!)) {
      out += escapeHtml(text[i + 1]!);
      i += 2;
      continue;
    }
    if (ch === "`") {
      const run = runLength(text, i, "`");
      const close = findCodeClose(text, i + run, run);
      if (close >= 0) {
        const code = text.slice(i + run, close);
        const inner = code.length > 2 && code.startsWith(" ") && code.endsWith(" ") ? code.slice(1, -1) : code;
        out += inner.trim() === "" ? escapeHtml(text.slice(i, close + run)) : `<code>${escapeHtml(inner)}</code>`;
        i = close + run;
      } else {
        out += escapeHtml(text.slice(i, i + run));
        i += run;
      }
      continue;
    }
    if (!inLink && (ch === "[" || ch === "<")) {
      const link = ch === "[" ? LINK.exec(text.slice(i)) : AUTOLINK.exec(text.slice(i));
      if (link) {
        const url = ch === "[" ? link[2]! : link[1]!;
        const label = ch === "[" ? renderInline(link[1]!, true) : escapeHtml(url);
        out += SAFE_URL.test(url) ? `<a href="${escapeHtml(url)}">${label}</a>` : escapeHtml(link[0]);
        i += link[0].length;
        continue;
      }
    }
    const emphasis = matchEmphasis(text, i);
    if (emphasis) {
      out += `<${emphasis.tag}>${renderInline(text.slice(emphasis.innerStart, emphasis.innerEnd), inLink)}</${emphasis.tag}>`;
      i = emphasis.innerEnd + emphasis.markLength;
      continue;
    }
    if (ch === "@" && MENTION_AT.test(text.slice(Math.max(0, i - 1), i + 33))) {
      out += `@${WORD_JOINER}`;
      i += 1;
      continue;
    }
    out += escapeHtml(ch);
    i += 1;
  }
  return out;
}

function runLength(text: string, at: number, ch: string): number {
  let n = 0;
  while (text[at + n] === ch) n++;
  return n;
}

/** The start of a backtick run of exactly `run` characters at or after `from`, or -1. */
function findCodeClose(text: string, from: number, run: number): number {
  for (let j = text.indexOf("`", from); j >= 0; j = text.indexOf("`", j)) {
    const length = runLength(text, j, "`");
    if (length === run) return j;
    j += length;
  }
  return -1;
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

/** An emphasis span opening at `at` whose closer exists on this line. */
function matchEmphasis(text: string, at: number): { tag: string; innerStart: number; innerEnd: number; markLength: number } | undefined {
  for (const { mark, tag } of EMPHASIS) {
    if (!text.startsWith(mark, at)) continue;
    const single = mark.length === 1;
    if (single && text[at + 1] === mark) continue; // part of a longer run: let `**` try
    const after = text[at + mark.length];
    if (after === undefined || /\s/.test(after)) continue;
    // snake_case is not emphasis, nor is arithmetic like 2*3*4.
    if (mark[0] === "_" && isWordChar(text[at - 1])) continue;
    const intraword = single && mark === "*" && isWordChar(text[at - 1]);
    const innerStart = at + mark.length;
    for (let j = text.indexOf(mark, innerStart + 1); j >= 0; j = text.indexOf(mark, j + 1)) {
      const run = runLength(text, j, mark[0]!);
      // The closer is the end of its run: `***x***` closes bold after the italics.
      const close = j + run - mark.length;
      if (single && run !== 1 && run !== 3) {
        j += run - 1;
        continue;
      }
      if (/\s/.test(text[close - 1] ?? " ")) {
        j += run - 1;
        continue;
      }
      if ((mark[0] === "_" || intraword) && isWordChar(text[close + mark.length])) {
        j += run - 1;
        continue;
      }
      if (close <= innerStart) continue;
      return { tag, innerStart, innerEnd: close, markLength: mark.length };
    }
  }
  return undefined;
}
