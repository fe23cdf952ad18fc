/**
 * Turns a Discord message into the core's `IncomingMessage`: decides whether
 * the bot was addressed (a DM, a mention of the bot or of its role, a reply
 * to one of its messages, a prefix command), removes the bot's mention from
 * the text, names people by display name, and says where it was written, the
 * author's roles, whom it mentions and what it replies to.
 */
import { cleanContent, MessageType, type Message } from "discord.js";
import type { IncomingMessage, UserRef } from "../../core/types.js";
import { attachmentsOf } from "./attachments.js";
import { placeOf, rolesOf, userRefOf } from "./describe.js";
import { isMessageAuthorModerator, type ModeratorRules } from "./moderators.js";

export interface InboundRules extends ModeratorRules {
  /** The prefix of text commands (`!remember …`). */
  prefix: string;
  /** Names of the registered commands: only these make a prefixed message a command. */
  commandNames: ReadonlySet<string>;
  /** Hosts besides Discord's CDN that attachments may be downloaded from (the host of a test server's API). @defaultValue none */
  fileHosts?: readonly string[];
}

/** Messages people write; joins, pins and thread notices are not for the bot. */
const SPOKEN = new Set<MessageType>([MessageType.Default, MessageType.Reply]);

/**
 * The message as the core sees it, or undefined when the bot must not
 * react: bots (itself included), webhooks, system messages, and guild
 * messages that don't address it.
 */
export function toIncomingMessage(message: Message, rules: InboundRules): IncomingMessage | undefined {
  const botId = message.client.user.id;
  if (message.author.bot || message.author.id === botId || message.webhookId || message.system || !SPOKEN.has(message.type)) return undefined;
  const isPrivate = !message.inGuild();

  const mention = `<@!?${botId}>${botRoleIds(message, botId).map((id) => `|<@&${id}>`).join("")}`;
  // `mentions` also lists the bot when a reply to it pings it, with no mention in the text.
  const mentioned = new RegExp(mention).test(message.content) || message.mentions.users.has(botId);
  const repliedToBot = isReplyToBot(message, botId);

  // The mention and the spaces around it go; the rest (code indentation too) stays as written.
  const withoutBot = message.content.replace(new RegExp(`[ \\t]*(?:${mention})[ \\t]*`, "g"), " ");
  const text = cleanContent(withoutBot, message.channel).trim();
  const command = prefixCommand(text, rules);
  if (!isPrivate && !mentioned && !repliedToBot && !command) return undefined;

  const name = message.member?.displayName ?? message.author.displayName;
  const mentions = mentionedPeople(message, botId);
  const replyTo = repliedTo(message, rules);
  const attachments = attachmentsOf(message, rules.fileHosts);
  return {
    platform: "discord",
    channel: {
      key: `discord:${message.channelId}`,
      private: isPrivate,
      title: "name" in message.channel && message.channel.name ? message.channel.name : undefined,
    },
    place: placeOf(message.channelId, message.guildId, message.channel),
    author: { key: `discord:${message.author.id}`, name, ...(isPrivate ? {} : { roles: rolesOf(message.member) }) },
    text,
    addressed: true,
    ...(command ? { command } : {}),
    ...(mentions.length > 0 ? { mentions } : {}),
    ...(attachments ? { attachments } : {}),
    ...(replyTo ? { replyTo } : {}),
    isModerator: () => isMessageAuthorModerator(message, rules),
    raw: message,
  };
}

/** The bot's own role in the message's guild (Discord's managed role), as mentioned or as known from the guild. */
function botRoleIds(message: Message, botId: string): string[] {
  if (!message.inGuild()) return [];
  const mentioned = message.mentions.roles.filter((role) => role.tags?.botId === botId).map((role) => role.id);
  const known = message.guild.roles.botRoleFor(botId)?.id;
  return known && !mentioned.includes(known) ? [...mentioned, known] : mentioned;
}

/**
 * Whether the message replies to one of the bot's: by `referenced_message`,
 * or, when the server left that out, by the replied-to message as the bot
 * saw it (discord.js keeps the messages it sent).
 */
function isReplyToBot(message: Message, botId: string): boolean {
  const reference = message.reference;
  if (!reference?.messageId) return false;
  if (message.mentions.repliedUser) return message.mentions.repliedUser.id === botId;
  return message.channel.messages.cache.get(reference.messageId)?.author.id === botId;
}

/**
 * The users written into the text (`<@id>`), in the order written, the bot
 * left out. Discord's own list is unordered and also holds the author of a
 * replied-to message when the reply pings them; that person is `replyTo`.
 */
function mentionedPeople(message: Message, botId: string): UserRef[] {
  const ids = new Set([...message.content.matchAll(/<@!?(\d+)>/g)].map((match) => match[1] as string));
  ids.delete(botId);
  return [...ids].flatMap((id) => {
    const user = message.mentions.users.get(id);
    return user ? [userRefOf(user, message.mentions.members?.get(id))] : [];
  });
}

/**
 * The message this one replies to, as discord.js holds it: Discord sends it
 * along (`referenced_message`, which discord.js caches), and discord.js keeps
 * the channel's recent messages anyway. A deleted one is not known: no `replyTo`.
 */
function repliedTo(message: Message, rules: InboundRules): IncomingMessage["replyTo"] {
  const id = message.reference?.messageId;
  if (message.type !== MessageType.Reply || !id) return undefined;
  const replied = message.channel.messages.cache.get(id);
  if (!replied) return undefined;
  const attachments = attachmentsOf(replied, rules.fileHosts);
  return {
    author: userRefOf(replied.author, replied.member),
    text: cleanContent(replied.content, message.channel),
    ...(attachments ? { attachments } : {}),
  };
}

/** `!remember the sky is blue` → remember / the sky is blue, for registered commands only. */
function prefixCommand(text: string, rules: InboundRules): { name: string; args: string } | undefined {
  if (!text.startsWith(rules.prefix)) return undefined;
  const match = /^(\S+)(?:\s+([\s\S]*))?$/.exec(text.slice(rules.prefix.length));
  const name = match?.[1]?.toLowerCase();
  if (!name || !rules.commandNames.has(name)) return undefined;
  return { name, args: (match?.[2] ?? "").trim() };
}
