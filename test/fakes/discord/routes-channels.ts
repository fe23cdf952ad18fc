/**
 * REST routes for the bot itself, channels, messages, DMs and guilds: what
 * discord.js calls to log in, send, edit, show typing and check permissions.
 */
import {
  cannotEditOthers,
  cannotReplyWithoutHistory,
  missingPermissions,
  invalidFormBody,
  unknownChannel,
  unknownGuild,
  unknownMember,
  unknownMessage,
  unknownUser,
} from "./errors.js";
import { channelJson, guildJson, memberJson, messageJson, pingsFor, roleJson, userJson } from "./payloads.js";
import { channelPermissions } from "./permissions.js";
import type { Route, RouteContext } from "./rest.js";
import { checkMessageBody, type MessageBody } from "./validate.js";

const ID = "(\\d{15,21})";

const SEND_MESSAGES = 1n << 11n;
const READ_MESSAGE_HISTORY = 1n << 16n;
const SEND_MESSAGES_IN_THREADS = 1n << 38n;

export const channelRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/gateway\/bot$/,
    handle: (ctx) => ({
      status: 200,
      body: {
        url: ctx.gatewayUrl(),
        shards: ctx.settings.recommendedShards,
        session_start_limit: {
          total: 1000,
          remaining: Math.max(0, 1000 - ctx.sessionStarts()),
          reset_after: 14_400_000,
          max_concurrency: ctx.settings.maxConcurrency,
        },
      },
    }),
  },
  { method: "GET", pattern: /^\/gateway$/, noAuth: true, handle: (ctx) => ({ status: 200, body: { url: ctx.gatewayUrl() } }) },
  { method: "GET", pattern: /^\/users\/@me$/, handle: (ctx) => ({ status: 200, body: userJson(ctx.world.bot) }) },
  {
    method: "GET",
    pattern: new RegExp(`^/users/${ID}$`),
    handle: (ctx) => {
      const user = ctx.world.users.get(ctx.params[0] ?? "");
      return user ? { status: 200, body: userJson(user) } : unknownUser;
    },
  },
  { method: "GET", pattern: /^\/applications\/@me$/, handle: (ctx) => ({ status: 200, body: applicationJson(ctx) }) },
  { method: "GET", pattern: /^\/oauth2\/applications\/@me$/, handle: (ctx) => ({ status: 200, body: applicationJson(ctx) }) },
  {
    method: "POST",
    pattern: /^\/users\/@me\/channels$/,
    handle: (ctx) => {
      const recipientId = (ctx.body as { recipient_id?: string } | undefined)?.recipient_id ?? "";
      if (!ctx.world.users.has(recipientId)) return invalidFormBody("recipient_id", "BASE_TYPE_REQUIRED", "Unknown user");
      return { status: 200, body: channelJson(ctx.world, ctx.world.dmChannelWith(recipientId)) };
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/channels/${ID}$`),
    handle: (ctx) => {
      const channel = ctx.world.channels.get(ctx.params[0] ?? "");
      return channel ? { status: 200, body: channelJson(ctx.world, channel) } : unknownChannel;
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/channels/${ID}/typing$`),
    bucket: { key: "POST /channels/:id/typing", majorParam: 0, limit: () => ({ limit: 5, windowMs: 5000 }) },
    handle: (ctx) => (ctx.world.channels.has(ctx.params[0] ?? "") ? { status: 204 } : unknownChannel),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/channels/${ID}/messages$`),
    handle: (ctx) => {
      const list = ctx.world.messages.get(ctx.params[0] ?? "");
      if (!list) return unknownChannel;
      const limit = Math.min(100, Number(ctx.query.limit ?? 50));
      return { status: 200, body: list.slice(-limit).reverse().map((m) => messageJson(ctx.world, m)) };
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/channels/${ID}/messages/${ID}$`),
    handle: (ctx) => {
      const message = ctx.world.message(ctx.params[0] ?? "", ctx.params[1] ?? "");
      return message ? { status: 200, body: messageJson(ctx.world, message) } : unknownMessage;
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/channels/${ID}/messages$`),
    bucket: { key: "POST /channels/:id/messages", majorParam: 0, limit: (s) => s.messageBucket },
    handle: createMessage,
  },
  {
    method: "PATCH",
    pattern: new RegExp(`^/channels/${ID}/messages/${ID}$`),
    bucket: { key: "PATCH /channels/:id/messages/:id", majorParam: 0, limit: (s) => s.messageBucket },
    handle: editMessage,
  },
  {
    // The bot leaves a guild (guild.leave()): as on Discord, 204, and a GUILD_DELETE without `unavailable` (removed, not an outage).
    method: "DELETE",
    pattern: new RegExp(`^/users/@me/guilds/${ID}$`),
    handle: (ctx) => {
      const guildId = ctx.params[0] ?? "";
      const guild = ctx.world.guilds.get(guildId);
      if (!guild || !ctx.world.botIn(guildId)) return unknownGuild;
      if (guild.ownerId === ctx.world.bot.id) return invalidFormBody("guild_id", "GUILD_OWNER_CANNOT_LEAVE", "Owner cannot leave the guild");
      guild.members.delete(ctx.world.bot.id);
      // Discord deletes the role it made for the bot along with its membership.
      for (const role of guild.roles.values()) if (role.botId === ctx.world.bot.id) guild.roles.delete(role.id);
      ctx.world.departures.push(guildId);
      ctx.onGuildLeave(guildId);
      return { status: 204 };
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/guilds/${ID}$`),
    handle: (ctx) => {
      const guild = ctx.world.guilds.get(ctx.params[0] ?? "");
      return guild ? { status: 200, body: guildJson(ctx.world, guild, false) } : unknownGuild;
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/guilds/${ID}/roles$`),
    handle: (ctx) => {
      const guild = ctx.world.guilds.get(ctx.params[0] ?? "");
      return guild ? { status: 200, body: [...guild.roles.values()].map(roleJson) } : unknownGuild;
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/guilds/${ID}/channels$`),
    handle: (ctx) => {
      const guildId = ctx.params[0] ?? "";
      if (!ctx.world.guilds.has(guildId)) return unknownGuild;
      const channels = [...ctx.world.channels.values()].filter((c) => c.guildId === guildId && !c.parentId);
      return { status: 200, body: channels.map((c) => channelJson(ctx.world, c)) };
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/guilds/${ID}/members/${ID}$`),
    handle: (ctx) => {
      const guild = ctx.world.guilds.get(ctx.params[0] ?? "");
      if (!guild) return unknownGuild;
      const member = guild.members.get(ctx.params[1] ?? "");
      return member ? { status: 200, body: memberJson(ctx.world, member) } : unknownMember;
    },
  },
];

function createMessage(ctx: RouteContext) {
  const channel = ctx.world.channels.get(ctx.params[0] ?? "");
  if (!channel) return unknownChannel;
  const body = ctx.body as MessageBody | undefined;
  const problem = checkMessageBody(body, ctx.settings.maxLength, false);
  if (problem) return problem;
  const referenceId = body?.message_reference?.message_id;
  // As Discord checks: sending needs Send Messages (in threads, Send Messages in Threads); replying also needs Read Message History.
  const permissions = channelPermissions(ctx.world, channel.id, ctx.world.bot.id);
  if (!(permissions & (channel.parentId ? SEND_MESSAGES_IN_THREADS : SEND_MESSAGES))) return missingPermissions;
  if (referenceId && !(permissions & READ_MESSAGE_HISTORY)) return cannotReplyWithoutHistory;
  if (referenceId && !ctx.world.message(channel.id, referenceId) && body?.message_reference?.fail_if_not_exists !== false) {
    return invalidFormBody("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message");
  }
  // Discord stores content without surrounding whitespace.
  const content = (body?.content ?? "").trim();
  const referenced = referenceId ? ctx.world.message(channel.id, referenceId) : undefined;
  const stored = ctx.world.storeMessage({
    channelId: channel.id,
    guildId: channel.guildId,
    authorId: ctx.world.bot.id,
    content,
    referencedMessageId: referenced?.id,
    allowedMentions: body?.allowed_mentions,
    pings: pingsFor(content, body?.allowed_mentions, referenced !== undefined),
    flags: body?.flags ?? 0,
  });
  ctx.onMessageCreate(stored);
  return { status: 200, body: messageJson(ctx.world, stored) };
}

function editMessage(ctx: RouteContext) {
  const channelId = ctx.params[0] ?? "";
  if (!ctx.world.channels.has(channelId)) return unknownChannel;
  const message = ctx.world.message(channelId, ctx.params[1] ?? "");
  if (!message) return unknownMessage;
  if (message.authorId !== ctx.world.bot.id || message.webhookId) return cannotEditOthers;
  const body = ctx.body as MessageBody | undefined;
  const problem = checkMessageBody(body, ctx.settings.maxLength, true);
  if (problem) return problem;
  // Discord trims what it stores, as on create.
  if (typeof body?.content === "string") message.content = body.content.trim();
  if (body && "allowed_mentions" in body) message.allowedMentions = body.allowed_mentions;
  message.pings = pingsFor(message.content, message.allowedMentions, message.referencedMessageId !== undefined);
  message.editedAtMs = Date.now();
  message.editCount++;
  return { status: 200, body: messageJson(ctx.world, message) };
}

function applicationJson(ctx: RouteContext) {
  return {
    id: ctx.world.applicationId,
    name: ctx.world.bot.username,
    icon: null,
    description: "",
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: "0".repeat(64),
    flags: 1 << 19, // GATEWAY_MESSAGE_CONTENT_LIMITED: the intent is switched on in the portal
    team: null,
    bot: userJson(ctx.world.bot),
  };
}
