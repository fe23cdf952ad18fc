/**
 * Starts the real Telegram adapter (real grammY) against the fake Bot API
 * server, with a recording `AdapterContext`, for the Telegram tests.
 */
import { Writable } from "node:stream";
import pino from "pino";
import type { Joining, JoinVerdict } from "../../src/core/access.js";
import type { AdapterContext } from "../../src/core/adapter.js";
import type { Command, IncomingMessage, Reply } from "../../src/core/types.js";
import { createTelegramAdapter, type TelegramAdapter, type TelegramAdapterOptions } from "../../src/adapters/telegram/index.js";
import { startFakeTelegram, type FakeTelegram, type FakeTelegramOptions } from "../fakes/telegram.js";

export interface Received {
  message: IncomingMessage;
  reply: Reply;
  atMs: number;
}

export interface TelegramRig {
  tg: FakeTelegram;
  adapter: TelegramAdapter;
  received: Received[];
  /** What the core does with each message; default: nothing. */
  behaviour: (message: IncomingMessage, reply: Reply) => Promise<void>;
  /** Every group the adapter said the bot joined, in order. */
  joinings: Joining[];
  /** The core's answer to a join; default: stay. */
  joinVerdict: (joining: Joining) => JoinVerdict;
  /** Every log line the adapter wrote, as JSON text. */
  logs(): string;
  waitReceived(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function command(name: string, description = `Does ${name}`): Command {
  return { name, description, usage: name, run: async () => {} };
}

export async function startRig(
  opts: {
    fake?: FakeTelegramOptions;
    adapter?: Partial<TelegramAdapterOptions>;
    commands?: Command[];
    /** Skip `botInfo`, so the adapter asks `getMe`. */
    askGetMe?: boolean;
  } = {},
): Promise<TelegramRig> {
  const tg = await startFakeTelegram(opts.fake);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const adapter = createTelegramAdapter({
    token: tg.token,
    apiRoot: tg.apiRoot,
    botInfo: opts.askGetMe ? undefined : tg.botInfo,
    // Nothing else polls the fake here; the check for a second poller has its own test.
    conflictCheckSec: 0,
    ...opts.adapter,
  });
  const rig: TelegramRig = {
    tg,
    adapter,
    received: [],
    behaviour: async () => {},
    joinings: [],
    joinVerdict: () => ({ stay: true }),
    logs: () => lines.join(""),
    async waitReceived(n, timeoutMs = 15_000) {
      await tg.waitFor(() => rig.received.length >= n, timeoutMs, `${n} messages to reach the core`);
    },
    async stop() {
      await adapter.stop();
      await tg.close();
    },
  };
  const ctx: AdapterContext = {
    async dispatch(message, reply) {
      rig.received.push({ message, reply, atMs: Date.now() });
      await rig.behaviour(message, reply);
    },
    commands: opts.commands ?? [command("chat", "Talk to the model"), command("reset", "Forget this chat")],
    complete: async () => [],
    joined(joining) {
      rig.joinings.push(joining);
      return rig.joinVerdict(joining);
    },
    log: pino({ level: "debug" }, sink),
  };
  await adapter.start(ctx);
  // Polling starts in the background: updates pushed before the first poll would not meet the bot's allowed_updates.
  await tg.waitListening(10_000);
  return rig;
}

/** Deltas arriving every `gapMs`. */
export async function* deltas(parts: string[], gapMs: number, failWith?: Error): AsyncIterable<string> {
  for (const part of parts) {
    await sleep(gapMs);
    yield part;
  }
  if (failWith) throw failWith;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
