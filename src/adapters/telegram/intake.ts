/**
 * What the webhook does with an update before Telegram is answered. Each
 * update id is taken once (a second delivery, or the same update posted to
 * another replica, is dropped). With Redis, the update is queued under its
 * chat in Redis and answered by whichever replica holds that chat's turn,
 * one at a time in update order; without it, it is handled in this process,
 * where grammY's `sequentialize` keeps a chat's order.
 */
import type { Bot } from "grammy";
import type { Update } from "grammy/types";
import type { Logger } from "pino";
import { SharedQueue, type ScriptingClient } from "../../cluster/shared-queue.js";
import type { KeyValueStore } from "../../store/kv.js";

export interface UpdateIntake {
  /** Takes one update; resolves when Telegram may be answered 200, rejects when it should deliver it again. */
  receive(update: Update): Promise<void>;
  /** Takes no more; resolves when the updates this process is answering are done. */
  stop(): Promise<void>;
}

export interface UpdateIntakeOptions {
  bot: Bot;
  /** The shared store; absent (tests of the adapter alone), ids are remembered in this process. */
  store?: KeyValueStore;
  log: Logger;
  /** How long a chat's turn is held without renewal, in milliseconds (see {@link SharedQueue}). */
  chatLockMs: number;
  /**
   * In-process mode: how long Telegram's request is held while the update
   * is handled, in milliseconds; then it is answered 200 and handling goes
   * on, so a long answer is never delivered twice.
   */
  answerWithinMs: number;
}

/** Telegram redelivers an unanswered update for a while; an id is remembered well past that. */
const REMEMBER_UPDATES_MS = 86_400_000;
const NAMESPACE = "telegram-updates";

/** Chooses the shared queue when the store is Redis, else handling in this process. */
export function createUpdateIntake(opts: UpdateIntakeOptions): UpdateIntake {
  const redis = opts.store?.redis(NAMESPACE);
  const botId = opts.bot.botInfo.id;
  if (opts.store && redis) {
    const store = opts.store;
    const queue = new SharedQueue({
      client: redis.client as ScriptingClient,
      // Update ids count per bot: two bots sharing a Redis must not drop each other's.
      keyPrefix: `${redis.keyPrefix}${botId}:`,
      guarded: (operation, call) => store.guarded(operation, call),
      log: opts.log,
      lockMs: opts.chatLockMs,
      rememberMs: REMEMBER_UPDATES_MS,
      handle: (_chat, payload) => opts.bot.handleUpdate(JSON.parse(payload) as Update),
    });
    return {
      async receive(update) {
        const chat = chatOf(update);
        if (await queue.add(chat, update.update_id, JSON.stringify(update))) queue.drain(chat);
      },
      stop: () => queue.stop(),
    };
  }

  const claim = opts.store
    ? (id: number) => opts.store!.hashes(NAMESPACE).claim(`${botId}:${id}`, REMEMBER_UPDATES_MS)
    : localClaims(REMEMBER_UPDATES_MS);
  const handling = new Set<Promise<void>>();
  let stopped = false;
  return {
    async receive(update) {
      if (stopped || !(await claim(update.update_id))) return;
      const task = opts.bot.handleUpdate(update).finally(() => handling.delete(task));
      handling.add(task);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([task, new Promise((resolve) => (timer = setTimeout(resolve, opts.answerWithinMs)))]);
      clearTimeout(timer);
    },
    async stop() {
      stopped = true;
      await Promise.allSettled([...handling]);
    },
  };
}

/**
 * The key one chat's updates are ordered under: the chat, or a forum topic
 * of it, as grammY's `sequentialize` in polling mode.
 */
export function chatOf(update: Update): string {
  const message = update.message ?? update.edited_message;
  const chat = message?.chat ?? update.my_chat_member?.chat ?? update.channel_post?.chat;
  if (!chat) return "other";
  const topic = message?.is_topic_message ? (message.message_thread_id ?? "") : "";
  return `${chat.id}:${topic}`;
}

/** Update ids taken in this process, each for `forMs`. */
function localClaims(forMs: number): (id: number) => Promise<boolean> {
  const until = new Map<number, number>();
  return async (id) => {
    const now = Date.now();
    if ((until.get(id) ?? 0) > now) return false;
    // Entries are kept in the order taken, all for the same time: the expired ones are at the front.
    for (const [key, at] of until) {
      if (at > now) break;
      until.delete(key);
    }
    until.set(id, now + forMs);
    return true;
  };
}
