import pino from "pino";
import { ConfigError, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { configSecrets } from "../config/secrets.js";
import { checkConfiguredProviders } from "../llm/providers.js";
import { redactSecrets } from "../log.js";
import { personaCatalogFor } from "../personas/catalog.js";
import { createKeyValueStore } from "../store/kv.js";

type Env = Record<string, string | undefined>;

/** One line of the report: what was checked, and what to do when it failed. */
interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const timeoutMs = 8_000;

/**
 * Checks everything the bot needs, printing one line per check, and returns
 * the exit code: 0 when all is well, 1 when something is broken.
 */
export async function runDoctor(env: Env, out: NodeJS.WritableStream): Promise<number> {
  const checks: Check[] = [];
  const print = (check: Check) => {
    checks.push(check);
    out.write(`${check.ok ? "ok  " : "FAIL"}  ${check.name}: ${check.detail}\n`);
  };

  let config: Config;
  try {
    config = loadConfig(env);
    print({ name: "configuration", ok: true, detail: env.PARLEY_CONFIG ? `valid (${env.PARLEY_CONFIG} and environment)` : "valid" });
  } catch (e) {
    print({ name: "configuration", ok: false, detail: e instanceof ConfigError ? `${e.message} Fix it and run doctor again.` : String(e) });
    return 1;
  }
  const secrets = configSecrets(config);
  const safe = (text: string) => redactSecrets(text, secrets);

  try {
    const personas = personaCatalogFor(config);
    const found = personas.get(config.defaultPersona);
    print({
      name: "personas",
      ok: Boolean(found),
      detail: found ? personas.names().join(", ") : `no persona named "${config.defaultPersona}" (defaultPersona)`,
    });
  } catch (e) {
    print({ name: "personas", ok: false, detail: safe((e as Error).message) });
  }

  /** Asks the platform whose token it is; the adapter's SDK is loaded only when its token is set. */
  const checkToken = async (name: string, whoseToken: () => Promise<string>): Promise<Check> => {
    try {
      return { name, ok: true, detail: `token belongs to ${await whoseToken()}` };
    } catch (e) {
      return { name, ok: false, detail: safe((e as Error).message) };
    }
  };
  const platforms: Array<Promise<Check>> = [];
  const { telegram, discord } = config;
  if (telegram.token) {
    const token = telegram.token;
    platforms.push(
      checkToken("telegram", async () => {
        const { checkTelegramToken } = await import("../adapters/telegram/check-token.js");
        return checkTelegramToken({ token, apiRoot: telegram.apiRoot, timeoutMs });
      }),
    );
  }
  if (discord.token) {
    const token = discord.token;
    platforms.push(
      checkToken("discord", async () => {
        const { checkDiscordToken } = await import("../adapters/discord/check-token.js");
        return checkDiscordToken({ token, apiUrl: discord.apiUrl, timeoutMs });
      }),
    );
  }
  for (const check of await Promise.all(platforms)) print(check);
  if (platforms.length === 0) print({ name: "platforms", ok: true, detail: "no TELEGRAM_BOT_TOKEN or DISCORD_TOKEN: the bot will chat in the terminal" });

  const log = pino({ level: "silent" });
  for (const check of await checkConfiguredProviders(config, timeoutMs, log)) {
    if (!check.ok) {
      const hint = check.kind === "ollama" ? " Start it with `ollama serve`, or point OLLAMA_HOST (or its baseUrl) at it." : " Check its baseUrl and that the server is running.";
      print({ name: `provider ${check.name}`, ok: false, detail: safe(`${check.problem ?? "not answering"}${hint}`) });
      continue;
    }
    const missing = check.missing.map((m) => `${m.model} is missing (${m.fix})`);
    print({
      name: `provider ${check.name}`,
      ok: missing.length === 0,
      detail: safe(missing.length > 0 ? `answering, but ${missing.join("; ")}` : `answering in ${Math.round(check.latencyMs)} ms, ${check.models.length} model${check.models.length === 1 ? "" : "s"}, every configured model available`),
    });
  }

  if (config.redisUrl) {
    try {
      const kv = await createKeyValueStore({ redisUrl: config.redisUrl, log, connectTimeoutMs: 3_000 });
      const ok = await kv.ping();
      await kv.close();
      print({ name: "redis", ok, detail: ok ? "answering" : "not answering: is redis-server running at REDIS_URL?" });
    } catch {
      print({ name: "redis", ok: false, detail: "not answering: is redis-server running at REDIS_URL?" });
    }
  } else {
    print({ name: "redis", ok: true, detail: "not configured: state is kept in memory and lost on restart (set REDIS_URL to keep it)" });
  }

  const broken = checks.filter((c) => !c.ok).length;
  out.write(broken === 0 ? "All checks passed.\n" : `${broken} check${broken === 1 ? "" : "s"} failed.\n`);
  return broken === 0 ? 0 : 1;
}
