import type { Logger } from "pino";
import type { KeyValueStore } from "../store/kv.js";
import type { Joining, JoinVerdict } from "./access.js";
import type { Command, IncomingMessage, Platform, Reply } from "./types.js";

/** Hands one normalised message to the core; never rejects. */
export type MessageHandler = (message: IncomingMessage, reply: Reply) => Promise<void>;

/** What the core gives an adapter when it starts. */
export interface AdapterContext {
  dispatch: MessageHandler;
  /** Every command, for menus (`setMyCommands`, Discord application commands). */
  commands: readonly Command[];
  /** Completions for a command option (persona names), for autocomplete. */
  complete(command: string, option: string, prefix: string): Promise<string[]>;
  log: Logger;
  /**
   * The bot was just added to a Telegram group or a Discord server: stay, or
   * say `notice` once and leave (`leaveChat`, `guild.leave()`).
   */
  joined(joining: Joining): JoinVerdict;
  /** The shared store, for an adapter that coordinates replicas through it (Telegram webhook); absent in adapter-only tests. */
  store?: KeyValueStore;
  /** The platform answered a call with 429 Too Many Requests (counted for `/metrics`); absent in adapter-only tests. */
  platformRateLimited?(platform: Platform): void;
}

/** A platform connection: `createXAdapter(config)` returns one. */
export interface Adapter {
  readonly platform: Platform;
  start(ctx: AdapterContext): Promise<void>;
  /** Stops receiving, lets in-flight replies finish, closes connections. */
  stop(): Promise<void>;
  /** Resolves when the adapter has nothing more to do (console: end of input). */
  readonly done?: Promise<void>;
  /** Whether it is connected to its platform now (for `/readyz`); absent: connected once started. */
  ready?(): boolean;
}
