import { createInterface, type Interface } from "node:readline";
import type { Adapter, AdapterContext } from "../../core/adapter.js";
import type { IncomingMessage } from "../../core/types.js";
import { pipedReply, TerminalReply, type ConsoleReply } from "./reply.js";
import { ConsoleScreen, type TerminalOutput } from "./screen.js";

export interface ConsoleAdapterOptions {
  /** @defaultValue process.stdin */
  input?: NodeJS.ReadableStream;
  /** Answers go here; logs go to stderr. @defaultValue process.stdout */
  output?: TerminalOutput;
  /**
   * Show a prompt, a "thinking…" mark and answers as they come; Ctrl-C
   * stops an answer. @defaultValue whether input is a TTY
   */
  interactive?: boolean;
  /** ANSI styling of the dim marks. @defaultValue true unless `NO_COLOR` is set */
  color?: boolean;
  /** The console user's display name. @defaultValue `you` */
  userName?: string;
  /**
   * Ctrl-C at an idle prompt, or again while an answer is stopping: quit as
   * the signal would (the terminal in raw mode sends none).
   * @defaultValue sends SIGINT to this process
   */
  onQuit?: () => void;
}

/** The console adapter, and how a log line is written without breaking into the conversation. */
export interface ConsoleAdapter extends Adapter {
  /**
   * Runs `print` (which writes whole lines, e.g. a log line on stderr) with
   * the prompt or the answer's current line cleared first and drawn again
   * after. Outside an interactive terminal it just runs `print`.
   */
  printAbove(print: () => void): void;
}

/** The channel of the terminal; its one user is its moderator. */
const consoleChannelKey = "console:local";

const greeting = "Parley is listening. Type a message, or /help for commands.\nCtrl+C stops an answer; Ctrl+D quits.\n";

function toMessage(text: string, userName: string): IncomingMessage {
  return {
    platform: "console",
    channel: { key: consoleChannelKey, private: true, title: "terminal" },
    author: { key: "console:local", name: userName },
    text,
    addressed: true,
    isModerator: async () => true,
    raw: text,
  };
}

/**
 * Chats in the terminal: each line is a message. When input is not a
 * terminal, every line is answered in order and `done` resolves once the
 * last answer is printed after end of input.
 */
export function createConsoleAdapter(options: ConsoleAdapterOptions = {}): ConsoleAdapter {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const interactive = options.interactive ?? Boolean((input as { isTTY?: boolean }).isTTY);
  const userName = options.userName ?? "you";
  const quit = options.onQuit ?? (() => process.kill(process.pid, "SIGINT"));
  const screen = interactive ? new ConsoleScreen(output, options.color ?? !process.env.NO_COLOR) : undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let rl: Interface | undefined;
  /** Messages handed to the core and not yet answered, oldest first. */
  const unanswered: ConsoleReply[] = [];

  const write = (text: string) =>
    new Promise<void>((resolve) => {
      if (!output.write(text)) output.once("drain", () => resolve());
      else resolve();
    });

  /**
   * Ctrl-C stops the oldest answer still going; at the prompt it clears
   * what was typed, as shells do; at an empty prompt (or again while an
   * answer is stopping) it quits.
   */
  function onCtrlC(): void {
    const answering = unanswered.find((reply) => !reply.stopped);
    if (answering) {
      answering.stop();
      return;
    }
    if (unanswered.length === 0 && rl?.line) {
      rl.write(null, { ctrl: true, name: "e" });
      rl.write(null, { ctrl: true, name: "u" });
      return;
    }
    if (screen?.leavePrompt()) output.write("\n");
    quit();
  }

  return {
    platform: "console",
    done,
    printAbove(print) {
      if (screen) screen.printAbove(print);
      else print();
    },
    async start(ctx: AdapterContext) {
      if (screen) {
        const terminal = createInterface({ input, output: screen.echo, terminal: true });
        rl = terminal;
        screen.attach(terminal);
        await write(greeting);
        terminal.setPrompt(`${userName}> `);
        screen.showPrompt();
        // Listening for it keeps readline from closing on Ctrl-C.
        terminal.on("SIGINT", onCtrlC);
      } else {
        rl = createInterface({ input, terminal: false });
      }
      let pending = Promise.resolve();
      rl.on("line", (line) => {
        const text = line.trim();
        // A line typed while an answer is on screen was not echoed; its reply shows it first.
        const typedAhead = unanswered.length > 0;
        screen?.leavePrompt();
        if (!text) {
          if (!typedAhead) screen?.showPrompt();
          return;
        }
        const reply = screen ? new TerminalReply(screen, typedAhead ? `${userName}> ${text}` : undefined) : pipedReply(write);
        unanswered.push(reply);
        // Lines are handed over in order; the dispatcher answers them in order.
        const handled = ctx.dispatch(toMessage(text, userName), reply);
        pending = pending
          .then(() => handled)
          .then(() => {
            reply.finish();
            unanswered.splice(unanswered.indexOf(reply), 1);
            if (unanswered.length === 0) screen?.showPrompt();
          });
      });
      rl.on("close", () => {
        // Ctrl+D at the prompt: what the shell prints next starts on a line of its own.
        if (screen?.leavePrompt()) output.write("\n");
        void pending.then(finish);
      });
    },
    async stop() {
      rl?.close();
    },
  };
}
