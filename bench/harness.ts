/**
 * What both benchmarks share: the fake model servers and a real Redis, the
 * bot built by `startApp` with no adapters, synthetic console-like messages,
 * a Reply that consumes the stream, and direct calls through the provider
 * clients themselves.
 */
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Ollama, type ChatRequest as OllamaChatRequest } from "ollama";
import OpenAI from "openai";
import { startApp, type App } from "../src/app.js";
import { loadConfig } from "../src/config/load.js";
import type { IncomingMessage, Reply } from "../src/core/types.js";
import { createLogger } from "../src/log.js";
import { startFakeOllama, type FakeOllama } from "../test/fakes/ollama.js";
import { startFakeOpenAi, type FakeOpenAi } from "../test/fakes/openai.js";
import { redisCommand, startRedis, type TestRedis } from "../test/support/redis.js";
import type { ProviderKind, StoreKind } from "./settings.js";

/** The bot's bench configuration file (rate limits off, logs silent). */
const configPath = fileURLToPath(new URL("./bench.yaml", import.meta.url));

/** The servers a run talks to. */
export interface BenchEnvironment {
  ollama: FakeOllama;
  openai: FakeOpenAi;
  /** Present when a benchmark runs on Redis. */
  redis?: TestRedis;
  /** Empties Redis between benchmarks, so one's keys do not weigh on the next. */
  flushRedis(): Promise<void>;
  close(): Promise<void>;
}

export async function startEnvironment(withRedis: boolean): Promise<BenchEnvironment> {
  const ollama = await startFakeOllama();
  const openai = await startFakeOpenAi();
  let redis: TestRedis | undefined;
  try {
    // Always a server of our own: the bench writes and flushes, which must never touch a real REDIS_URL.
    if (withRedis) redis = await startRedis({ ownServer: true });
  } catch (e) {
    await Promise.allSettled([ollama.close(), openai.close()]);
    throw e;
  }
  return {
    ollama,
    openai,
    redis,
    async flushRedis() {
      if (redis) await redisCommand(redis.url, "FLUSHALL");
    },
    async close() {
      await Promise.allSettled([ollama.close(), openai.close(), redis?.stop()]);
    },
  };
}

export interface BotOptions {
  provider: ProviderKind;
  store: StoreKind;
  /** `history.maxStoredMessages`; the config's default when unset. */
  maxStoredMessages?: number;
}

/** The whole bot, as `npm start` builds it, minus the adapters. */
export async function startBot(env: BenchEnvironment, opts: BotOptions): Promise<App> {
  if (opts.store === "redis" && !env.redis) throw new Error("the Redis benchmark needs the environment started with Redis");
  const config = loadConfig({
    PARLEY_CONFIG: configPath,
    LLM_PROVIDER: opts.provider,
    OLLAMA_HOST: env.ollama.url,
    OPENAI_BASE_URL: env.openai.baseURL,
    REDIS_URL: opts.store === "redis" ? env.redis?.url : undefined,
    HISTORY_MAX_MESSAGES: opts.maxStoredMessages?.toString(),
  });
  return startApp({ config, log: createLogger("silent", []), adapters: [] });
}

/** A message in a private console-like channel, addressed to the bot, as the console adapter makes them. */
export function benchMessage(channelKey: string, text: string): IncomingMessage {
  return {
    platform: "console",
    channel: { key: channelKey, private: true },
    author: { key: "console:bench", name: "bench" },
    text,
    addressed: true,
    isModerator: async () => true,
    raw: undefined,
  };
}

/** A Reply that reads the whole stream, as an adapter would, and keeps what was sent. */
export class CollectingReply implements Reply {
  answer = "";
  readonly sent: string[] = [];

  typing(): void {}

  async send(text: string): Promise<void> {
    this.sent.push(text);
  }

  async stream(deltas: AsyncIterable<string>): Promise<string> {
    let text = "";
    for await (const delta of deltas) text += delta;
    this.answer = text;
    return text;
  }
}

/** About 25 words: a typical chat line. Numbered, so every prompt differs. */
export function promptText(i: number): string {
  return `Message ${i}: could you explain in a few sentences why the sky looks blue during the day and turns red or orange near sunset?`;
}

/** A chat request body exactly as the bot sent it, for the direct call to repeat. */
export type CapturedRequest = Record<string, unknown>;

/** What one message through the bot cost and sent. */
export interface BotTurn {
  /** Time to handle the message, from dispatch until the dispatcher is done with it, in milliseconds. */
  ms: number;
  /** The chat request the bot sent for the message. */
  request: CapturedRequest;
  /** Calls the bot made to the model for this message: 1, or 2 when it also folded old turns into the summary. */
  modelCalls: number;
}

const chatPath: Record<ProviderKind, string> = { ollama: "/api/chat", openai: "/v1/chat/completions" };

/**
 * Sends one chat message through the whole bot and times it. Throws unless
 * the bot streamed the fake's echo: a benchmark of error replies would
 * measure nothing useful.
 */
export async function timeBot(app: App, env: BenchEnvironment, provider: ProviderKind, channelKey: string, text: string): Promise<BotTurn> {
  const fake = provider === "ollama" ? env.ollama : env.openai;
  // The fake records every request; start empty so only this message's calls are seen (and nothing piles up).
  fake.requests.length = 0;
  const reply = new CollectingReply();
  const started = performance.now();
  await app.dispatcher.handle(benchMessage(channelKey, text), reply);
  const ms = performance.now() - started;
  if (reply.sent.length > 0 || reply.answer !== `Echo: ${text}`) {
    throw new Error(`the bot did not answer as expected: ${JSON.stringify(reply.sent[0] ?? reply.answer).slice(0, 300)}`);
  }
  const calls = fake.requests.filter((r) => r.path === chatPath[provider]);
  fake.requests.length = 0;
  // The answer's call comes first; a summary call, if any, follows it.
  const request = calls[0]?.body;
  if (typeof request !== "object" || request === null) throw new Error(`the fake saw no ${chatPath[provider]} request`);
  return { ms, request: request as CapturedRequest, modelCalls: calls.length };
}

/** Sends a captured request straight through the provider's own client; resolves with the answer's text. */
export type DirectCall = (request: CapturedRequest) => Promise<string>;

/** One client, made once, as an application using the library directly would. */
export function directCaller(provider: ProviderKind, env: BenchEnvironment): DirectCall {
  if (provider === "ollama") {
    const client = new Ollama({ host: env.ollama.url });
    return async (request) => {
      const stream = await client.chat({ ...(request as unknown as OllamaChatRequest), stream: true });
      let text = "";
      for await (const part of stream) text += part.message.content;
      return text;
    };
  }
  const client = new OpenAI({ baseURL: env.openai.baseURL, apiKey: "bench", maxRetries: 0 });
  return async (request) => {
    const body = request as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming;
    const stream = await client.chat.completions.create({ ...body, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    return text;
  };
}

/** Times one direct call, in milliseconds; throws unless the fake's echo of the request's last user message came back. */
export async function timeDirect(call: DirectCall, request: CapturedRequest): Promise<number> {
  const messages = request.messages as Array<{ role: string; content: string }>;
  const lastUser = findLast(messages, (m) => m.role === "user");
  const started = performance.now();
  const answer = await call(request);
  const elapsed = performance.now() - started;
  if (answer !== `Echo: ${lastUser?.content ?? ""}`) {
    throw new Error(`the direct call did not answer as expected: ${JSON.stringify(answer).slice(0, 300)}`);
  }
  return elapsed;
}

/** `Array.prototype.findLast`, which the ES2022 library of this project's tsconfig lacks. */
function findLast<T>(items: readonly T[], wanted: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (wanted(items[i]!)) return items[i];
  return undefined;
}
