import { z } from "zod";

/**
 * Every setting of the bot. The YAML file (`PARLEY_CONFIG` or `./parley.yaml`)
 * uses these names; environment variables (`envPaths` in `load.ts`) override them.
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** An http(s) address. */
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// address" });

/** `127.0.0.1:1234/v1` means `http://127.0.0.1:1234/v1`: people leave the scheme out of local addresses. */
function withScheme(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  return text && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? `http://${text}` : text;
}

/**
 * `OLLAMA_HOST` as Ollama itself reads it (users share the variable with
 * their Ollama server): `0.0.0.0`, `host:port`, `:11434` or a URL; no scheme
 * means http, and then no port means 11434.
 */
function ollamaHostUrl(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (!text || /^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  const hostPort = text.startsWith(":") ? `127.0.0.1${text}` : text;
  const [authority = "", ...path] = hostPort.split("/");
  const hasPort = /:\d+$/.test(authority) && !/^[^[]*:.*:/.test(authority);
  return `http://${hasPort ? authority : `${authority}:11434`}${path.length > 0 ? `/${path.join("/")}` : ""}`;
}

/** A list, also written as one string (`"!"`, `"/ !"`, `"a,b"`). */
function listOf(value: unknown): unknown {
  return typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : value;
}

export const providerKinds = ["ollama", "openai", "openrouter", "groq", "anthropic", "embedded"] as const;

/** Ollama `keep_alive`: `ram`, `ssd`, `none`, a Go duration (`10m`, `1h30m`, `90s`, `-1` = forever), or seconds. */
const keepAliveSchema = z.union([
  z.number().int(),
  z
    .string()
    .trim()
    .regex(
      /^(ram|ssd|none|-?\d+(\.\d+)?|-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/,
      "must be ram, ssd, none, or a duration such as 10m, 1h30m, 90s or 0",
    ),
]);

/** What one model costs, in the configured currency per million tokens. */
const priceSchema = z
  .object({
    /** Per million prompt (input) tokens. */
    input: z.number().nonnegative(),
    /** Per million completion (output) tokens. */
    output: z.number().nonnegative(),
  })
  .strict();

const providerSchema = z
  .object({
    /**
     * `ollama` (Ollama's own API), `openai` (OpenAI and every compatible
     * server), `anthropic` (Anthropic's Messages API) or `embedded` (a GGUF
     * model run inside the bot).
     */
    kind: z.enum(["ollama", "openai", "anthropic", "embedded"]),
    /**
     * Embedded only: the model, a `.gguf` file, an `https://…/x.gguf` URL or
     * an `hf:` URI (downloaded once into `PARLEY_MODELS_DIR`).
     * @defaultValue `llm.embeddedModel`, else the default small model
     */
    model: z.string().trim().min(1).optional(),
    /**
     * Base URL. Ollama: the server root (`http://127.0.0.1:11434`; default
     * `llm.ollamaHost`). OpenAI-compatible: including the version
     * (`https://api.groq.com/openai/v1`; default `llm.openaiBaseUrl` or OpenAI's).
     * Anthropic: without the version (default `llm.anthropicBaseUrl` or `https://api.anthropic.com`).
     */
    baseUrl: z.preprocess(withScheme, httpUrl).optional(),
    /** The NAME of the environment variable holding the key (e.g. `GROQ_API_KEY`); never the key itself. */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable (such as GROQ_API_KEY), not the key")
      .optional(),
    /**
     * Filled at start-up from the variable named by `apiKeyEnv`; a key
     * written in the file is refused.
     */
    apiKey: z.string().optional(),
    /** Longest silence of this server, in milliseconds. @defaultValue `llm.timeoutMs` */
    timeoutMs: positiveInt.optional(),
    /** Models this provider should serve; checked at start and in `status`. @defaultValue [] */
    models: z.array(z.string().min(1)).default([]),
    /** Ollama only: how long a model stays loaded after a call. @defaultValue `llm.keepAlive` */
    keepAlive: keepAliveSchema.optional(),
    /** Ollama only: at most this many models kept loaded; the least recently used is unloaded first. Unset: no limit. */
    maxLoadedModels: positiveInt.optional(),
    /**
     * Ollama only: the context window of a model, in tokens, by model name
     * (sent as `num_ctx`). A model not listed gets its own length as the
     * server reports it, at most `llm.maxContextTokens`. @defaultValue {}
     */
    contextTokens: z.record(z.string().min(1), positiveInt).default({}),
    /** Prices by model name, per million tokens. Models without a price cost 0. @defaultValue {} */
    prices: z.record(z.string().min(1), priceSchema).default({}),
    /**
     * OpenAI-compatible only: ask for token counts in streams
     * (`stream_options`). Turn off for servers that reject it. @defaultValue true
     */
    streamUsage: z.boolean().default(true),
    /**
     * Anthropic and embedded only: the longest answer, in tokens (`max_tokens`,
     * which Anthropic requires; a small embedded model may never stop by itself).
     * @defaultValue 1024 (Anthropic), `embedded.maxTokens` (embedded)
     */
    maxTokens: positiveInt.optional(),
    /**
     * Models of this provider that take images (`llava`, `gpt-4o-mini`), on
     * top of what Ollama's `/api/show` says and a built-in list of well-known
     * hosted names; `true`: every model of this provider does. Not for
     * embedded providers. @defaultValue []
     */
    vision: z.union([z.boolean(), z.array(z.string().min(1))]).default([]),
  })
  .strict();

/** A routing rule: the first rule that matches a message chooses its model. */
const routeSchema = z
  .object({
    /** Regular expression, matched case-insensitively against the message text. */
    pattern: z
      .string()
      .min(1)
      .refine((source) => {
        try {
          new RegExp(source, "iu");
          return true;
        } catch {
          return false;
        }
      }, "is not a valid regular expression")
      .optional(),
    /** Matches only messages of at most this many characters ("short messages"). */
    maxChars: positiveInt.optional(),
    /**
     * `true`: matches only messages with images (its model is taken to see
     * them); combines with `pattern` and `maxChars`. @defaultValue false
     */
    hasImages: z.boolean().optional(),
    /** `provider/model` that answers matching messages. */
    model: z.string().min(1),
  })
  .strict()
  .refine((r) => r.pattern !== undefined || r.maxChars !== undefined || r.hasImages === true, "a route needs a pattern, maxChars, hasImages: true, or several of them");

const retrySchema = z
  .object({
    /** Tries of one model before moving down the fallback chain, the first included. @defaultValue 2 */
    attempts: positiveInt.default(2),
    /** Wait before the first retry, in milliseconds; doubled each time, with jitter. @defaultValue 250 */
    baseDelayMs: nonNegativeInt.default(250),
    /**
     * Longest wait before a retry, in milliseconds. A `retry-after` longer
     * than this is not waited for: the next model in the chain answers. @defaultValue 4000
     */
    maxDelayMs: nonNegativeInt.default(4000),
  })
  .strict();

const cooldownSchema = z
  .object({
    /** Retryable failures in a row that put a provider on cool-down. @defaultValue 3 */
    failures: positiveInt.default(3),
    /** How long a failing provider is skipped, in milliseconds. @defaultValue 30_000 */
    ms: positiveInt.default(30_000),
  })
  .strict();

/** A regular expression, checked when the config is read. */
const patternSource = z
  .string()
  .min(1)
  .refine((source) => {
    try {
      new RegExp(source, "iu");
      return true;
    } catch {
      return false;
    }
  }, "is not a valid regular expression");

/** Hybrid routing: each message goes to a model for its class (see `src/llm/complexity.ts`). */
const hybridSchema = z
  .object({
    /** `provider/model` for simple messages (greetings, short questions). */
    simple: z.string().min(1),
    /** `provider/model` for medium messages. @defaultValue `simple` */
    medium: z.string().min(1).optional(),
    /** `provider/model` for complex messages (code, reasoning, long texts and conversations). */
    complex: z.string().min(1),
    /** A message whose size is at most this many estimated tokens is simple. @defaultValue 64 */
    simpleMaxTokens: nonNegativeInt.default(64),
    /** A message whose size (its estimated tokens plus `historyWeight` of its history's) reaches this is complex. @defaultValue 500 */
    complexMinTokens: positiveInt.default(500),
    /** What one token of the history and summary sent with a message adds to its size. @defaultValue 0.25 */
    historyWeight: z.number().min(0).max(1).default(0.25),
    /** Regular expressions (case-insensitive) that make a message simple. @defaultValue greetings, thanks, yes/no */
    simplePatterns: z.array(patternSource).optional(),
    /** Regular expressions (case-insensitive) that make a message complex; checked first. @defaultValue code, errors, reasoning, long writing */
    complexPatterns: z.array(patternSource).optional(),
  })
  .strict()
  .refine((h) => h.complexMinTokens > h.simpleMaxTokens, { message: "complexMinTokens must be more than simpleMaxTokens", path: ["complexMinTokens"] });

const llmSchema = z
  .object({
    /** Single-provider setup: `ollama` (default), `openai`, `openrouter`, `groq`, `anthropic`. Ignored when `providers` is set. */
    provider: z.enum(providerKinds).default("ollama"),
    /**
     * Default model; each provider has its own default when unset. With
     * `providers`, overrides `default` (`provider/model`, or a model of the default provider).
     */
    model: z.string().min(1).optional(),
    /**
     * Ollama base URL (also of `providers` of kind ollama without `baseUrl`);
     * read as Ollama reads `OLLAMA_HOST` (`0.0.0.0`, `host:port` work). @defaultValue `http://127.0.0.1:11434`
     */
    ollamaHost: z.preprocess(ollamaHostUrl, httpUrl).default("http://127.0.0.1:11434"),
    /**
     * Ollama `keep_alive`: `ram` (30 minutes), `ssd` (2 minutes), `none`
     * (unload at once), or a duration such as `10m`. @defaultValue `ram`
     */
    keepAlive: keepAliveSchema.default("ram"),
    /**
     * Ollama: the largest context window (`num_ctx`, in tokens) asked for a
     * model, whose own length is read from the server (`/api/show`). Each
     * token of window costs memory on the Ollama machine; a provider's
     * `contextTokens` for a model wins. @defaultValue 8192
     */
    maxContextTokens: positiveInt.default(8192),
    /** Base URL of an OpenAI-compatible server; each provider has a default. */
    openaiBaseUrl: z.preprocess(withScheme, httpUrl).optional(),
    /** Base URL of Anthropic's API, without `/v1` (a proxy). @defaultValue `https://api.anthropic.com` */
    anthropicBaseUrl: z.preprocess(withScheme, httpUrl).optional(),
    /**
     * The model of `LLM_PROVIDER=embedded` (and of embedded providers that
     * name none): a `.gguf` file, an `https://…/x.gguf` URL or an `hf:` URI.
     * @defaultValue the default small model (see `npx parley pull`)
     */
    embeddedModel: z.string().trim().min(1).optional(),
    /** API key for `openai`, `openrouter`, `groq`, `anthropic` (from the environment only). */
    apiKey: z.string().optional(),
    /** Longest wait for the first token, and between tokens, in milliseconds. @defaultValue 60_000 */
    timeoutMs: positiveInt.default(60_000),
    /**
     * Longest time one message may wait on models, in milliseconds: every
     * try and fallback together. Past it the answer is ended, so a hung
     * server cannot hold a channel. @defaultValue 90_000
     */
    maxAnswerMs: positiveInt.default(90_000),
    /** Sampling temperature (0–2) when the persona sets none. Unset: the model server's own default. */
    temperature: z.number().min(0).max(2).optional(),
    /** Several providers by name; replaces the single-provider settings above. Unset: the single provider of `provider`. */
    providers: z.record(z.string(), providerSchema).optional(),
    /** `provider/model` answering when no persona model or route applies. @defaultValue the first model of the first provider */
    default: z.string().min(1).optional(),
    /**
     * `provider/model` that answers messages with images when the chosen
     * model cannot see them, e.g. `ollama/llava`; taken to see. With the
     * single-provider setup a bare model name of that provider works too.
     * Unset: such messages are refused with a sentence saying so, unless a
     * route with `hasImages` applies.
     */
    visionModel: z.string().min(1).optional(),
    /** Routing rules, tried in order after the persona's model. @defaultValue [] */
    routes: z.array(routeSchema).default([]),
    /** `provider/model`s tried in order when the chosen model fails. @defaultValue [] */
    fallback: z.array(z.string().min(1)).default([]),
    /** How often a failing model is tried again before the fallback chain moves on. */
    retry: retrySchema.default(() => retrySchema.parse({})),
    /** When a provider that keeps failing is skipped for a while. */
    cooldown: cooldownSchema.default(() => cooldownSchema.parse({})),
    /** Shown before costs in `usage` and `status`. @defaultValue `$` */
    currency: z.string().min(1).max(8).default("$"),
    /**
     * Hybrid routing by complexity: a `simple` and a `complex` target (and
     * optionally `medium`). The persona's model and `routes` win over it. Unset: off.
     */
    hybrid: hybridSchema.optional(),
    /** Add a small footer naming the model that answered to each answer. @defaultValue false */
    showModel: z.boolean().default(false),
    /**
     * Voice messages are transcribed by this `provider/model` of an
     * OpenAI-compatible provider (`/audio/transcriptions`: OpenAI's
     * `whisper-1`, Groq's `whisper-large-v3`, a local whisper server). Unset: voice is not read.
     */
    transcription: z.string().min(1).optional(),
  })
  .strict();

const limitsSchema = z
  .object({
    /** Messages that call a model a user may send per minute; 0 turns the window off. @defaultValue 10 */
    perMinute: nonNegativeInt.default(10),
    /** Messages that call a model a user may send per hour; 0 turns the window off. @defaultValue 100 */
    perHour: nonNegativeInt.default(100),
    /** Messages that call a model a user may send per day; 0 turns the window off. @defaultValue 500 */
    perDay: nonNegativeInt.default(500),
    /** Prompt plus completion tokens a user may spend per UTC day; 0 = unlimited. @defaultValue 50_000 */
    tokensPerDay: nonNegativeInt.default(50_000),
    /**
     * Commands that call no model (`remember`, `recall`, `persona`, `help`…) a
     * user may send per minute; 0 turns the limit off. @defaultValue 30
     */
    commandsPerMinute: nonNegativeInt.default(30),
    /** Moderators skip the limits. @defaultValue false */
    exemptModerators: z.boolean().default(false),
  })
  .strict();

/** Platform ids, written as numbers or strings (YAML reads `-100123` as a number). */
const idList = z.preprocess(
  (value) => (Array.isArray(value) ? value.map((v) => (typeof v === "number" ? String(v) : v)) : listOf(value)),
  z.array(z.string().min(1)),
);

/** Telegram user and chat ids; `telegram:42` is taken as `42`. */
const telegramIds = idList.pipe(
  z.array(
    z
      .string()
      .transform((id) => id.replace(/^telegram:/, ""))
      .pipe(z.string().regex(/^-?\d+$/, "must hold Telegram ids (numbers such as 42 or -1001234567890)")),
  ),
);

/** Discord snowflakes; `discord:123…` is taken as `123…`. */
const discordIds = idList.pipe(
  z.array(
    z
      .string()
      .transform((id) => id.replace(/^discord:/, ""))
      .pipe(z.string().regex(/^\d{15,21}$/, "must hold Discord ids (17–20 digits)")),
  ),
);

const accessSchema = z
  .object({
    /**
     * Platform user keys of the bot's owners (`telegram:42`, `discord:123…`):
     * moderators everywhere, never held back by the lists below or by blocks. @defaultValue []
     */
    owners: idList
      .pipe(z.array(z.string().regex(/^(telegram:-?\d+|discord:\d{15,21})$/, "must hold platform user keys such as telegram:42 or discord:123456789012345678")))
      .default([]),
    /** Say so once and leave a Telegram group or Discord server the lists do not allow, when added to one. @defaultValue true */
    leaveUnlisted: z.boolean().default(true),
    telegram: z
      .object({
        /** User ids who may use the bot, in private chats and in any group. Empty: everyone. @defaultValue [] */
        users: telegramIds.default([]),
        /** Group ids in which every member may use the bot. Empty: every group. @defaultValue [] */
        chats: telegramIds.default([]),
        /** `false` turns private chats off (owners excepted). @defaultValue true */
        private: z.boolean().default(true),
      })
      .strict()
      .default({ users: [], chats: [], private: true }),
    discord: z
      .object({
        /** Servers the bot serves. Empty: every server. @defaultValue [] */
        guilds: discordIds.default([]),
        /** Channels it answers in; a thread counts as its parent channel. Empty: every channel. @defaultValue [] */
        channels: discordIds.default([]),
        /** Members with one of these roles may use it. @defaultValue [] */
        roles: discordIds.default([]),
        /** These users may use it, in servers and in DMs. @defaultValue [] */
        users: discordIds.default([]),
        /** `false` turns DMs off (owners excepted). @defaultValue true */
        dms: z.boolean().default(true),
      })
      .strict()
      .default({ guilds: [], channels: [], roles: [], users: [], dms: true }),
  })
  .strict();

const budgetsSchema = z
  .object({
    /** Tokens all users together may spend per UTC day; 0 = no cap. @defaultValue 0 */
    dailyTokens: nonNegativeInt.default(0),
    /** Cost (with the providers' `prices`) all users together may spend per UTC day; 0 = no cap. @defaultValue 0 */
    dailyCost: z.number().nonnegative().default(0),
    /** Tokens one channel may spend per UTC day; 0 = no cap. @defaultValue 0 */
    channelDailyTokens: nonNegativeInt.default(0),
    /** When a cap is reached: `refuse` the message, or answer it with `freeModel`. @defaultValue `refuse` */
    whenSpent: z.enum(["refuse", "fallback"]).default("refuse"),
    /** `provider/model` that answers once a cap is reached with `whenSpent: fallback` (a local model, say). */
    freeModel: z.string().min(1).optional(),
  })
  .strict()
  .refine((b) => b.whenSpent !== "fallback" || b.freeModel !== undefined, {
    message: "whenSpent: fallback needs freeModel (the provider/model that answers once a cap is reached)",
    path: ["freeModel"],
  });

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
    /** Bot token from BotFather; when set, the Telegram adapter starts. Never logged. */
    token: z.string().min(1).optional(),
    /** Bot API root, for a self-hosted Bot API server. @defaultValue `https://api.telegram.org` */
    apiRoot: z.url().optional(),
    /** Serve updates over HTTPS at this public URL instead of long polling. Unset: long polling. */
    webhookUrl: z.url().optional(),
    /** Checked against `X-Telegram-Bot-Api-Secret-Token` in webhook mode. */
    webhookSecret: z.string().min(1).optional(),
    /** Port the webhook server listens on. @defaultValue 8080 */
    webhookPort: z.number().int().min(1).max(65535).default(8080),
    /**
     * Webhook mode with Redis: how long one replica holds a chat's turn
     * without renewing it, in milliseconds; a replica that dies mid-answer
     * delays that chat this long at most. @defaultValue 30_000
     */
    chatLockMs: z.number().int().min(100).default(30_000),
    /**
     * Polling mode: how long the start waits for Telegram to say that another
     * process already polls with this token, in seconds; 0 skips the check.
     * @defaultValue 2
     */
    conflictCheckSec: z.number().int().min(0).max(30).default(2),
  })
  .strict();

const discordSchema = z
  .object({
    /** Bot token from the developer portal; when set, the Discord adapter starts. Never logged. */
    token: z.string().min(1).optional(),
    /** REST base without version; moves the gateway too. @defaultValue `https://discord.com/api` */
    apiUrl: z.url().optional(),
    /** Register slash commands in this server only (instant, for testing). Unset: globally. */
    guildId: z.string().regex(/^\d{17,20}$/, "must be a Discord server id (17–20 digits)").optional(),
    /** The permission that makes a member a moderator. @defaultValue `ManageMessages` */
    moderatorPermission: z.string().min(1).default("ManageMessages"),
    /** Members with any of these roles are moderators too. @defaultValue [] */
    moderatorRoleIds: z.array(z.string().regex(/^\d{17,20}$/)).default([]),
    /**
     * Shards the bot's servers are split into, over all its processes: a
     * number, or `auto` for Discord's recommendation (`GET /gateway/bot`).
     * Discord requires sharding from 2,500 servers. Unset: one shard.
     */
    shardCount: z.union([z.literal("auto"), positiveInt]).optional(),
    /**
     * The shard ids this process runs (each below `shardCount`), to spread
     * shards over processes and machines. Unset: every shard of `shardCount`.
     */
    shards: z.preprocess(listOf, z.array(z.coerce.number().int().nonnegative()).min(1)).optional(),
  })
  .strict()
  .superRefine(checkShards);

/** Shard ids that every process can agree on: a fixed count, each id below it, none twice. */
function checkShards(discord: { shardCount?: number | "auto"; shards?: number[] }, ctx: z.RefinementCtx): void {
  const { shardCount, shards } = discord;
  if (!shards) return;
  const fail = (message: string) => ctx.addIssue({ code: "custom", path: ["shards"], message });
  if (shardCount === undefined) return fail("needs the total shard count in discord.shardCount (DISCORD_SHARD_COUNT), the same in every process");
  if (shardCount === "auto") return fail("needs a fixed shard count, not auto: every process must split the servers the same way");
  const tooHigh = shards.find((id) => id >= shardCount);
  if (tooHigh !== undefined) return fail(`shard ${tooHigh} is not below the shard count ${shardCount} (ids run from 0 to ${shardCount - 1})`);
  const twice = shards.find((id, i) => shards.indexOf(id) !== i);
  if (twice !== undefined) fail(`lists shard ${twice} twice`);
}

/** The whole configuration, every default applied; unknown keys are refused. */
/** How embedded models run (`kind: embedded`, `LLM_PROVIDER=embedded`). */
const embeddedSchema = z
  .object({
    /** CPU threads evaluating tokens. @defaultValue the cores the machine has */
    threads: positiveInt.optional(),
    /** The longest answer, in tokens: a small model may never stop by itself. @defaultValue 512 */
    maxTokens: positiveInt.default(512),
    /** Answers one loaded model writes at once (each needs memory for its context). @defaultValue 1 */
    sequences: positiveInt.max(64).default(1),
    /**
     * Longest wait for a free answer slot, in milliseconds; a message that
     * would wait longer goes to the next model of the fallback chain. @defaultValue 30_000
     */
    maxWaitMs: nonNegativeInt.default(30_000),
    /** Tokens of context per answer, prompt and answer together. @defaultValue as much as memory allows, up to the model's own length */
    contextTokens: positiveInt.optional(),
  })
  .strict();

/** What the bot reads of attached files (images, text files, voice). */
const attachmentsSchema = z
  .object({
    /** Images sent to the model with one message; more are skipped, with a sentence saying so. @defaultValue 4 */
    maxImages: nonNegativeInt.default(4),
    /** Largest image read, in bytes; a larger download is stopped. @defaultValue 10 MB */
    maxImageBytes: positiveInt.default(10_000_000),
    /** Characters of text files read into one prompt, all files together. @defaultValue 20_000 */
    maxTextChars: nonNegativeInt.default(20_000),
    /** Largest voice message transcribed, in bytes (OpenAI takes up to 25 MB). @defaultValue 25 MB */
    maxAudioBytes: positiveInt.default(25_000_000),
  })
  .strict();

export const configSchema = z
  .object({
    llm: llmSchema.default(() => llmSchema.parse({})),
    /** How models run inside the bot (`kind: embedded`). */
    embedded: embeddedSchema.default(() => embeddedSchema.parse({})),
    /** What the bot reads of attached images, text files and voice messages. */
    attachments: attachmentsSchema.default(() => attachmentsSchema.parse({})),
    limits: limitsSchema.default(() => limitsSchema.parse({})),
    /** Who may use the bot. Unset lists: everyone. */
    access: accessSchema.default(() => accessSchema.parse({})),
    /** Caps on what the whole bot may spend a day, on top of each user's `limits`. */
    budgets: budgetsSchema.default(() => budgetsSchema.parse({})),
    history: historySchema.default(() => historySchema.parse({})),
    memories: memoriesSchema.default(() => memoriesSchema.parse({})),
    telegram: telegramSchema.default(() => telegramSchema.parse({})),
    discord: discordSchema.default(() => discordSchema.parse({})),
    /** Command prefixes; plain addressed text is `chat`. @defaultValue `["/", "!"]` */
    prefixes: z.preprocess(listOf, z.array(z.string().min(1).max(3)).min(1)).default(["/", "!"]),
    /** A folder of extra persona files, beside the shipped `personas/`; its personas win on a name clash. */
    personaDir: z.string().min(1).optional(),
    /** The persona of a channel that chose none. @defaultValue `default` */
    defaultPersona: z.string().min(1).default("default"),
    /** Longest message the bot accepts, in characters. @defaultValue 4000 */
    maxInputChars: positiveInt.default(4000),
    /** `redis://…`: keep all state in Redis; unset keeps it in memory. */
    redisUrl: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(),
    /** pino level. @defaultValue `info` */
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /**
     * On SIGTERM or Ctrl-C, how long answers in flight may take to finish
     * before the bot quits anyway, in milliseconds. Keep it below the
     * orchestrator's own wait (Docker's `stop_grace_period`). @defaultValue 20_000
     */
    shutdownGraceMs: positiveInt.default(20_000),
    /**
     * Port of the health server: `GET /healthz` (the process runs) and
     * `GET /readyz` (store, adapters and a model provider answer). Unset: no
     * server. Not the Telegram webhook's port.
     */
    httpPort: z.number().int().min(1).max(65535).optional(),
    /** Address the health server listens on. @defaultValue `0.0.0.0` (every interface, as a container needs) */
    httpHost: z.string().min(1).default("0.0.0.0"),
    /** Start the console adapter even when platform tokens are set (`--console`). @defaultValue false */
    console: z.boolean().default(false),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type LlmConfig = Config["llm"];
export type AccessConfig = Config["access"];
export type BudgetsConfig = Config["budgets"];
export type ProviderConfig = z.infer<typeof providerSchema>;
export type ProviderKind = (typeof providerKinds)[number];
export type EmbeddedConfig = z.infer<typeof embeddedSchema>;
