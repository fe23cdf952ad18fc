/**
 * A bot process spawned by discord.js's ShardingManager (`parley --shards`)
 * follows its manager: when the manager goes away (killed, crashed), its
 * shards must not keep answering on their own, unwatched and never
 * respawned, so the process stops as on SIGTERM, finishing answers in flight.
 */
import type { Client } from "discord.js";
import type { Logger } from "pino";

export function stopWithShardingManager(client: Client, log: Logger): void {
  // `client.shard` exists only under a ShardingManager; its process mode talks over the IPC channel.
  if (!client.shard || client.shard.mode !== "process" || !process.connected) return;
  process.once("disconnect", () => {
    log.warn("discord: the sharding manager went away; stopping this shard's process");
    process.kill(process.pid, "SIGTERM");
  });
}
