/**
 * Discord's permission arithmetic, as documented ("Permission Overwrites"):
 * base permissions from @everyone and the member's roles, owner and
 * Administrator get everything, then the channel's @everyone, role and member
 * overwrites in that order. Threads use their parent's overwrites.
 */
import type { DiscordWorld } from "./world.js";

const ADMINISTRATOR = 1n << 3n;
/** Every permission bit Discord defines today (bits 0–50). */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

export function basePermissions(world: DiscordWorld, guildId: string, userId: string): bigint {
  const guild = world.guilds.get(guildId);
  if (!guild) return 0n;
  if (guild.ownerId === userId) return ALL_PERMISSIONS;
  let permissions = guild.roles.get(guildId)?.permissions ?? 0n;
  for (const roleId of guild.members.get(userId)?.roles ?? []) {
    permissions |= guild.roles.get(roleId)?.permissions ?? 0n;
  }
  return permissions & ADMINISTRATOR ? ALL_PERMISSIONS : permissions;
}

/** The member's permissions in a channel (or thread) of its guild. */
export function channelPermissions(world: DiscordWorld, channelId: string, userId: string): bigint {
  const channel = world.channels.get(channelId);
  if (!channel?.guildId) return ALL_PERMISSIONS;
  const guild = world.guilds.get(channel.guildId);
  if (!guild) return 0n;
  let permissions = basePermissions(world, guild.id, userId);
  // Owners and administrators are above every overwrite.
  if (permissions === ALL_PERMISSIONS) return permissions;

  const source = channel.parentId ? (world.channels.get(channel.parentId) ?? channel) : channel;
  const everyone = source.overwrites.find((o) => o.type === 0 && o.id === guild.id);
  if (everyone) permissions = (permissions & ~everyone.deny) | everyone.allow;

  const memberRoles = new Set(guild.members.get(userId)?.roles ?? []);
  let allow = 0n;
  let deny = 0n;
  for (const overwrite of source.overwrites) {
    if (overwrite.type === 0 && memberRoles.has(overwrite.id)) {
      allow |= overwrite.allow;
      deny |= overwrite.deny;
    }
  }
  permissions = (permissions & ~deny) | allow;

  const member = source.overwrites.find((o) => o.type === 1 && o.id === userId);
  if (member) permissions = (permissions & ~member.deny) | member.allow;
  return permissions;
}
