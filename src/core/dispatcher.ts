import { blockChannels, privateBotNotice } from "./access.js";
import type { MessageHandler } from "./adapter.js";
import { KeyedQueue } from "./keyed-queue.js";
import { isParleyError, stoppedBy } from "./errors.js";
import { parseCommand } from "./parse.js";
import type { CountedMessage, MessageOutcome } from "../metrics/messages.js";
import type { Admitted, LimitKind } from "../ratelimit/user-limits.js";
import type { Services } from "./services.js";
import type { Command, IncomingMessage, Reply } from "./types.js";

/** The word users of each platform know for the people who may reset the bot. */
const moderatorWord: Record<IncomingMessage["platform"], string> = {
  console: "moderators",
  telegram: "group admins",
  discord: "moderators",
};

/** The core's entry point for adapters. */
export interface Dispatcher {
  handle: MessageHandler;
  /** Resolves when every message received so far has been answered. */
  idle(): Promise<void>;
  /**
   * The bot is shutting down and its grace period is running out: answers
   * in flight end now, marked as stopped, and messages still waiting are
   * told the bot is restarting.
   */
  stopAnswers(): void;
}

const dayMs = 86_400_000;
/** A message waiting this long behind another in its channel is told why. */
const STILL_ANSWERING_AFTER_MS = 2_000;

/**
 * The one path every message takes: access lists and blocks, parse, check
 * permission, rate limit, run, and turn any failure into a short reply.
 * Messages of one channel are handled one at a time, in order.
 */
export function createDispatcher(services: Services): Dispatcher {
  const byName = new Map(services.commands.map((c) => [c.name, c]));
  const chat = byName.get("chat");
  if (!chat) throw new Error("the chat command is not registered");
  const queue = new KeyedQueue();
  const { config, log } = services;
  const shutdown = new AbortController();
  /** `channel\nauthor` of members told that the bot is busy in that channel, until their message's turn comes. */
  const toldWaiting = new Set<string>();

  async function handleOne(message: IncomingMessage, reply: Reply, signal: AbortSignal, counted: CountedMessage): Promise<MessageOutcome> {
    if (!(await mayUse(message, reply))) return "ignored";
    const text = message.text.trim();
    if (text.length > config.maxInputChars) {
      await reply.send(`That message is too long (${text.length} characters; the limit is ${config.maxInputChars}). Please shorten it.`);
      return "rejected";
    }
    const parsed = message.command ?? parseCommand(text, config.prefixes);
    const prefix = config.prefixes[0]!;
    if (!parsed && config.prefixes.includes(text)) {
      await reply.send(`Which command? Send ${prefix}help for the list, or just write to me.`);
      return "rejected";
    }
    let command: Command = chat!;
    let args = text;
    if (parsed) {
      const found = byName.get(parsed.name.toLowerCase());
      if (!found) {
        counted.command = "unknown";
        await reply.send(`Unknown command ${prefix}${parsed.name}. Send ${prefix}help for the list.`);
        return "rejected";
      }
      command = found;
      args = parsed.args.trim();
    }
    counted.command = command.name;

    const { moderatorOnly } = command;
    const byForm = typeof moderatorOnly === "function";
    const restricted = byForm ? moderatorOnly(args) : Boolean(moderatorOnly);
    if (restricted && !message.channel.private && !(await message.isModerator())) {
      // Only a command restricted in some forms (`persona NAME`) names the form.
      const form = byForm && args ? ` ${args.split(/\s+/)[0]}` : "";
      await reply.send(`Only ${moderatorWord[message.platform]} can use ${prefix}${command.name}${form} here.`);
      return "forbidden";
    }

    const kind = command.callsModel ? "model" : "command";
    const admitted = await withinLimits(message, reply, kind);
    if (!admitted) return "limited";
    let outcome: void | "unanswered";
    try {
      outcome = await command.run({ message, reply, args, services, signal });
    } catch (e) {
      // A message the bot failed to answer costs the user nothing; the failure is answered by the caller.
      await admitted.refund().catch((refundError: unknown) => log.warn({ err: refundError, user: message.author.key }, "could not give back a request"));
      throw e;
    }
    if (outcome === "unanswered") {
      await admitted.refund();
      return "unanswered";
    }
    // The answer is out: a counter the store could not take is logged, not told to the user.
    await services.usage.count(message.author.key, message.channel.key, kind).catch((e: unknown) => {
      if (!storeDown(e)) throw e;
      log.warn({ err: e, user: message.author.key }, "could not count a request");
    });
    return "answered";
  }

  /**
   * The access lists, then blocks. A stranger in a private chat is told once
   * a day that the bot is private; anywhere else, and a blocked user
   * anywhere, gets silence.
   */
  async function mayUse(message: IncomingMessage, reply: Reply): Promise<boolean> {
    if (services.access.isOwner(message.author.key)) return true;
    const verdict = services.access.check(message);
    if (!verdict.allowed && !verdict.tell) {
      log.debug({ user: message.author.key, channel: message.channel.key }, "not on the access lists; ignored");
      return false;
    }
    // While the store is away, blocks cannot be read; everything a blocked user could do but `help` needs the store anyway.
    if (await whenStoreDown(services.blocks.isBlocked(message.author.key, blockChannels(message)), false, "blocks")) {
      log.debug({ user: message.author.key, channel: message.channel.key }, "blocked; ignored");
      return false;
    }
    if (verdict.allowed) return true;
    log.debug({ user: message.author.key, channel: message.channel.key, private: true }, "not on the access lists; ignored");
    if (await whenStoreDown(services.notices.claim("private-bot", message.author.key, dayMs), false, "notices")) await reply.send(privateBotNotice);
    return false;
  }

  /** Takes one request of the user's limits for this kind of message, or tells them (once per wait) to slow down. */
  async function withinLimits(message: IncomingMessage, reply: Reply, kind: LimitKind): Promise<Admitted | undefined> {
    const exempt = config.limits.exemptModerators && (message.channel.private || (await message.isModerator()));
    // Likewise the limits: a command that needs the store fails on its own, and `help` still answers.
    const verdict = await whenStoreDown(services.limits.take(message.author.key, kind, { moderator: exempt }), unchecked, "limits");
    if (verdict.ok) return verdict;
    services.metrics.limitRefused(message.platform, kind, verdict.window);
    if (!(await services.notices.claim("rate-limit", message.author.key, verdict.retryAfterMs))) {
      log.debug({ user: message.author.key }, "over the rate limit again; already told");
      return undefined;
    }
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    await reply.send(`Slow down, ${message.author.name}: you've reached your limit for this ${verdict.window}. Try again in ${formatWait(seconds)}.`);
    return undefined;
  }

  async function handle(incoming: IncomingMessage, reply: Reply): Promise<void> {
    if (!incoming.addressed) return;
    // The permission check, the limit exemption and a command may each need the answer; on Discord it can cost REST calls.
    // Owners are moderators everywhere.
    const owner = services.access.isOwner(incoming.author.key);
    const message: IncomingMessage = { ...incoming, isModerator: owner ? async () => true : askedOnce(() => incoming.isModerator()) };
    const waitingKey = `${message.channel.key}\n${message.author.key}`;
    const waitNotice = queue.busy(message.channel.key) ? setTimeout(() => void tellWaiting(message, reply, waitingKey), STILL_ANSWERING_AFTER_MS) : undefined;
    await queue.run(message.channel.key, async () => {
      clearTimeout(waitNotice);
      toldWaiting.delete(waitingKey);
      const started = Date.now();
      const signal = reply.signal ? AbortSignal.any([shutdown.signal, reply.signal]) : shutdown.signal;
      const counted = services.metrics.messageReceived(message.platform);
      try {
        counted.end(await handleOne(message, reply, signal, counted));
      } catch (e) {
        counted.failed(e);
        await answerFailure(e, message, reply);
      } finally {
        log.debug({ channel: message.channel.key, ms: Date.now() - started }, "message handled");
      }
    });
  }

  /**
   * A member whose message waits behind a slow answer is told why, once
   * while they wait. Only the access lists are asked (no store read), so a
   * stranger in a group still gets silence.
   */
  async function tellWaiting(message: IncomingMessage, reply: Reply, waitingKey: string): Promise<void> {
    if (toldWaiting.has(waitingKey)) return;
    if (!services.access.isOwner(message.author.key) && !services.access.check(message).allowed) return;
    toldWaiting.add(waitingKey);
    try {
      await reply.send("I'm still answering an earlier message here; yours is next in line.");
    } catch (e) {
      log.warn({ err: e, channel: message.channel.key }, "could not say the bot is busy");
    }
  }

  /** The store's answer, or `fallback` (with a warning) when the store cannot be reached. */
  async function whenStoreDown<T>(asked: Promise<T>, fallback: T, what: string): Promise<T> {
    try {
      return await asked;
    } catch (e) {
      if (!storeDown(e)) throw e;
      log.warn({ code: "store_unavailable" }, `store unreachable: ${what} not checked for this message`);
      return fallback;
    }
  }

  async function answerFailure(e: unknown, message: IncomingMessage, reply: Reply): Promise<void> {
    const known = isParleyError(e) ? e : undefined;
    if (known?.code === "stopped") {
      // Stopped by the person asking: their adapter marks it. Stopped by a shutdown: they may ask again soon.
      log.info({ channel: message.channel.key, user: message.author.key, why: known.userMessage }, "answer stopped");
      if (reply.signal?.aborted) return;
      await reply.send("The bot is restarting; please send that again in a moment.").catch((sendError: unknown) => {
        log.warn({ err: sendError, channel: message.channel.key }, "could not say the bot is restarting");
      });
      return;
    }
    log[known && known.code !== "internal" ? "warn" : "error"](
      { err: e, channel: message.channel.key, user: message.author.key, code: known?.code },
      "message failed",
    );
    const text = known?.userMessage ?? "Something went wrong while handling that; it has been logged. Please try again.";
    try {
      await reply.send(text);
    } catch (sendError) {
      log.error({ err: sendError, channel: message.channel.key }, "could not send the error reply");
    }
  }

  return {
    handle,
    idle: () => queue.idle(),
    stopAnswers: () => shutdown.abort(stoppedBy.restart()),
  };
}

/** A request let through unchecked (the store was away): nothing to give back. */
const unchecked: Admitted = { ok: true, refund: async () => {} };

function storeDown(e: unknown): boolean {
  return isParleyError(e) && e.code === "store_unavailable";
}

/** Calls `ask` the first time only; later calls get the same answer. */
function askedOnce(ask: () => Promise<boolean>): () => Promise<boolean> {
  let answer: Promise<boolean> | undefined;
  return () => (answer ??= ask());
}

function formatWait(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} min`;
  return `${Math.ceil(seconds / 3600)} h`;
}

