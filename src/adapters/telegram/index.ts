/**
 * The Telegram adapter: grammY with long polling (`@grammyjs/runner`, one
 * chat's updates in order, chats concurrently; one process per token) or a
 * webhook (any number of replicas on one Redis, see `intake.ts`), auto-retry
 * on 429, the command menu, one `Reply` per message, and the core's say on
 * groups the bot is added to.
 */
import { Bot, GrammyError, type Context } from "grammy";
import type { Message, UserFromGetMe } from "grammy/types";
import { run, sequentialize, type RunnerHandle } from "@grammyjs/runner";
import { autoRetry } from "@grammyjs/auto-retry";
import type { Logger } from "pino";
import type { Adapter, AdapterContext } from "../../core/adapter.js";
import { ParleyError } from "../../core/errors.js";
import type { Command, IncomingMessage } from "../../core/types.js";
import { PacerPool } from "../shared/pacer.js";
import { attachmentsOf, type FileSource } from "./attachments.js";
import { describeError, redact, safeError, withRetryAfter } from "./errors.js";
import { normaliseMessage, type InboundMessage } from "./inbound.js";
import { createUpdateIntake, type UpdateIntake } from "./intake.js";
import { handleBotMembership } from "./joins.js";
import { GroupModerators } from "./moderators.js";
import { createTelegramReply } from "./outbound.js";
import { startWebhookServer, type WebhookServer } from "./webhook.js";

export interface TelegramAdapterOptions {
  /** The bot token from BotFather (`TELEGRAM_BOT_TOKEN`). Never logged. */
  token: string;
  /** Bot API root without a trailing slash, for a self-hosted Bot API server or tests. @defaultValue `https://api.telegram.org` */
  apiRoot?: string;
  /** Serve updates over HTTP instead of long polling. */
  webhook?: {
    /** Public HTTPS URL Telegram posts to; registered with `setWebhook`. */
    url: string;
    /** Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token`; other requests get 401. */
    secretToken?: string;
    /** Port the local HTTP server listens on (0 picks a free one). */
    port: number;
    /** @defaultValue all interfaces */
    host?: string;
  };
  /** The bot's own user, to skip `getMe` (tests). @defaultValue asked with `getMe` on start */
  botInfo?: UserFromGetMe;
  /** How long a group's administrator list is trusted, in milliseconds. @defaultValue 300_000 */
  adminCacheMs?: number;
  /** Least time between edits (and messages) of an answer in a private chat, in milliseconds. @defaultValue 1_000 */
  privateEditIntervalMs?: number;
  /** Least time between edits (and messages) of answers in a group, per group, in milliseconds. @defaultValue 3_000 */
  groupEditIntervalMs?: number;
  /** How often "typing…" is re-sent while the model thinks, in milliseconds (tests shorten it). @defaultValue 4_000 */
  typingEveryMs?: number;
  /** How long `start` keeps trying to reach Telegram (`getMe`) before failing, in milliseconds. @defaultValue 30_000 */
  startTimeoutMs?: number;
  /**
   * Webhook mode with Redis: how long a chat's turn (its lock) lasts without
   * renewal, in milliseconds; a replica that dies mid-answer delays that chat
   * this long at most. @defaultValue 30_000
   */
  chatLockMs?: number;
  /**
   * Polling mode: how long the first poll at start waits for Telegram to say
   * that another process polls with this token (409), in seconds; 0 skips the
   * check. @defaultValue 2
   */
  conflictCheckSec?: number;
}

/** The adapter, plus what tests need to reach a webhook on port 0. */
export interface TelegramAdapter extends Adapter {
  /** The port the webhook server listens on, once started in webhook mode. */
  readonly webhookPort: number | undefined;
}

/** Telegram's command names: lowercase letters, digits and underscores, at most 32. */
const COMMAND_NAME = /^[a-z0-9_]{1,32}$/;
/** How long one Bot API call may take, in seconds; above the 30 s long poll. */
const API_TIMEOUT_SEC = 45;
const LONG_POLL_SEC = 30;
/**
 * The updates the bot asks for: messages, and changes of its own membership
 * (added to a group, so the access lists can make it leave). Telegram keeps
 * this list until it is sent again.
 */
const ALLOWED_UPDATES = ["message", "my_chat_member"] as const;
/** After a 409 on a poll, the wait before polling again: two processes that both passed the start check do not spin. */
const CONFLICT_PAUSE_MS = 250;
/** How long Telegram's request is held while an update is handled in this process, in milliseconds (see `intake.ts`). */
const ANSWER_WITHIN_MS = 2_000;

/** The Telegram adapter; `start` checks the token, registers the menu, then polls or serves the webhook. */
export function createTelegramAdapter(opts: TelegramAdapterOptions): TelegramAdapter {
  const privateIntervalMs = opts.privateEditIntervalMs ?? 1_000;
  const groupIntervalMs = opts.groupEditIntervalMs ?? 3_000;
  const bot = new Bot(opts.token, {
    botInfo: opts.botInfo,
    // grammY appends `/bot<token>/<method>`: a trailing slash would make `//bot…`, which servers answer 404.
    client: { apiRoot: opts.apiRoot?.replace(/\/+$/, ""), timeoutSeconds: API_TIMEOUT_SEC },
  });
  const safe = (error: unknown) => describeError(error, opts.token);
  const files: FileSource = { api: bot.api, apiRoot: opts.apiRoot?.replace(/\/+$/, "") ?? "https://api.telegram.org", token: opts.token };
  // Private chats have positive ids, groups negative ones.
  const pacers = new PacerPool((chatId) => (Number(chatId) > 0 ? privateIntervalMs : groupIntervalMs));
  const moderators = new GroupModerators(bot.api, opts.adminCacheMs ?? 300_000, (error) => safeError(error, opts.token));
  const inFlight = new Set<Promise<void>>();
  let runner: RunnerHandle | undefined;
  let webhook: WebhookServer | undefined;
  let intake: UpdateIntake | undefined;
  let draining = false;
  let log: Logger | undefined;
  let rateLimited: (() => void) | undefined;

  // Installed first, so it runs inside auto-retry and sees every attempt, including each 429.
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      const result = withRetryAfter(await prev(method, payload, signal));
      if (!result.ok && !/message is not modified/.test(result.description)) {
        if (result.error_code === 429) rateLimited?.();
        log?.[result.error_code === 429 ? "info" : "warn"](
          { method, code: result.error_code, description: redact(result.description, opts.token), retryAfterSec: result.parameters?.retry_after },
          "Telegram refused a call",
        );
      }
      return result;
    } catch (error) {
      if (!signal?.aborted) log?.warn({ method, err: safe(error) }, "Telegram could not be reached");
      throw error;
    }
  });
  // 429: wait exactly `retry_after`, then try again. Network errors are not retried here, so a
  // reply cannot hang; polling retries them by itself.
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 300, rethrowHttpErrors: true }));
  // Outermost: the runner stops for good on a 409, so the one this process gets when another starts is turned into an empty poll.
  bot.api.config.use(async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (method !== "getUpdates") return result;
    // The runner starts once the check at start has passed: a 409 after that is someone else starting, who is refused.
    if (!result.ok && result.error_code === 409 && /terminated by other getUpdates/.test(result.description) && runner && !draining) {
      log?.warn("another process polled Telegram with this bot token; it is refused at its start, and this one keeps polling");
      await new Promise((resolve) => setTimeout(resolve, CONFLICT_PAUSE_MS));
      return { ok: true, result: [] } as unknown as typeof result;
    }
    return result;
  });

  let dispatch: AdapterContext["dispatch"] | undefined;
  let joined: AdapterContext["joined"] | undefined;
  let hasStartCommand = false;
  bot.catch((error) => log?.error({ err: safe(error.error) }, "Telegram update failed"));
  // One chat (or forum topic) at a time, in order; different chats run concurrently.
  bot.use(sequentialize((c: Context) => (c.chat ? `${c.chat.id}:${c.message?.is_topic_message ? (c.message.message_thread_id ?? "") : ""}` : undefined)));
  bot.on("message", (c) => {
    if (!dispatch) return;
    return track(onMessage(c, dispatch).catch((error: unknown) => log?.error({ err: safe(error) }, "Telegram message failed")));
  });
  bot.on("my_chat_member", (c) => {
    if (!joined) return;
    return track(handleBotMembership(c.myChatMember, { api: c.api, joined, log, safe }));
  });

  /** Keeps a handler's work, so `stop` can let it finish. */
  function track(task: Promise<void>): Promise<void> {
    inFlight.add(task);
    return task.finally(() => inFlight.delete(task));
  }

  function toIncoming(inbound: InboundMessage, raw: Message): IncomingMessage {
    const attachments = attachmentsOf(raw, files);
    const replied = inbound.replyTo && raw.reply_to_message ? attachmentsOf(raw.reply_to_message, files) : undefined;
    return {
      platform: "telegram",
      channel: { key: inbound.channelKey, private: inbound.isPrivate, title: inbound.title },
      // A forum topic's parent is its group: a block or an access rule for the group holds in every topic.
      place: { chat: String(inbound.chatId), ...(inbound.threadId !== undefined ? { parent: String(inbound.chatId) } : {}) },
      author: { key: inbound.authorKey, name: inbound.authorName },
      text: inbound.text,
      addressed: inbound.addressed,
      mentions: inbound.mentions,
      ...(attachments ? { attachments } : {}),
      ...(inbound.replyTo ? { replyTo: { ...inbound.replyTo, ...(replied ? { attachments: replied } : {}) } } : {}),
      isModerator: async () => inbound.isPrivate || inbound.anonymousAdmin || moderators.isModerator(inbound.chatId, inbound.authorId),
      raw,
    };
  }

  async function onMessage(ctx: Context, dispatch: AdapterContext["dispatch"]): Promise<void> {
    const message = ctx.message;
    if (!message) return;
    const inbound = normaliseMessage(message, ctx.me);
    if (!inbound) return;
    // Telegram clients send /start when someone first opens the bot: greet them with the help.
    if (!hasStartCommand && /^\/start(?:\s|$)/.test(inbound.text)) inbound.text = "/help";
    const reply = createTelegramReply(
      { chatId: inbound.chatId, threadId: inbound.threadId, replyToMessageId: message.message_id },
      {
        api: ctx.api,
        pacer: pacers.get(String(inbound.chatId)),
        typingEveryMs: opts.typingEveryMs,
        onWarning: (event, error) => log?.warn({ err: safe(error), chat: inbound.chatId }, event),
        platformError: (error) =>
          new ParleyError("platform_error", "Telegram would not show my answer just now. Please try again.", {
            cause: safeError(error, opts.token),
            retryable: true,
            detail: `Telegram send/edit failed: ${safe(error).message}`,
          }),
      },
    );
    try {
      await dispatch(toIncoming(inbound, message), reply);
    } finally {
      reply.finish();
    }
  }

  /**
   * Telegram ends an open getUpdates with 409 when another arrives for the
   * same bot; the process polling already polls again at once (see the
   * transformer above), so a long first poll here hears of it.
   */
  async function refuseSecondPoller(): Promise<void> {
    const waitSec = opts.conflictCheckSec ?? 2;
    if (waitSec <= 0) return;
    try {
      await bot.api.getUpdates({ timeout: waitSec, limit: 1, allowed_updates: [...ALLOWED_UPDATES] });
    } catch (error) {
      if (!(error instanceof GrammyError) || error.error_code !== 409) return;
      throw new ParleyError(
        "platform_error",
        "Another process is already polling Telegram with this bot token. Stop it first, or run several replicas in webhook mode (TELEGRAM_WEBHOOK_URL) with one REDIS_URL.",
        { detail: `Telegram getUpdates: ${safe(error).message}` },
      );
    }
  }

  async function registerCommands(commands: readonly Command[]): Promise<void> {
    const menu = commands
      .filter((c) => COMMAND_NAME.test(c.name))
      .slice(0, 100)
      .map((c) => ({ command: c.name, description: (c.description.trim() || c.name).slice(0, 256) }));
    try {
      await bot.api.setMyCommands(menu);
    } catch (error) {
      // The bot works without its menu; say so and carry on.
      log?.warn({ err: safe(error) }, "could not register the Telegram command menu");
    }
  }

  return {
    platform: "telegram",
    // Polling: while the runner runs; webhook: while its server listens.
    ready: () => !draining && (runner?.isRunning() ?? webhook !== undefined),
    get webhookPort() {
      return webhook?.port;
    },

    async start(ctx) {
      log = ctx.log.child({ platform: "telegram" });
      rateLimited = () => ctx.platformRateLimited?.("telegram");
      try {
        // grammY retries getMe on network errors for ever; a start must end.
        await bot.init(AbortSignal.timeout(opts.startTimeoutMs ?? 30_000) as Parameters<typeof bot.init>[0]);
      } catch (error) {
        throw new ParleyError("platform_error", "Telegram did not accept the bot token, or could not be reached.", {
          detail: `Telegram getMe failed: ${safe(error).message}`,
        });
      }
      dispatch = ctx.dispatch;
      joined = ctx.joined;
      hasStartCommand = ctx.commands.some((c) => c.name === "start");
      await registerCommands(ctx.commands);

      if (opts.webhook) {
        intake = createUpdateIntake({ bot, store: ctx.store, log, chatLockMs: opts.chatLockMs ?? 30_000, answerWithinMs: ANSWER_WITHIN_MS });
        webhook = await startWebhookServer({ ...opts.webhook, receive: (update) => intake!.receive(update), accepting: () => !draining });
        try {
          await bot.api.setWebhook(opts.webhook.url, { secret_token: opts.webhook.secretToken, allowed_updates: [...ALLOWED_UPDATES] });
        } catch (error) {
          await webhook.close();
          webhook = undefined;
          throw new ParleyError("platform_error", "Telegram refused the webhook URL or secret.", {
            detail: `Telegram setWebhook failed: ${safe(error).message}`,
          });
        }
        log.info({ port: webhook.port, mode: "webhook" }, "Telegram bot @" + bot.botInfo.username + " is listening");
      } else {
        // Polling and a webhook exclude each other: Telegram answers getUpdates with 409 while a webhook is set.
        await bot.api.deleteWebhook().catch((error: unknown) => log?.warn({ err: safe(error) }, "could not remove the Telegram webhook"));
        await refuseSecondPoller();
        runner = run(bot, {
          runner: { fetch: { timeout: LONG_POLL_SEC, allowed_updates: [...ALLOWED_UPDATES] }, silent: true, retryInterval: 1_000 },
        });
        void runner.task()?.catch((error) => log?.error({ err: safe(error) }, "Telegram polling stopped"));
        log.info({ mode: "polling" }, "Telegram bot @" + bot.botInfo.username + " is listening");
      }
    },

    async stop() {
      draining = true;
      if (runner?.isRunning()) await runner.stop();
      runner = undefined;
      // The webhook keeps answering 503 while the answers in flight finish, so a load balancer retries elsewhere.
      await intake?.stop();
      await Promise.allSettled([...inFlight]);
      await webhook?.close();
      webhook = undefined;
    },
  };
}
