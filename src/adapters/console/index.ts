import { createInterface } from "node:readline";
import type { Adapter, AdapterContext } from "../../core/adapter.js";
import type { IncomingMessage, Reply } from "../../core/types.js";

export interface ConsoleAdapterOptions {
  /** @defaultValue process.stdin */
  input?: NodeJS.ReadableStream;
  /** Answers go here; logs go to stderr. @defaultValue process.stdout */
  output?: NodeJS.WritableStream;
  /** Show a prompt and stream answers as they come. @defaultValue whether input is a TTY */
  interactive?: boolean;
  /** The console user's display name. @defaultValue `you` */
  userName?: string;
}

/** The channel of the terminal; its one user is its moderator. */
const consoleChannelKey = "console:local";

/**
 * Chats in the terminal: each line is a message. When input is not a
 * terminal, every line is answered in order and `done` resolves once the
 * last answer is printed after end of input.
 */
export function createConsoleAdapter(options: ConsoleAdapterOptions = {}): Adapter {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const interactive = options.interactive ?? Boolean((input as { isTTY?: boolean }).isTTY);
  const userName = options.userName ?? "you";
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let rl: ReturnType<typeof createInterface> | undefined;

  const write = (text: string) =>
    new Promise<void>((resolve) => {
      if (!output.write(text)) output.once("drain", () => resolve());
      else resolve();
    });

  function makeReply(): Reply {
    return {
      typing() {},
      async send(text) {
        await write(`${text}\n`);
      },
      async stream(deltas) {
        let full = "";
        try {
          for await (const delta of deltas) {
            full += delta;
            if (interactive) await write(delta);
          }
        } finally {
          // Piped output gets each answer whole, on its own line.
          if (!interactive) await write(full);
          if (full) await write(full.endsWith("\n") ? "" : "\n");
        }
        return full;
      },
    };
  }

  function toMessage(text: string): IncomingMessage {
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

  return {
    platform: "console",
    done,
    async start(ctx: AdapterContext) {
      rl = createInterface({ input, terminal: interactive, output: interactive ? output : undefined });
      if (interactive) {
        await write("Parley is listening. Type a message, /help for commands, Ctrl+D to quit.\n");
        rl.setPrompt(`${userName}> `);
        rl.prompt();
      }
      let pending = Promise.resolve();
      rl.on("line", (line) => {
        const text = line.trim();
        if (!text) {
          if (interactive) rl?.prompt();
          return;
        }
        // Lines are handed over in order; the dispatcher answers them in order.
        const handled = ctx.dispatch(toMessage(text), makeReply());
        pending = pending.then(() => handled).then(() => {
          if (interactive) rl?.prompt();
        });
      });
      rl.on("close", () => {
        void pending.then(finish);
      });
    },
    async stop() {
      rl?.close();
    },
  };
}
