/**
 * Turns a Discord message into the core's `IncomingMessage`: decides whether
 * the bot was addressed (a DM, a mention of the bot or of its role, a reply
 * to one of its messages, a prefix command), removes the bot's mention from
 * the text and names people by display name.
 */
import { cleanContent, MessageType, type Message } from "discord.js";
import type { IncomingMessage } from "../../core/types.js";
import { isMessageAuthorModerator, type ModeratorRules } from "./moderators.js";

export interface InboundRules extends ModeratorRules {
  /** The prefix of text commands (`!remember …`). */
  prefix: string;
  /** Names of the registered commands: only these make a prefixed message a command. */
  commandNames: ReadonlySet<string>;
}

/** Messages people write; joins, pins and thread notices are not for the bot. */
const SPOKEN = new Set<MessageType>([MessageType.Default, MessageType.Reply]);

/**
 * The message as the core sees it, or undefined when the bot must not
 * react: bots (itself included), webhooks, system messages, and guild
 * messages that don't address it.
 */
export function toIncomingMessage(message: Message, rules: InboundRules): IncomingMessage | undefined {
  if (message.author.bot || message.webhookId || message.system || !SPOKEN.has(message.type)) return undefined;
  const botId = message.client.user.id;
  const isPrivate = !message.inGuild();

  const botRoleIds = message.inGuild()
    ? message.mentions.roles.filter((role) => role.tags?.botId === botId).map((role) => role.id)
    : [];
  const mention = `<@!?${botId}>${botRoleIds.map((id) => `|<@&${id}>`).join("")}`;
  const mentioned = new RegExp(mention).test(message.content);
  const repliedToBot = message.reference !== null && message.mentions.repliedUser?.id === botId;

  // The mention and the spaces around it go; the rest (code indentation too) stays as written.
  const withoutBot = message.content.replace(new RegExp(`[ \\t]*(?:${mention})[ \\t]*`, "g"), " ");
  const text = cleanContent(withoutBot, message.channel).trim();
  const command = prefixCommand(text, rules);
  if (!isPrivate && !mentioned && !repliedToBot && !command) return undefined;

  const name = message.member?.displayName ?? message.author.displayName;
  return {
    platform: "discord",
    channel: {
      key: `discord:${message.channelId}`,
      private: isPrivate,
      title: "name" in message.channel && message.channel.name ? message.channel.name : undefined,
    },
    author: { key: `discord:${message.author.id}`, name },
    text,
    addressed: true,
    ...(command ? { command } : {}),
    isModerator: () => isMessageAuthorModerator(message, rules),
    raw: message,
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
