/**
 * Discord's JSON for the fake's state: the shapes the gateway dispatches and
 * the REST API returns (users, members, roles, channels, guilds, messages).
 * Field names and types follow Discord's API reference so that the real
 * discord.js builds its objects from them unchanged.
 */
import { channelPermissions } from "./permissions.js";
import type { DiscordWorld, FakeAttachment, FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser, Pings, StoredMessage } from "./world.js";
import { ChannelKind } from "./world.js";

type Json = Record<string, unknown>;

const JOINED_AT = "2024-03-01T12:00:00.000000+00:00";

export function userJson(user: FakeUser): Json {
  return {
    id: user.id,
    username: user.username,
    global_name: user.globalName ?? null,
    discriminator: "0",
    avatar: null,
    public_flags: 0,
    ...(user.bot ? { bot: true } : {}),
  };
}

export function roleJson(role: FakeRole): Json {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.botId !== undefined,
    mentionable: false,
    flags: 0,
    ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
  };
}

/** A guild member; `withUser` false gives the partial member of MESSAGE_CREATE. */
export function memberJson(world: DiscordWorld, member: FakeMember, withUser = true): Json {
  const user = world.users.get(member.userId);
  return {
    ...(withUser && user ? { user: userJson(user) } : {}),
    nick: member.nick ?? null,
    avatar: null,
    roles: [...member.roles],
    joined_at: JOINED_AT,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
  };
}

export function channelJson(world: DiscordWorld, channel: FakeChannel): Json {
  if (channel.type === ChannelKind.DM) {
    const recipient = channel.recipientId ? world.users.get(channel.recipientId) : undefined;
    return {
      id: channel.id,
      type: ChannelKind.DM,
      last_message_id: lastMessageId(world, channel.id),
      flags: 0,
      recipients: recipient ? [userJson(recipient)] : [],
    };
  }
  const common = {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name ?? "channel",
    last_message_id: lastMessageId(world, channel.id),
    rate_limit_per_user: 0,
    flags: 0,
  };
  if (channel.type === ChannelKind.PublicThread) {
    return {
      ...common,
      parent_id: channel.parentId ?? null,
      owner_id: world.guilds.get(channel.guildId ?? "")?.ownerId,
      message_count: world.messages.get(channel.id)?.length ?? 0,
      member_count: 1,
      total_message_sent: world.messages.get(channel.id)?.length ?? 0,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: JOINED_AT,
        locked: false,
      },
    };
  }
  return {
    ...common,
    position: 0,
    parent_id: null,
    topic: null,
    nsfw: false,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
  };
}

/** GUILD_CREATE's payload (also GET /guilds/:id, minus the gateway-only fields). */
export function guildJson(world: DiscordWorld, guild: FakeGuild, forGateway: boolean): Json {
  const channels = [...world.channels.values()].filter((c) => c.guildId === guild.id);
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 1,
    explicit_content_filter: 0,
    roles: [...guild.roles.values()].map(roleJson),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    system_channel_id: guild.systemChannelId ?? null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: "en-US",
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    ...(forGateway
      ? {
          joined_at: JOINED_AT,
          large: false,
          unavailable: false,
          member_count: guild.members.size,
          voice_states: [],
          members: [...guild.members.values()].map((m) => memberJson(world, m)),
          channels: channels.filter((c) => c.type !== ChannelKind.PublicThread).map((c) => channelJson(world, c)),
          threads: channels.filter((c) => c.type === ChannelKind.PublicThread).map((c) => channelJson(world, c)),
          presences: [],
          stage_instances: [],
          guild_scheduled_events: [],
          soundboard_sounds: [],
        }
      : {}),
  };
}

/** `<@id>`, `<@!id>` and `<@&id>` in a message's text, in order of appearance. */
export function mentionsIn(content: string): { users: string[]; roles: string[]; everyone: boolean } {
  const users = [...content.matchAll(/<@!?(\d{15,21})>/g)].map((m) => m[1] as string);
  const roles = [...content.matchAll(/<@&(\d{15,21})>/g)].map((m) => m[1] as string);
  return { users: [...new Set(users)], roles: [...new Set(roles)], everyone: /@(everyone|here)\b/.test(content) };
}

/**
 * Who Discord would notify for a message, applying `allowed_mentions` as its
 * reference says: absent means "parse everything"; `parse` lists the types
 * taken from the text; `users`/`roles` whitelist ids; `replied_user` decides
 * whether the author of the replied-to message is pinged.
 */
export function pingsFor(content: string, allowed: unknown, isReply: boolean): Pings {
  const found = mentionsIn(content);
  if (allowed === undefined || allowed === null) {
    return { everyone: found.everyone, users: found.users, roles: found.roles, repliedUser: isReply };
  }
  const rules = allowed as { parse?: string[]; users?: string[]; roles?: string[]; replied_user?: boolean };
  const parse = new Set(rules.parse ?? []);
  const users = parse.has("users") ? found.users : found.users.filter((id) => rules.users?.includes(id));
  const roles = parse.has("roles") ? found.roles : found.roles.filter((id) => rules.roles?.includes(id));
  return { everyone: parse.has("everyone") && found.everyone, users, roles, repliedUser: isReply && rules.replied_user === true };
}

export function messageJson(world: DiscordWorld, message: StoredMessage, withReference = true): Json {
  const author = world.users.get(message.authorId);
  const guild = message.guildId ? world.guilds.get(message.guildId) : undefined;
  const channel = world.channels.get(message.channelId);
  const found = mentionsIn(message.content);
  const referenced = message.referencedMessageId ? world.message(message.channelId, message.referencedMessageId) : undefined;
  const member = guild?.members.get(message.authorId);
  const interaction = message.interactionId ? world.interactions.get(message.interactionId) : undefined;
  const interactionUser = interaction ? world.users.get(interaction.userId) : undefined;
  return {
    id: message.id,
    type: referenced ? 19 : interaction ? 20 : 0,
    channel_id: message.channelId,
    ...(guild ? { guild_id: guild.id } : {}),
    ...(channel ? { channel_type: channel.type } : {}),
    author: author
      ? userJson(author)
      : { id: message.authorId, username: "Webhook", discriminator: "0000", avatar: null, bot: true, global_name: null },
    ...(member && !message.webhookId ? { member: memberJson(world, member, false) } : {}),
    content: message.content,
    timestamp: new Date(message.createdAtMs).toISOString(),
    edited_timestamp: message.editedAtMs ? new Date(message.editedAtMs).toISOString() : null,
    tts: false,
    mention_everyone: found.everyone,
    mentions: found.users
      .map((id) => world.users.get(id))
      .filter((u): u is FakeUser => u !== undefined)
      .map((u) => {
        const m = guild?.members.get(u.id);
        return { ...userJson(u), ...(m ? { member: memberJson(world, m, false) } : {}) };
      }),
    mention_roles: found.roles,
    mention_channels: [],
    attachments: (message.attachments ?? []).map(attachmentJson),
    embeds: [],
    components: [],
    pinned: false,
    flags: message.flags,
    ...(message.webhookId ? { webhook_id: message.webhookId } : {}),
    ...(interaction ? { application_id: world.applicationId } : {}),
    ...(interaction && interactionUser
      ? {
          interaction_metadata: {
            id: interaction.id,
            type: interaction.type,
            user: userJson(interactionUser),
            authorizing_integration_owners: {},
          },
        }
      : {}),
    ...(message.referencedMessageId
      ? {
          message_reference: {
            type: 0,
            message_id: message.referencedMessageId,
            channel_id: message.channelId,
            ...(guild ? { guild_id: guild.id } : {}),
          },
          ...(withReference ? { referenced_message: referenced ? messageJson(world, referenced, false) : null } : {}),
        }
      : {}),
  };
}

/** An attachment as a message carries it; a voice message's has its duration and waveform. */
export function attachmentJson(file: FakeAttachment): Json {
  return {
    id: file.id,
    filename: file.filename,
    size: file.bytes.length,
    url: file.url,
    proxy_url: file.url,
    ...(file.contentType ? { content_type: file.contentType } : {}),
    ...(file.voice ? { duration_secs: file.voice.durationSecs, waveform: file.voice.waveform } : {}),
  };
}

/** The `member` of an interaction: a full member plus its permissions in the channel, as Discord computes them. */
export function interactionMemberJson(world: DiscordWorld, guild: FakeGuild, userId: string, channelId: string): Json {
  const member = guild.members.get(userId) ?? { userId, roles: [] };
  return { ...memberJson(world, member), permissions: channelPermissions(world, channelId, userId).toString() };
}

function lastMessageId(world: DiscordWorld, channelId: string): string | null {
  const list = world.messages.get(channelId);
  return list && list.length > 0 ? (list[list.length - 1] as StoredMessage).id : null;
}
