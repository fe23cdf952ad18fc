import { DiscordAPIError, REST, Routes } from "discord.js";
import { restBase } from "./client.js";

/** Asks Discord who the token belongs to (`GET /users/@me`), for `parley doctor`. */
export async function checkDiscordToken(opts: { token: string; apiUrl?: string; timeoutMs?: number }): Promise<string> {
  const rest = new REST({ timeout: opts.timeoutMs ?? 10_000, retries: 0, ...(opts.apiUrl ? { api: restBase(opts.apiUrl) } : {}) }).setToken(opts.token);
  try {
    const me = (await rest.get(Routes.user())) as { username: string; id: string };
    return `${me.username} (${me.id})`;
  } catch (e) {
    if (e instanceof DiscordAPIError) {
      throw new Error(e.status === 401 ? "Discord refused the token (reset it in the developer portal, Bot tab)" : `Discord said: ${e.message}`);
    }
    throw new Error("could not reach Discord (network or DISCORD_API_URL)");
  }
}
