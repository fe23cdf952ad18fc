/**
 * One pino JSON line as one short line for a person at a terminal:
 * `12:03:04 warn message failed: ollama (llama3.2): connection failed · code=provider_unavailable`.
 * Stacks only when the logger runs at `debug` or `trace`.
 */

export interface PrettyOptions {
  /** ANSI styling (dim warnings, red errors); off for `NO_COLOR`. */
  color: boolean;
  /** Print an error's stack under its line (`LOG_LEVEL=debug`). */
  stacks: boolean;
  /** Lines below `error` are cut to this many characters (the terminal's width); undefined keeps them whole. */
  maxChars?: number;
  /** Removes secrets; applied to the whole text before it is cut or styled, so no cut can leave half a key. */
  scrub?: (text: string) => string;
}

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const ERROR_LEVEL = 50;
/** Fields every line has, or that are shown apart from the `key=value` list. */
const SHOWN_APART = new Set(["level", "time", "msg", "err", "pid", "hostname"]);
const VALUE_MAX_CHARS = 80;

const dim = (text: string) => `\x1b[2m${text}\x1b[22m`;
const red = (text: string) => `\x1b[31m${text}\x1b[39m`;

function clock(time: unknown): string {
  const date = typeof time === "number" ? new Date(time) : new Date();
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function shortValue(value: unknown, scrub: (text: string) => string): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const oneLine = scrub(text ?? String(value)).replace(/\s+/g, " ");
  return oneLine.length > VALUE_MAX_CHARS ? `${oneLine.slice(0, VALUE_MAX_CHARS - 1)}…` : oneLine;
}

function firstLine(text: unknown): string {
  return typeof text === "string" ? (text.split("\n")[0] ?? "") : "";
}

/** `line` as a person reads it; a line that is not pino's JSON is passed through as it is. */
export function prettyLine(line: string, options: PrettyOptions): string {
  const scrub = options.scrub ?? ((text: string) => text);
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return scrub(line);
  }
  if (typeof entry !== "object" || entry === null) return scrub(line);
  const level = typeof entry.level === "number" ? entry.level : 30;
  const err = typeof entry.err === "object" && entry.err !== null ? (entry.err as Record<string, unknown>) : undefined;

  let text = typeof entry.msg === "string" ? entry.msg : "";
  const why = firstLine(err?.message);
  if (why) text += `: ${why}`;
  const fields = Object.entries(entry)
    .filter(([key, value]) => !SHOWN_APART.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${shortValue(value, scrub)}`);
  if (fields.length > 0) text += ` · ${fields.join(" ")}`;

  const label = LEVELS[level] ?? String(level);
  let out = scrub(`${clock(entry.time)} ${label} ${text}`);
  if (level < ERROR_LEVEL && options.maxChars !== undefined && out.length > options.maxChars) {
    out = `${out.slice(0, Math.max(1, options.maxChars - 1))}…`;
  }
  if (options.color) {
    if (level >= ERROR_LEVEL) out = out.replace(label, red(label));
    else if (level !== 30) out = dim(out);
  }
  const stack = options.stacks && typeof err?.stack === "string" ? scrub(err.stack) : "";
  if (stack) {
    const indented = stack.replace(/^/gm, "    ");
    out += `\n${options.color ? dim(indented) : indented}`;
  }
  return out;
}
