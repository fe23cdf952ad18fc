/**
 * Servers the bot is added to: the core decides whether it stays (the guilds
 * list); when it must not, the bot says so once in the server's system
 * channel and leaves. Servers it was already in when it started are never
 * left, only named in a warning: leaving them is for the operator to decide,
 * and the access lists keep them unserved meanwhile.
 */
import type { Client, Guild } from "discord.js";
import type { Logger } from "pino";
import type { AdapterContext } from "../../core/adapter.js";
import { reasonOf } from "./errors.js";

/** The bot was just added to `guild` (discord.js's GuildCreate after ready): stay, or say why and leave. */
export async function answerJoin(guild: Guild, ctx: AdapterContext, log: Logger): Promise<void> {
  const verdict = ctx.joined({ platform: "discord", id: guild.id });
  if (verdict.stay) {
    log.info({ guildId: guild.id }, "discord: added to a server");
    return;
  }
  log.info({ guildId: guild.id }, "discord: added to a server that is not on the guilds list; leaving");
  // Best effort: a server without a system channel, or one where the bot may not write, just sees it go.
  await guild.systemChannel?.send(verdict.notice).catch((error: unknown) => {
    log.warn({ guildId: guild.id, reason: reasonOf(error) }, "discord: could not say why the bot leaves");
  });
  try {
    await guild.leave();
  } catch (error) {
    log.warn({ guildId: guild.id, reason: reasonOf(error) }, "discord: could not leave a server that is not on the guilds list");
  }
}

/** One warning naming the servers the bot is in at start that it would leave if added now (`joined` has no side effects). */
export function warnUnlistedAtStart(client: Client<true>, ctx: AdapterContext, log: Logger): void {
  const unlisted = [...client.guilds.cache.values()]
    .filter((guild) => !ctx.joined({ platform: "discord", id: guild.id }).stay)
    .map((guild) => guild.id);
  if (unlisted.length === 0) return;
  log.warn({ guildIds: unlisted }, "discord: in servers that are not on the guilds list; they are not served, and not left either: remove the bot there by hand");
}
