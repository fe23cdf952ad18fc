/**
 * Who is a moderator on Discord: a member with the configured permission
 * (Manage Messages unless told otherwise) in the channel at hand, including
 * its overwrites, or a member with one of the configured roles. In a DM, its
 * one user is.
 */
import {
  GuildMember,
  PermissionFlagsBits,
  Routes,
  ChannelType,
  type APIChannel,
  type ChatInputCommandInteraction,
  type GuildTextBasedChannel,
  type Message,
  type PermissionsBitField,
} from "discord.js";
import type { Logger } from "pino";
import { reasonOf } from "./errors.js";

export type PermissionName = keyof typeof PermissionFlagsBits;

/**
 * Resolves a permission name as people write it (`ManageMessages`,
 * `MANAGE_MESSAGES`, `manage messages`) to discord.js's flag name.
 */
export function resolvePermissionName(name: string): PermissionName {
  const wanted = name.replace(/[\s_-]/g, "").toLowerCase();
  const found = (Object.keys(PermissionFlagsBits) as PermissionName[]).find((key) => key.toLowerCase() === wanted);
  if (!found) throw new Error(`Unknown Discord permission "${name}"; use a name such as ManageMessages, KickMembers or Administrator.`);
  return found;
}

export interface ModeratorRules {
  permission: PermissionName;
  roleIds: readonly string[];
  log: Logger;
}

/** For a message: its author's roles and permissions in the message's channel (threads use their parent's). */
export async function isMessageAuthorModerator(message: Message, rules: ModeratorRules): Promise<boolean> {
  if (!message.inGuild()) return true;
  try {
    const member = message.member ?? (await message.guild.members.fetch(message.author.id));
    if (rules.roleIds.some((id) => member.roles.cache.has(id))) return true;
    const known = isComplete(message.channel) ? message.channel.permissionsFor(member) : null;
    const permissions = known ?? (await permissionsFromFetchedChannel(message.channel, member));
    return permissions?.has(PermissionFlagsBits[rules.permission]) ?? false;
  } catch (error) {
    rules.log.warn({ reason: reasonOf(error) }, "discord: could not check a member's permissions");
    return false;
  }
}

const THREAD_TYPES = new Set<ChannelType>([ChannelType.AnnouncementThread, ChannelType.PublicThread, ChannelType.PrivateThread]);

/** A channel discord.js learnt from GUILD_CREATE or its own event, not one made up from a message alone. */
function isComplete(channel: GuildTextBasedChannel): boolean {
  return Boolean(channel.name);
}

/**
 * Permissions in a channel discord.js knows only partly (a server that left
 * it out of GUILD_CREATE, or a thread whose parent it never saw): asks
 * Discord for the channel, and for a thread, takes its parent's.
 */
async function permissionsFromFetchedChannel(channel: GuildTextBasedChannel, member: GuildMember): Promise<Readonly<PermissionsBitField> | null> {
  const data = (await channel.client.rest.get(Routes.channel(channel.id))) as APIChannel;
  const parentId = THREAD_TYPES.has(data.type) && "parent_id" in data ? data.parent_id : undefined;
  // Forced: a parent seen only through messages is as partial as the channel.
  const source = await member.guild.channels.fetch(parentId ?? channel.id, { force: true });
  return source?.permissionsFor(member) ?? null;
}

/** For a slash command: Discord computes the member's permissions in the channel and sends them along. */
export function isInteractionUserModerator(interaction: ChatInputCommandInteraction, rules: ModeratorRules): boolean {
  if (!interaction.inGuild()) return true;
  const member = interaction.member;
  const roles = member instanceof GuildMember ? [...member.roles.cache.keys()] : member.roles;
  if (rules.roleIds.some((id) => roles.includes(id))) return true;
  // Discord always sends them; a server that did not would make nobody a moderator.
  return interaction.memberPermissions?.has(PermissionFlagsBits[rules.permission]) ?? false;
}
