/**
 * Fills in gateway fields that discord.js relies on but a server may leave
 * out, before discord.js reads the packet. discord.js emits every dispatch
 * as `raw` synchronously, on the very object it then handles, so filling it
 * in there is enough.
 *
 * - `MESSAGE_CREATE.channel_type` was documented only in 2026; without it
 *   discord.js (14.26.2 and later) cannot build a DM channel it has not
 *   seen, or a guild channel missing from GUILD_CREATE, and drops the
 *   message without a word.
 * - `INTERACTION_CREATE.channel` (the partial channel) is where discord.js
 *   takes the channel id from; a server that sends only `channel_id` would
 *   leave every slash command without a channel.
 */
import { ChannelType, Events, type Client } from "discord.js";

type Json = Record<string, unknown>;

/** Listens to raw dispatches on `client` and completes them in place. */
export function completeIncomingPackets(client: Client): void {
  client.on(Events.Raw, (packet: unknown) => {
    const { t, d } = (packet ?? {}) as { t?: unknown; d?: unknown };
    if (!d || typeof d !== "object") return;
    if (t === "MESSAGE_CREATE") completeMessage(client, d as Json);
    else if (t === "INTERACTION_CREATE") completeInteraction(client, d as Json);
  });
}

/** The channel's type as discord.js knows it; a DM without a guild; a text channel as the likeliest guess. */
function channelTypeOf(client: Client, channelId: unknown, guildId: unknown): number {
  const known = typeof channelId === "string" ? client.channels.cache.get(channelId) : undefined;
  if (known) return known.type;
  return guildId ? ChannelType.GuildText : ChannelType.DM;
}

function completeMessage(client: Client, d: Json): void {
  if (d.channel_type !== undefined || typeof d.channel_id !== "string") return;
  d.channel_type = channelTypeOf(client, d.channel_id, d.guild_id);
}

function completeInteraction(client: Client, d: Json): void {
  if (d.channel || typeof d.channel_id !== "string") return;
  const type = channelTypeOf(client, d.channel_id, d.guild_id);
  d.channel = {
    id: d.channel_id,
    type,
    ...(d.guild_id ? { guild_id: d.guild_id } : {}),
    ...(type === ChannelType.DM && d.user ? { recipients: [d.user] } : {}),
  };
}
