/**
 * Benchmark 1: one chat message through the whole bot (dispatcher, persona,
 * history and memories read, prompt, provider wrapper, stream, history and
 * usage written, and now and then a summary of old turns) against the very
 * same request sent straight through the provider's own client, to the same
 * fake server, in the same run.
 */
import { commandsProcessed } from "./redis-stats.js";
import { summarise, type Summary } from "./stats.js";
import { directCaller, startBot, timeBot, timeDirect, promptText, type BenchEnvironment, type CapturedRequest } from "./harness.js";
import type { ProviderKind, StoreKind } from "./settings.js";

export interface OverheadResult {
  provider: ProviderKind;
  store: StoreKind;
  direct: Summary;
  bot: Summary;
  /** The bot's messages that made one model call only (no summary fold); absent if every message folded. */
  botSingleCall?: Summary;
  /** Model calls per bot message, on average. */
  modelCallsPerMessage: number;
  /** Commands Redis processed per bot message, on average (Redis only). */
  redisCommandsPerMessage?: number;
}

export interface OverheadOptions {
  provider: ProviderKind;
  store: StoreKind;
  /** Timed pairs. */
  messages: number;
  /** Untimed pairs first. */
  warmup: number;
}

/**
 * Sends `warmup + messages` pairs: a message through the bot, and the exact
 * request the bot sent for it (same prompt, history and summary included)
 * through the client directly. The order within a pair alternates, so
 * neither side always runs on the warmer path.
 */
export async function measureOverhead(env: BenchEnvironment, opts: OverheadOptions): Promise<OverheadResult> {
  const app = await startBot(env, { provider: opts.provider, store: opts.store });
  const channel = `console:bench-overhead-${opts.provider}-${opts.store}`;
  const direct = directCaller(opts.provider, env);
  const botMs: number[] = [];
  const singleCallMs: number[] = [];
  const directMs: number[] = [];
  let modelCalls = 0;
  let redisBefore = 0;
  try {
    let captured: CapturedRequest | undefined;
    for (let i = 0; i < opts.warmup + opts.messages; i++) {
      if (i === opts.warmup && env.redis && opts.store === "redis") redisBefore = await commandsProcessed(env.redis.url);
      const text = promptText(i);
      let straight: number | undefined;
      if (i % 2 === 1 && captured) {
        // The previous message's request: the same size, the history window being full after the first few.
        straight = await timeDirect(direct, captured);
      }
      const bot = await timeBot(app, env, opts.provider, channel, text);
      captured = bot.request;
      straight ??= await timeDirect(direct, captured);
      if (i >= opts.warmup) {
        botMs.push(bot.ms);
        if (bot.modelCalls === 1) singleCallMs.push(bot.ms);
        directMs.push(straight);
        modelCalls += bot.modelCalls;
      }
    }
    let redisCommandsPerMessage: number | undefined;
    if (env.redis && opts.store === "redis") {
      // Less the INFO call that took the first reading.
      redisCommandsPerMessage = ((await commandsProcessed(env.redis.url)) - redisBefore - 1) / opts.messages;
    }
    return {
      provider: opts.provider,
      store: opts.store,
      direct: summarise(directMs),
      bot: summarise(botMs),
      botSingleCall: singleCallMs.length > 0 ? summarise(singleCallMs) : undefined,
      modelCallsPerMessage: modelCalls / opts.messages,
      redisCommandsPerMessage,
    };
  } finally {
    await app.stop();
  }
}
