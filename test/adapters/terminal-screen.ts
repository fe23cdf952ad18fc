import { PassThrough } from "node:stream";

/**
 * A fake terminal for the console adapter: keys go in as a TTY would send
 * them, and what is written out is played on a small screen model (cursor
 * moves, line and screen erases, wrapping), so tests read what a person
 * would see rather than escape codes.
 */
export interface FakeTerminal {
  input: PassThrough & { isTTY: true };
  output: PassThrough & { isTTY: true; columns: number };
  /** Types keys (`"hello\r"`, `"\x03"` for Ctrl-C). */
  type(keys: string): void;
  /** Every byte written so far. */
  raw(): string;
  /** The screen's lines as shown now, trailing blanks trimmed, trailing empty lines dropped. */
  lines(): string[];
  /** The line the cursor is on. */
  cursorLine(): string;
  /** Resolves once the screen satisfies `ok`; rejects with the screen after `timeoutMs`. */
  waitFor(ok: (screen: string) => boolean, timeoutMs?: number): Promise<string>;
}

export function fakeTerminal(columns = 80): FakeTerminal {
  const input = Object.assign(new PassThrough(), { isTTY: true as const });
  const output = Object.assign(new PassThrough(), { isTTY: true as const, columns });
  let raw = "";
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  /** The cursor sits past the last column until the next character wraps it. */
  let pendingWrap = false;
  const waiters = new Set<() => void>();

  const rowAt = (r: number) => (rows[r] ??= []);
  const lineFeed = () => {
    row++;
    while (rows.length <= row) rows.push([]);
  };
  const put = (ch: string) => {
    if (pendingWrap) {
      lineFeed();
      col = 0;
      pendingWrap = false;
    }
    const line = rowAt(row);
    while (line.length < col) line.push(" ");
    line[col] = ch;
    if (col === columns - 1) pendingWrap = true;
    else col++;
  };

  function play(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === "\x1b" && text[i + 1] === "[") {
        const match = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(text.slice(i));
        if (!match) continue;
        i += match[0].length - 1;
        const n = Number.parseInt(match[1] || "", 10);
        const count = Number.isNaN(n) ? 1 : n;
        pendingWrap = false;
        switch (match[2]) {
          case "A":
            row = Math.max(0, row - count);
            break;
          case "B":
            row += count;
            while (rows.length <= row) rows.push([]);
            break;
          case "C":
            col = Math.min(columns - 1, col + count);
            break;
          case "D":
            col = Math.max(0, col - count);
            break;
          case "G":
            col = Math.max(0, (Number.isNaN(n) ? 1 : n) - 1);
            break;
          case "K": {
            const line = rowAt(row);
            const mode = Number.isNaN(n) ? 0 : n;
            if (mode === 2) line.length = 0;
            else if (mode === 0) line.length = Math.min(line.length, col);
            break;
          }
          case "J":
            rowAt(row).length = Math.min(rowAt(row).length, col);
            rows.length = row + 1;
            break;
          default:
            break; // colours and modes do not move anything
        }
        continue;
      }
      if (ch === "\r") {
        col = 0;
        pendingWrap = false;
      } else if (ch === "\n") {
        lineFeed();
        col = 0;
        pendingWrap = false;
      } else if (ch >= " ") {
        put(ch);
      }
    }
  }

  output.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    raw += text;
    play(text);
    for (const w of [...waiters]) w();
  });

  const lines = () => {
    const shown = rows.map((r) => r.join("").trimEnd());
    while (shown.length > 0 && shown.at(-1) === "") shown.pop();
    return shown;
  };

  return {
    input,
    output,
    type: (keys) => void input.write(keys),
    raw: () => raw,
    lines,
    cursorLine: () => (rows[row] ?? []).join("").trimEnd(),
    waitFor(ok, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const screen = lines().join("\n");
          if (!ok(screen)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(screen);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the screen never matched; it shows:\n${lines().join("\n")}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
