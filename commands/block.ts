import { blockChannels } from "../src/core/access.js";
import { ParleyError } from "../src/core/errors.js";
import type { CommandContext, Command, IncomingMessage, UserRef } from "../src/core/types.js";
import type { Block, BlockScope } from "../src/store/blocks.js";

/** A platform user key as users write it: `telegram:42`, `discord:123…`. */
const USER_KEY = /^(telegram:-?\d+|discord:\d{15,21})$/;

/**
 * Who a moderator means: a platform user key, a Discord mention (`<@123…>`,
 * as a slash command's user option arrives), a bare id of this platform, a
 * person the message mentions, or the author of the message it replies to.
 */
function targetOf(message: IncomingMessage, args: string): UserRef | undefined {
  const word = args.split(/\s+/)[0] ?? "";
  const named = (key: string) => message.mentions?.find((m) => m.key === key) ?? { key, name: key };
  if (USER_KEY.test(word)) return named(word);
  const mention = /^<@!?(\d{15,21})>$/.exec(word);
  if (mention) return named(`discord:${mention[1]}`);
  if (/^-?\d+$/.test(word) && message.platform !== "console") return named(`${message.platform}:${word}`);
  if (message.mentions?.[0]) return message.mentions[0];
  if (word) {
    // A name the platform gave no id for (a Telegram @username): never fall back to whoever the message replies to.
    throw new ParleyError("bad_input", `I can't tell who ${word.slice(0, 40)} is. Reply to one of their messages instead, or give their ${message.platform}:<user id>.`);
  }
  return message.replyTo?.author;
}

/** An owner blocks everywhere; a moderator in this channel (a Discord thread's or Telegram topic's block is its parent's). */
function scopeOf(ctx: CommandContext): BlockScope {
  const { message, services } = ctx;
  if (services.access.isOwner(message.author.key)) return "everywhere";
  return { channelKey: channelOf(message) };
}

/** The channel blocks are kept for: a thread's or topic's parent, else the message's own channel. */
function channelOf(message: IncomingMessage): string {
  return blockChannels(message).at(-1)!;
}

function whoToBlock(ctx: CommandContext, verb: "block" | "unblock"): UserRef {
  const { message, args, services } = ctx;
  const target = targetOf(message, args);
  if (!target) {
    const prefix = services.config.prefixes[0];
    const mention = message.platform === "discord" ? ` or ${prefix}${verb} @name` : "";
    throw new ParleyError("bad_input", `Whom? Reply to one of their messages with ${prefix}${verb}${mention}, or write ${prefix}${verb} ${message.platform}:<user id>.`);
  }
  return target;
}

/** A moderator (or an owner, everywhere) has the bot ignore someone. */
export const block: Command = {
  name: "block",
  description: "Have the bot ignore someone in this channel (moderators; owners: everywhere)",
  usage: "block <@user | reply | platform:id>",
  options: [{ name: "user", description: "Who the bot should ignore", required: true, kind: "user" }],
  moderatorOnly: true,
  async run(ctx) {
    const { message, reply, services } = ctx;
    const target = whoToBlock(ctx, "block");
    if (target.key === message.author.key) throw new ParleyError("bad_input", "You can't block yourself.");
    if (target.bot) throw new ParleyError("bad_input", `${target.name} is a bot: I never answer bots anyway.`);
    if (services.access.isOwner(target.key)) throw new ParleyError("not_allowed", `${target.name} owns this bot and can't be blocked.`);
    const scope = scopeOf(ctx);
    if (scope !== "everywhere" && message.channel.private) {
      throw new ParleyError("bad_input", "Blocks are made in a group or server channel, where the person writes.");
    }
    const entry: Block = { userKey: target.key, name: target.name, byName: message.author.name, at: Date.now() };
    await services.blocks.block(scope, entry);
    services.log.info({ user: target.key, by: message.author.key, scope: scope === "everywhere" ? scope : scope.channelKey }, "user blocked");
    await reply.send(`Blocked ${target.name}${scope === "everywhere" ? " everywhere" : " in this channel"}: I'll ignore their messages.`);
  },
};

/** Lifts a block. */
export const unblock: Command = {
  name: "unblock",
  description: "Let someone blocked use the bot again (moderators)",
  usage: "unblock <@user | reply | platform:id>",
  options: [{ name: "user", description: "Who the bot should answer again", required: true, kind: "user" }],
  moderatorOnly: true,
  async run(ctx) {
    const { message, reply, services } = ctx;
    const scope = scopeOf(ctx);
    const blocks = await services.blocks.list(channelOf(message));
    const asked = whoToBlock(ctx, "unblock");
    // Named as they were when blocked, when the command gave only their key.
    const known = [...blocks.here, ...blocks.everywhere].find((b) => b.userKey === asked.key);
    const target = asked.name === asked.key && known?.name ? { key: asked.key, name: known.name } : asked;
    if (scope === "everywhere") {
      // An owner lifts the block wherever it is: everywhere and here.
      const lifted = await Promise.all([
        services.blocks.unblock("everywhere", target.key),
        services.blocks.unblock({ channelKey: channelOf(message) }, target.key),
      ]);
      await reply.send(lifted.some(Boolean) ? `Unblocked ${target.name}.` : `${target.name} was not blocked.`);
      return;
    }
    if (await services.blocks.unblock(scope, target.key)) {
      await reply.send(`Unblocked ${target.name} in this channel.`);
      return;
    }
    const everywhere = blocks.everywhere.some((b) => b.userKey === target.key);
    await reply.send(everywhere ? `${target.name} is blocked everywhere by the bot's owner; only an owner can unblock them.` : `${target.name} is not blocked here.`);
  },
};

/** Who is blocked here and everywhere. */
export const blocked: Command = {
  name: "blocked",
  description: "List who the bot ignores here (moderators)",
  usage: "blocked",
  moderatorOnly: true,
  async run({ message, reply, services }) {
    const { here, everywhere } = await services.blocks.list(channelOf(message));
    if (here.length === 0 && everywhere.length === 0) {
      await reply.send("Nobody is blocked here.");
      return;
    }
    const line = (b: Block) => `• ${b.name && b.name !== b.userKey ? `${b.name} (${b.userKey})` : b.userKey}, by ${b.byName} on ${new Date(b.at).toISOString().slice(0, 10)}`;
    const lines: string[] = [];
    if (here.length > 0) lines.push("Blocked in this channel:", ...here.map(line));
    if (everywhere.length > 0) lines.push("Blocked everywhere:", ...everywhere.map(line));
    await reply.send(lines.join("\n"));
  },
};
