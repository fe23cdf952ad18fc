import type { Config } from "./schema.js";

/**
 * Every token and key the configuration holds (platform tokens, the webhook
 * secret, provider API keys, a password in `REDIS_URL`), so that logs and
 * `parley doctor` can scrub them from whatever they print.
 */
export function configSecrets(config: Config): string[] {
  const secrets = [
    config.telegram.token,
    config.discord.token,
    config.telegram.webhookSecret,
    config.llm.apiKey,
    ...Object.values(config.llm.providers ?? {}).map((p) => p.apiKey),
    redisPassword(config.redisUrl),
  ];
  return secrets.filter((s): s is string => Boolean(s));
}

function redisPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}
