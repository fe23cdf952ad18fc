/**
 * Runs the real Discord adapter (real discord.js) against the fake Discord
 * with a recording context instead of the dispatcher, for the adapter's own
 * tests. Logs are captured so tests can check what was (not) logged.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { createDiscordAdapter, type DiscordAdapterOptions } from "../../src/adapters/discord/index.js";
import type { Joining, JoinVerdict } from "../../src/core/access.js";
import type { Adapter, AdapterContext } from "../../src/core/adapter.js";
import type { Command, IncomingMessage, Reply } from "../../src/core/types.js";
import type { FakeDiscordOptions } from "../fakes/discord/index.js";
import { startScenario, type DiscordScenario } from "../fakes/discord/scenario.js";

export type Behaviour = (message: IncomingMessage, reply: Reply) => Promise<void>;

export interface RunningDiscordBot extends DiscordScenario {
  adapter: Adapter;
  received: { message: IncomingMessage; reply: Reply }[];
  /** What the recording context does with each message; nothing by default. */
  behaviour: Behaviour;
  completions: { command: string; option: string; prefix: string }[];
  /** What the recording context answers when asked about a server; stay by default. */
  joinVerdict: (joining: Joining) => JoinVerdict;
  /** Every `joined` question the adapter asked, in order. */
  joinings: Joining[];
  /** Every log line, as JSON text. */
  logs: string[];
  /** Resolves once `n` messages have been handed to the core. */
  waitReceived(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A small command list shaped like the real one (text, autocomplete, moderator-only forms). */
export const testCommands: Command[] = [
  { name: "chat", description: "Talk to the model", usage: "chat <text>", options: [{ name: "text", description: "What to say", required: true }], run: async () => {} },
  {
    name: "persona",
    description: "List personas or switch this channel's persona",
    usage: "persona [name]",
    options: [{ name: "name", description: "The persona to switch to", autocomplete: true }],
    moderatorOnly: (args) => args.length > 0,
    run: async () => {},
  },
  { name: "remember", description: "Remember a fact", usage: "remember <fact>", options: [{ name: "fact", description: "The fact", required: true }], run: async () => {} },
  { name: "reset", description: "Clear this channel's conversation", usage: "reset [all]", options: [{ name: "scope", description: "all" }], moderatorOnly: true, run: async () => {} },
  { name: "help", description: "List the commands", usage: "help", run: async () => {} },
];

export async function startDiscordBot(
  options: {
    fake?: FakeDiscordOptions;
    /** Adapter options; a function gets the scenario, for ids such as role ids. */
    adapter?: Partial<DiscordAdapterOptions> | ((scenario: DiscordScenario) => Partial<DiscordAdapterOptions>);
    commands?: Command[];
    completions?: string[];
    /** The answer to `joined`, from the start (servers the bot is in at start are asked about too). */
    joinVerdict?: (joining: Joining) => JoinVerdict;
  } = {},
): Promise<RunningDiscordBot> {
  const scenario = await startScenario(options.fake);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const extra = typeof options.adapter === "function" ? options.adapter(scenario) : options.adapter;
  const adapter = createDiscordAdapter({ token: scenario.fake.token, apiUrl: scenario.fake.apiUrl, ...extra });
  const bot: RunningDiscordBot = {
    ...scenario,
    adapter,
    received: [],
    behaviour: async () => {},
    completions: [],
    joinVerdict: options.joinVerdict ?? (() => ({ stay: true })),
    joinings: [],
    logs,
    async waitReceived(n, timeoutMs = 15_000) {
      await scenario.fake.waitFor(() => bot.received.length >= n, timeoutMs);
    },
    async stop() {
      await adapter.stop();
      await scenario.fake.close();
    },
  };
  const ctx: AdapterContext = {
    async dispatch(message, reply) {
      bot.received.push({ message, reply });
      await bot.behaviour(message, reply);
    },
    commands: options.commands ?? testCommands,
    async complete(command, option, prefix) {
      bot.completions.push({ command, option, prefix });
      return (options.completions ?? []).filter((name) => name.startsWith(prefix));
    },
    joined(joining) {
      bot.joinings.push(joining);
      return bot.joinVerdict(joining);
    },
    log: pino({ level: "debug" }, sink),
  };
  await adapter.start(ctx);
  return bot;
}

/** Yields `parts` with a pause before each, like a model streaming tokens. */
export async function* slowly(parts: string[], delayMs: number): AsyncIterable<string> {
  for (const part of parts) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    yield part;
  }
}
