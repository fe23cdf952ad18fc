import { DiscordAPIError, REST, Routes, type RESTGetAPIGatewayBotResult } from "discord.js";
import { ParleyError } from "../../core/errors.js";
import { restBase } from "./client.js";

/** What `GET /gateway/bot` says about sharding this bot. */
export interface GatewayInfo {
  /** The shard count Discord recommends for the bot's servers (about one per 1,000). */
  recommendedShards: number;
  /** Shards that may identify within the same 5 s (`session_start_limit.max_concurrency`). */
  maxConcurrency: number;
}

/** Asks Discord (or DISCORD_API_URL) how to shard; a refused token or no answer is a ParleyError. */
export async function fetchGatewayInfo(opts: { token: string; apiUrl?: string; timeoutMs?: number }): Promise<GatewayInfo> {
  const rest = new REST({ timeout: opts.timeoutMs ?? 15_000, retries: 1, ...(opts.apiUrl ? { api: restBase(opts.apiUrl) } : {}) }).setToken(opts.token);
  try {
    const info = (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
    return { recommendedShards: info.shards, maxConcurrency: Math.max(1, info.session_start_limit.max_concurrency) };
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) {
      throw new ParleyError("platform_error", "Discord refused the bot token; check DISCORD_TOKEN.");
    }
    const reason = error instanceof Error ? error.message.replace(/https?:\/\/\S+/g, "<url>") : String(error);
    throw new ParleyError("platform_error", "Could not ask Discord how to shard the bot.", { retryable: true, detail: `GET /gateway/bot failed: ${reason}` });
  }
}
