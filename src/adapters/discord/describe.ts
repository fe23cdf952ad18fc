/**
 * What the access lists and the commands that name someone need to know
 * about a Discord message or slash command: where it was written (server,
 * channel or thread, a thread's parent), the author's roles, and people as
 * the core names them. Only what discord.js already holds is read: no REST
 * call, so a message reaches the core as soon as it arrives, in order.
 */
import { GuildMember, type APIInteractionDataResolvedGuildMember, type APIInteractionGuildMember, type Channel, type User } from "discord.js";
import type { Place, UserRef } from "../../core/types.js";

/** The message's place: `server` only in a guild, `parent` only in a thread whose parent discord.js knows. */
export function placeOf(channelId: string, guildId: string | null, channel: Channel | null | undefined): Place {
  const parent = channel?.isThread() ? channel.parentId : undefined;
  return {
    ...(guildId ? { server: guildId } : {}),
    chat: channelId,
    ...(parent ? { parent } : {}),
  };
}

/**
 * The member's role ids as Discord lists them, without @everyone (whose id
 * is the server's: every member has it, so it would make a roles list
 * meaningless). Empty outside a server.
 */
export function rolesOf(member: GuildMember | APIInteractionGuildMember | null | undefined): string[] {
  if (!member) return [];
  if (member instanceof GuildMember) return [...member.roles.cache.keys()].filter((id) => id !== member.guild.id);
  return [...member.roles];
}

/** Someone as the core names them: by key, and by their display name in this server when known. */
export function userRefOf(user: User, member?: GuildMember | APIInteractionDataResolvedGuildMember | null): UserRef {
  const nick = member instanceof GuildMember ? member.displayName : (member?.nick ?? undefined);
  return { key: `discord:${user.id}`, name: nick ?? user.displayName, ...(user.bot ? { bot: true } : {}) };
}
