/**
 * What is on the terminal's current line: the prompt with what the person
 * is typing, or the answer being written (or its "thinking…" mark). Knowing
 * it lets a log line, or a message of another reply, be printed above it:
 * the line is cleared, the text printed, the line drawn again.
 */
import type { Interface } from "node:readline";
import { Writable } from "node:stream";

/** A terminal's output as readline sees it: a stream that may know its width. */
export type TerminalOutput = NodeJS.WritableStream & { columns?: number };

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** Back to the start of the line, and erase from there to the end of the screen. */
const CLEAR_DOWN = "\r\x1b[J";
/** Width assumed when the output does not say (not a terminal). */
const DEFAULT_COLUMNS = 80;

const up = (rows: number) => (rows > 0 ? `\x1b[${rows}A` : "");

/** `text` in a dim grey, or as it is without colour. */
export function dimmed(text: string, color: boolean): string {
  return color ? `\x1b[2m${text}\x1b[22m` : text;
}

export class ConsoleScreen {
  /**
   * The output readline writes its prompt and echo to. Muted while an
   * answer is on screen, so what the person types ahead does not land in
   * the middle of the answer; readline still keeps it for the next prompt.
   */
  readonly echo: Writable & { columns?: number };
  private muted = true;
  private rl?: Interface;
  private promptShown = false;
  /** The reply whose text is on the cursor's line, and that text as written. */
  private owner: object | undefined;
  private line = "";

  constructor(
    private readonly output: TerminalOutput,
    /** ANSI styling of the screen's own marks. */
    readonly color: boolean,
  ) {
    const screen = this;
    this.echo = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (!screen.muted) output.write(chunk);
        callback();
      },
    });
    Object.defineProperty(this.echo, "columns", { get: () => output.columns });
    (output as NodeJS.EventEmitter).on?.("resize", () => this.echo.emit("resize"));
  }

  /** The readline whose prompt is redrawn after a line printed above it. */
  attach(rl: Interface): void {
    this.rl = rl;
  }

  /** Shows the prompt, with what was typed ahead while the answer was written. */
  showPrompt(): void {
    this.owner = undefined;
    this.line = "";
    this.muted = false;
    this.promptShown = true;
    this.rl?.prompt(true);
  }

  /** Enter was pressed: readline moved to a fresh line; answers write from here. Says whether the prompt was shown. */
  leavePrompt(): boolean {
    const shown = this.promptShown;
    this.promptShown = false;
    this.muted = true;
    return shown;
  }

  /** Nothing on the current line but, maybe, `who`'s own text: `who` may write there. */
  lineFreeFor(who: object): boolean {
    return !this.promptShown && (this.owner === who || this.line === "");
  }

  /** Whether `who`'s text is on the current line (an answer in mid-line). */
  holdsLine(who: object): boolean {
    return this.owner === who && this.line !== "";
  }

  /** What `who` left on the current line; empty when the line is not theirs. */
  lineOf(who: object): string {
    return this.owner === who ? this.line : "";
  }

  /**
   * Writes `text` for `who`: on the current line when it is free for them,
   * otherwise above the prompt or the other reply's line.
   */
  write(who: object, text: string): void {
    if (!this.lineFreeFor(who)) {
      this.printAbove(() => this.output.write(text.endsWith("\n") ? text : `${text}\n`));
      return;
    }
    this.owner = who;
    this.output.write(text);
    this.line = (this.line + text).split("\n").at(-1) ?? "";
  }

  /** Replaces `who`'s current line (the thinking mark) with `text`. */
  replaceLine(who: object, text: string): void {
    if (!this.lineFreeFor(who)) return;
    this.output.write(`${this.clearing()}${text}`);
    this.owner = who;
    this.line = text.split("\n").at(-1) ?? "";
  }

  /** Ends `who`'s line if they left it in mid-line, and gives the line up. */
  release(who: object): void {
    if (this.owner !== who) return;
    if (this.line) this.output.write("\n");
    this.owner = undefined;
    this.line = "";
  }

  /** Runs `print` (which writes whole lines) above what the current line shows, then draws that line again. */
  printAbove(print: () => void): void {
    this.output.write(this.clearing());
    try {
      print();
    } finally {
      this.redraw();
    }
  }

  /** Escape codes that erase the current line, wrapped rows included, leaving the cursor at its start. */
  private clearing(): string {
    if (this.promptShown && this.rl) return `${up(this.rl.getCursorPos().rows)}${CLEAR_DOWN}`;
    if (!this.line) return "";
    const width = this.line.replace(ANSI, "").length;
    const columns = this.output.columns || DEFAULT_COLUMNS;
    return `${up(width === 0 ? 0 : Math.floor((width - 1) / columns))}${CLEAR_DOWN}`;
  }

  private redraw(): void {
    if (this.promptShown && this.rl) {
      const typed = this.rl.line;
      const back = typed.length - this.rl.cursor;
      this.output.write(`${this.rl.getPrompt()}${typed}${back > 0 ? `\x1b[${back}D` : ""}`);
      return;
    }
    if (this.line) this.output.write(this.line);
  }
}
