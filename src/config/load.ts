import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { LlmSetupError, resolveLlmSetup, transcriptionProblem } from "../llm/setup.js";
import { configSchema, type Config } from "./schema.js";

/** A setting that stops the bot at start-up; the message names the setting. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/**
 * Environment variable → path in the config. Values are strings; numbers,
 * booleans and lists are converted by `coerce` before validation.
 */
const envPaths: Record<string, string> = {
  TELEGRAM_BOT_TOKEN: "telegram.token",
  TELEGRAM_API_ROOT: "telegram.apiRoot",
  TELEGRAM_WEBHOOK_URL: "telegram.webhookUrl",
  TELEGRAM_WEBHOOK_SECRET: "telegram.webhookSecret",
  TELEGRAM_WEBHOOK_PORT: "telegram.webhookPort",
  TELEGRAM_CHAT_LOCK_MS: "telegram.chatLockMs",
  TELEGRAM_CONFLICT_CHECK_SEC: "telegram.conflictCheckSec",
  DISCORD_TOKEN: "discord.token",
  DISCORD_API_URL: "discord.apiUrl",
  DISCORD_GUILD_ID: "discord.guildId",
  DISCORD_MODERATOR_PERMISSION: "discord.moderatorPermission",
  DISCORD_MODERATOR_ROLE_IDS: "discord.moderatorRoleIds",
  DISCORD_SHARD_COUNT: "discord.shardCount",
  DISCORD_SHARDS: "discord.shards",
  LLM_PROVIDER: "llm.provider",
  LLM_MODEL: "llm.model",
  LLM_TIMEOUT_MS: "llm.timeoutMs",
  LLM_MAX_ANSWER_MS: "llm.maxAnswerMs",
  LLM_HYBRID_SIMPLE: "llm.hybrid.simple",
  LLM_HYBRID_MEDIUM: "llm.hybrid.medium",
  LLM_HYBRID_COMPLEX: "llm.hybrid.complex",
  LLM_SHOW_MODEL: "llm.showModel",
  LLM_VISION_MODEL: "llm.visionModel",
  LLM_TRANSCRIPTION: "llm.transcription",
  ATTACHMENTS_MAX_IMAGES: "attachments.maxImages",
  ATTACHMENTS_MAX_IMAGE_BYTES: "attachments.maxImageBytes",
  ATTACHMENTS_MAX_TEXT_CHARS: "attachments.maxTextChars",
  EMBEDDED_MODEL: "llm.embeddedModel",
  EMBEDDED_THREADS: "embedded.threads",
  EMBEDDED_MAX_TOKENS: "embedded.maxTokens",
  EMBEDDED_SEQUENCES: "embedded.sequences",
  EMBEDDED_MAX_WAIT_MS: "embedded.maxWaitMs",
  EMBEDDED_CONTEXT_TOKENS: "embedded.contextTokens",
  LLM_TEMPERATURE: "llm.temperature",
  OLLAMA_HOST: "llm.ollamaHost",
  OLLAMA_KEEP_ALIVE: "llm.keepAlive",
  LLM_MAX_CONTEXT_TOKENS: "llm.maxContextTokens",
  OPENAI_BASE_URL: "llm.openaiBaseUrl",
  ANTHROPIC_BASE_URL: "llm.anthropicBaseUrl",
  REDIS_URL: "redisUrl",
  LOG_LEVEL: "logLevel",
  PARLEY_SHUTDOWN_GRACE_MS: "shutdownGraceMs",
  PARLEY_HTTP_PORT: "httpPort",
  PARLEY_HTTP_HOST: "httpHost",
  PARLEY_PREFIXES: "prefixes",
  PARLEY_PERSONA_DIR: "personaDir",
  PARLEY_DEFAULT_PERSONA: "defaultPersona",
  RATE_LIMIT_PER_MINUTE: "limits.perMinute",
  RATE_LIMIT_PER_HOUR: "limits.perHour",
  RATE_LIMIT_PER_DAY: "limits.perDay",
  RATE_LIMIT_COMMANDS_PER_MINUTE: "limits.commandsPerMinute",
  PARLEY_OWNERS: "access.owners",
  TELEGRAM_ALLOWED_USERS: "access.telegram.users",
  TELEGRAM_ALLOWED_CHATS: "access.telegram.chats",
  TELEGRAM_ALLOW_PRIVATE: "access.telegram.private",
  DISCORD_ALLOWED_GUILDS: "access.discord.guilds",
  DISCORD_ALLOWED_CHANNELS: "access.discord.channels",
  DISCORD_ALLOWED_ROLES: "access.discord.roles",
  DISCORD_ALLOWED_USERS: "access.discord.users",
  DISCORD_ALLOW_DMS: "access.discord.dms",
  PARLEY_LEAVE_UNLISTED: "access.leaveUnlisted",
  PARLEY_DAILY_TOKENS: "budgets.dailyTokens",
  PARLEY_DAILY_COST: "budgets.dailyCost",
  TOKENS_PER_DAY: "limits.tokensPerDay",
  HISTORY_MAX_MESSAGES: "history.maxStoredMessages",
  HISTORY_TTL_HOURS: "history.ttlHours",
};

/** The key environment variable of each hosted provider, in order of preference. */
const apiKeyVariables: Record<string, string[]> = {
  openai: ["OPENAI_API_KEY"],
  openrouter: ["OPENROUTER_API_KEY", "OPENAI_API_KEY"],
  groq: ["GROQ_API_KEY", "OPENAI_API_KEY"],
  anthropic: ["ANTHROPIC_API_KEY"],
};

/**
 * What a key of each hosted provider starts with. OPENAI_API_KEY stands in
 * for OpenRouter's or Groq's own variable only when it holds their kind of
 * key: an OpenAI key left in the environment must not be sent to another company.
 */
const keyPrefixes: Record<string, string> = { openrouter: "sk-or-", groq: "gsk_" };

/**
 * Reads `PARLEY_CONFIG` (or `./parley.yaml` when present), applies the
 * environment on top, validates everything, and throws `ConfigError` naming
 * the first bad setting.
 */
export function loadConfig(env: Env = process.env, argv: readonly string[] = []): Config {
  const raw = readConfigFile(env);
  for (const [variable, path] of Object.entries(envPaths)) {
    const value = env[variable];
    if (value !== undefined && value.trim() !== "") setPath(raw, path, coerce(path, value.trim(), variable));
  }
  if (argv.includes("--console")) raw.console = true;
  refuseKeysInFile(raw);

  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(describe(result.error));
  const config = result.data;
  if (config.personaDir !== undefined && !isFolder(config.personaDir)) {
    throw new ConfigError(`Invalid setting personaDir (PARLEY_PERSONA_DIR): ${resolve(config.personaDir)} is not a folder.`);
  }
  const keyVariables = apiKeyVariables[config.llm.provider] ?? [];
  for (const variable of keyVariables) {
    const key = env[variable]?.trim();
    const foreign = variable === "OPENAI_API_KEY" && config.llm.provider in keyPrefixes && !key?.startsWith(keyPrefixes[config.llm.provider]!);
    if (key && !(foreign && !config.llm.openaiBaseUrl)) {
      config.llm.apiKey = key;
      break;
    }
  }
  // A server of one's own (or a proxy holding the key) may need none.
  const ownServer = config.llm.provider === "anthropic" ? config.llm.anthropicBaseUrl : config.llm.openaiBaseUrl;
  if (config.llm.apiKey === undefined && keyVariables.length > 0 && !ownServer) {
    throw new ConfigError(`LLM_PROVIDER=${config.llm.provider} needs an API key in ${keyVariables[0]}.`);
  }
  readProviderKeys(config, env);
  try {
    const setup = resolveLlmSetup(config.llm, config.embedded);
    const transcription = config.llm.transcription ? transcriptionProblem(config.llm.transcription, setup) : undefined;
    if (transcription) throw new LlmSetupError(transcription);
  } catch (e) {
    if (e instanceof LlmSetupError) throw new ConfigError(e.message);
    throw e;
  }
  return config;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A key written in the config file would end up in backups and repositories: only its variable's name belongs there. */
function refuseKeysInFile(raw: Record<string, unknown>): void {
  const providers = (raw.llm as { providers?: unknown } | undefined)?.providers;
  if (typeof providers !== "object" || providers === null) return;
  for (const [name, provider] of Object.entries(providers)) {
    if (typeof provider === "object" && provider !== null && "apiKey" in provider) {
      throw new ConfigError(
        `llm.providers.${name}.apiKey: keys do not belong in the config file; put the key in an environment variable and name that variable in apiKeyEnv.`,
      );
    }
  }
}

/** Fills each provider's key from the variable its `apiKeyEnv` names. */
function readProviderKeys(config: Config, env: Env): void {
  for (const [name, provider] of Object.entries(config.llm.providers ?? {})) {
    if (!provider.apiKeyEnv) continue;
    const key = env[provider.apiKeyEnv]?.trim();
    if (!key) throw new ConfigError(`llm.providers.${name}.apiKeyEnv: the environment variable ${provider.apiKeyEnv} is not set.`);
    provider.apiKey = key;
  }
}

function readConfigFile(env: Env): Record<string, unknown> {
  // An empty PARLEY_CONFIG= (a cleared variable, a bare .env line) means no file, like every other empty variable.
  const explicit = env.PARLEY_CONFIG?.trim() || undefined;
  const path = resolve(explicit ?? "parley.yaml");
  if (!explicit && !existsSync(path)) return {};
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(`PARLEY_CONFIG: cannot read ${path}.`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid YAML: ${(e as Error).message.split("\n")[0]!.replace(/:$/, "")}.`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError(`${path} must hold a mapping of settings.`);
  return parsed as Record<string, unknown>;
}

// `.perMinute` and its siblings, but not `personaDir`.
const numericPaths = /(Ms|Sec|Hours|Port|^embedded\.\w+|^attachments\.\w+|\.per[A-Z]\w*|tokensPerDay|commandsPerMinute|maxStoredMessages|maxContextTokens|temperature|daily\w+)$/;
const booleanPaths = /^(access\.(telegram\.private|discord\.dms|leaveUnlisted)|llm\.showModel)$/;

function coerce(path: string, value: string, variable: string): unknown {
  if (path === "prefixes" || path === "discord.moderatorRoleIds") {
    return value.split(/[\s,]+/).filter(Boolean);
  }
  if (path === "discord.shardCount") {
    if (/^auto$/i.test(value)) return "auto";
    if (!/^\d+$/.test(value)) throw new ConfigError(`${variable} must be a number of shards or auto, got "${value}".`);
    return Number(value);
  }
  if (path === "discord.shards") {
    const ids = value.split(/[\s,]+/).filter(Boolean);
    if (!ids.every((id) => /^\d+$/.test(id))) throw new ConfigError(`${variable} must list shard ids such as 0,1, got "${value}".`);
    return ids.map(Number);
  }
  if (booleanPaths.test(path)) {
    if (/^(true|yes|on|1)$/i.test(value)) return true;
    if (/^(false|no|off|0)$/i.test(value)) return false;
    throw new ConfigError(`${variable} must be true or false, got "${value}".`);
  }
  if (numericPaths.test(path)) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new ConfigError(`${variable} must be a number, got "${value}".`);
    return n;
  }
  return value;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** Names the setting in the words a user wrote it: the env variable when it came from there. */
function describe(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.join(".");
  // `access.owners.0` is the first of the list that `access.owners` (PARLEY_OWNERS) holds.
  const listPath = issue.path.filter((part) => typeof part !== "number").join(".");
  const variable = Object.entries(envPaths).find(([, p]) => p === listPath)?.[0];
  const name = variable ? `${path} (${variable})` : path || "config";
  if (issue.code === "unrecognized_keys") {
    const where = path ? ` in ${path}` : "";
    return `Unknown setting${where}: ${issue.keys.join(", ")}.`;
  }
  return `Invalid setting ${name}: ${issue.message}.`;
}
