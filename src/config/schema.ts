import { z } from "zod";

/**
 * Every setting of the bot. The YAML file (`PARLEY_CONFIG` or `./parley.yaml`)
 * uses these names; environment variables (see `env.ts`) override them.
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const providerKinds = ["ollama", "openai", "openrouter", "groq"] as const;

const llmSchema = z
  .object({
    /** Which provider answers: `ollama` (default), `openai`, `openrouter`, `groq`. */
    provider: z.enum(providerKinds).default("ollama"),
    /** Default model; each provider has its own default when unset. */
    model: z.string().min(1).optional(),
    /** Ollama base URL. @defaultValue `http://127.0.0.1:11434` */
    ollamaHost: z.url().default("http://127.0.0.1:11434"),
    /**
     * Ollama `keep_alive`: `ram` (30 minutes), `ssd` (2 minutes), `none`
     * (unload at once), or a duration such as `10m`. @defaultValue `ram`
     */
    keepAlive: z.string().min(1).default("ram"),
    /** Base URL of an OpenAI-compatible server; each provider has a default. */
    openaiBaseUrl: z.url().optional(),
    /** API key for `openai`, `openrouter`, `groq` (from the environment only). */
    apiKey: z.string().optional(),
    /** Longest wait for the first token, and between tokens, in milliseconds. @defaultValue 60_000 */
    timeoutMs: positiveInt.default(60_000),
    /** Sampling temperature when the persona sets none. */
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

const limitsSchema = z
  .object({
    /** Requests a user may make per minute; 0 turns the window off. @defaultValue 10 */
    perMinute: nonNegativeInt.default(10),
    /** @defaultValue 100 */
    perHour: nonNegativeInt.default(100),
    /** @defaultValue 500 */
    perDay: nonNegativeInt.default(500),
    /** Prompt plus completion tokens a user may spend per UTC day; 0 = unlimited. @defaultValue 50_000 */
    tokensPerDay: nonNegativeInt.default(50_000),
    /** Moderators skip the limits. @defaultValue false */
    exemptModerators: z.boolean().default(false),
  })
  .strict();

const historySchema = z
  .object({
    /** Turns kept per channel; older ones are dropped. @defaultValue 1000 */
    maxStoredMessages: positiveInt.default(1000),
    /** At most this many recent turns go into a prompt. @defaultValue 30 */
    promptMessages: positiveInt.default(30),
    /** Estimated token budget of the history part of a prompt. @defaultValue 3000 */
    promptTokens: positiveInt.default(3000),
    /** A channel idle this long loses its history, in hours; 0 = never. @defaultValue 720 (30 days) */
    ttlHours: nonNegativeInt.default(720),
  })
  .strict();

const memoriesSchema = z
  .object({
    /** Facts kept per channel. @defaultValue 1000 */
    maxPerChannel: positiveInt.default(1000),
    /** The most relevant facts put in each prompt. @defaultValue 5 */
    inPrompt: nonNegativeInt.default(5),
    /** Longest fact, in characters. @defaultValue 500 */
    maxChars: positiveInt.default(500),
  })
  .strict();

const telegramSchema = z
  .object({
    token: z.string().min(1).optional(),
    /** Bot API root, for a self-hosted Bot API server. @defaultValue `https://api.telegram.org` */
    apiRoot: z.url().optional(),
    /** Serve updates over HTTPS at this public URL instead of long polling. */
    webhookUrl: z.url().optional(),
    /** Checked against `X-Telegram-Bot-Api-Secret-Token` in webhook mode. */
    webhookSecret: z.string().min(1).optional(),
    /** Port the webhook server listens on. @defaultValue 8080 */
    webhookPort: z.number().int().min(1).max(65535).default(8080),
  })
  .strict();

const discordSchema = z
  .object({
    token: z.string().min(1).optional(),
    /** REST base without version; moves the gateway too. */
    apiUrl: z.url().optional(),
    /** Register slash commands in this server only (instant, for testing). */
    guildId: z.string().regex(/^\d{17,20}$/, "must be a Discord server id (17–20 digits)").optional(),
    /** The permission that makes a member a moderator. @defaultValue `ManageMessages` */
    moderatorPermission: z.string().min(1).default("ManageMessages"),
    /** Members with any of these roles are moderators too. */
    moderatorRoleIds: z.array(z.string().regex(/^\d{17,20}$/)).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    llm: llmSchema.default(() => llmSchema.parse({})),
    limits: limitsSchema.default(() => limitsSchema.parse({})),
    history: historySchema.default(() => historySchema.parse({})),
    memories: memoriesSchema.default(() => memoriesSchema.parse({})),
    telegram: telegramSchema.default(() => telegramSchema.parse({})),
    discord: discordSchema.default(() => discordSchema.parse({})),
    /** Command prefixes; plain addressed text is `chat`. @defaultValue `["/", "!"]` */
    prefixes: z.array(z.string().min(1).max(3)).min(1).default(["/", "!"]),
    /** A folder of extra persona files, beside the shipped `personas/`. */
    personaDir: z.string().min(1).optional(),
    /** The persona of a channel that chose none. @defaultValue `default` */
    defaultPersona: z.string().min(1).default("default"),
    /** Longest message the bot accepts, in characters. @defaultValue 4000 */
    maxInputChars: positiveInt.default(4000),
    /** `redis://…`: keep all state in Redis; unset keeps it in memory. */
    redisUrl: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(),
    /** pino level. @defaultValue `info` */
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Start the console adapter even when platform tokens are set. */
    console: z.boolean().default(false),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ProviderKind = (typeof providerKinds)[number];
