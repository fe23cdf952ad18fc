/**
 * How the console answers one message: in a terminal, a "thinking…" mark
 * until the first words, the answer as it comes, and Ctrl-C to stop it;
 * piped, each answer whole on its own line.
 */
import { stoppedBy } from "../../core/errors.js";
import type { Reply } from "../../core/types.js";
import { dimmed, type ConsoleScreen } from "./screen.js";

/** A reply that the adapter can stop (Ctrl-C) and must finish once the dispatcher is done with it. */
export interface ConsoleReply extends Reply {
  /** Ctrl-C stopped it. */
  readonly stopped: boolean;
  /** Ends the answer where it is, marked `(stopped)`, and aborts `signal` with `stoppedBy.user()`. */
  stop(): void;
  /** The dispatcher is done with the message: whatever the reply left on screen is closed. */
  finish(): void;
}

/** Answers for a pipe: nothing but the answers, each whole, each on its own line. */
export function pipedReply(write: (text: string) => Promise<void>): ConsoleReply {
  return {
    stopped: false,
    stop() {},
    finish() {},
    typing() {},
    async send(text) {
      await write(`${text}\n`);
    },
    async stream(deltas) {
      let full = "";
      try {
        for await (const delta of deltas) full += delta;
      } finally {
        await write(full);
        if (full) await write(full.endsWith("\n") ? "" : "\n");
      }
      return full;
    },
  };
}

const STOP = Symbol("stop");
/** How long a stopped answer's source is given to end on its own before it is left behind, in milliseconds. */
const NOTICE_STOP_MS = 500;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Answers in a terminal. `echo` is the question as it was typed, for a line
 * typed ahead while another answer was on screen (its echo was held back
 * then): it is shown before this reply's first words.
 */
export class TerminalReply implements ConsoleReply {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  stopped = false;
  private thinking = false;

  constructor(
    private readonly screen: ConsoleScreen,
    private echo?: string,
  ) {}

  typing(): void {
    if (this.stopped || this.thinking || !this.screen.lineFreeFor(this) || this.screen.holdsLine(this)) return;
    this.showEcho();
    this.screen.replaceLine(this, dimmed("thinking…", this.screen.color));
    this.thinking = true;
  }

  async send(text: string): Promise<void> {
    // Still shown after a stop: Ctrl-C ends a model's answer, not the news that a fact was stored
    // (the dispatcher sends no error for a stopped answer).
    this.unthink();
    this.show(`${text}\n`);
  }

  async stream(deltas: AsyncIterable<string>): Promise<string> {
    let full = "";
    if (!this.stopped) {
      const stopped = new Promise<typeof STOP>((resolve) => this.signal.addEventListener("abort", () => resolve(STOP), { once: true }));
      const source = deltas[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = source.next();
          // A source that ignores the signal is left behind: its late end or error is of no use.
          next.catch(() => {});
          const got = await Promise.race([next, stopped]);
          if (got === STOP) {
            // The core sees the stop through the signal; once its source has noticed (briefly awaited), it knows the answer was stopped.
            await Promise.race([next, delay(NOTICE_STOP_MS)]).catch(() => {});
            void source.return?.()?.catch(() => {});
            break;
          }
          if (got.done) break;
          if (!got.value) continue;
          this.unthink();
          full += got.value;
          this.show(got.value);
        }
      } finally {
        if (!this.stopped) this.endLine();
      }
    }
    // As the core would see it had the source noticed first: nothing shown is an error, text shown is the (cut) answer.
    if (this.stopped && !full) throw this.signal.reason;
    return full;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const marker = dimmed("(stopped)", this.screen.color);
    if (this.thinking) {
      this.thinking = false;
      this.screen.replaceLine(this, `${marker}\n`);
    } else if (this.screen.holdsLine(this)) {
      this.screen.write(this, `${/\s$/.test(this.screen.lineOf(this)) ? "" : " "}${marker}\n`);
    } else {
      this.show(`${marker}\n`);
    }
    this.controller.abort(stoppedBy.user());
  }

  finish(): void {
    this.endLine();
    this.screen.release(this);
  }

  private show(text: string): void {
    this.showEcho();
    this.screen.write(this, text);
  }

  private showEcho(): void {
    if (this.echo === undefined) return;
    const line = this.echo;
    this.echo = undefined;
    this.screen.write(this, `${line}\n`);
  }

  private unthink(): void {
    if (!this.thinking) return;
    this.thinking = false;
    this.screen.replaceLine(this, "");
  }

  private endLine(): void {
    this.unthink();
    if (this.screen.holdsLine(this)) this.screen.write(this, "\n");
  }
}
