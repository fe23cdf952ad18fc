import type { MessageHandler } from "./adapter.js";
import { KeyedQueue } from "./keyed-queue.js";
import { isParleyError } from "./errors.js";
import { parseCommand } from "./parse.js";
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
}

/**
 * The one path every message takes: parse, check permission, rate limit,
 * run, and turn any failure into a short reply. Messages of one channel are
 * handled one at a time, in order.
 */
export function createDispatcher(services: Services): Dispatcher {
  const byName = new Map(services.commands.map((c) => [c.name, c]));
  const chat = byName.get("chat");
  if (!chat) throw new Error("the chat command is not registered");
  const queue = new KeyedQueue();
  /** Users told they are over a limit, until when (epoch ms): one notice per wait. */
  const noticeUntil = new Map<string, number>();
  const { config, log } = services;

  async function handleOne(message: IncomingMessage, reply: Reply): Promise<void> {
    const text = message.text.trim();
    if (text.length > config.maxInputChars) {
      await reply.send(`That message is too long (${text.length} characters; the limit is ${config.maxInputChars}). Please shorten it.`);
      return;
    }
    const parsed = message.command ?? parseCommand(text, config.prefixes);
    const prefix = config.prefixes[0]!;
    if (!parsed && config.prefixes.includes(text)) {
      await reply.send(`Which command? Send ${prefix}help for the list, or just write to me.`);
      return;
    }
    let command: Command = chat!;
    let args = text;
    if (parsed) {
      const found = byName.get(parsed.name.toLowerCase());
      if (!found) {
        await reply.send(`Unknown command ${prefix}${parsed.name}. Send ${prefix}help for the list.`);
        return;
      }
      command = found;
      args = parsed.args.trim();
    }

    const restricted = typeof command.moderatorOnly === "function" ? command.moderatorOnly(args) : Boolean(command.moderatorOnly);
    if (restricted && !message.channel.private && !(await message.isModerator())) {
      await reply.send(`Only ${moderatorWord[message.platform]} can use ${prefix}${command.name}${args ? " " + args.split(/\s+/)[0] : ""} here.`);
      return;
    }

    if (!command.unlimited && !(await withinLimits(message, reply))) return;
    await command.run({ message, reply, args, services });
  }

  async function withinLimits(message: IncomingMessage, reply: Reply): Promise<boolean> {
    const exempt = config.limits.exemptModerators && (message.channel.private || (await message.isModerator()));
    const verdict = await services.limits.take(message.author.key, { moderator: exempt });
    if (verdict.ok) {
      await services.usage.countRequest(message.author.key, message.channel.key);
      return true;
    }
    const now = Date.now();
    if ((noticeUntil.get(message.author.key) ?? 0) > now) {
      log.debug({ user: message.author.key }, "over the rate limit again; already told");
      return false;
    }
    // Users whose wait is over need no entry: keep the map from growing with every user ever limited.
    if (noticeUntil.size >= 1000) for (const [user, until] of noticeUntil) if (until <= now) noticeUntil.delete(user);
    noticeUntil.set(message.author.key, now + verdict.retryAfterMs);
    const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
    await reply.send(`Slow down, ${message.author.name}: you've reached your limit for this ${verdict.window}. Try again in ${formatWait(seconds)}.`);
    return false;
  }

  async function handle(incoming: IncomingMessage, reply: Reply): Promise<void> {
    if (!incoming.addressed) return;
    // The permission check, the limit exemption and a command may each need the answer; on Discord it can cost REST calls.
    const message: IncomingMessage = { ...incoming, isModerator: askedOnce(() => incoming.isModerator()) };
    await queue.run(message.channel.key, async () => {
      const started = Date.now();
      try {
        await handleOne(message, reply);
      } catch (e) {
        await answerFailure(e, message, reply);
      } finally {
        log.debug({ channel: message.channel.key, ms: Date.now() - started }, "message handled");
      }
    });
  }

  async function answerFailure(e: unknown, message: IncomingMessage, reply: Reply): Promise<void> {
    const known = isParleyError(e) ? e : undefined;
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

  return { handle, idle: () => queue.idle() };
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

