/**
 * The bot was added to a group: the core decides whether it stays
 * (`AdapterContext.joined`); where it may not, it says so once and leaves.
 * Telegram reports the change as a `my_chat_member` update.
 */
import type { Api } from "grammy";
import type { ChatMember, ChatMemberUpdated } from "grammy/types";
import type { Logger } from "pino";
import type { AdapterContext } from "../../core/adapter.js";

/** What handling a join needs from the adapter. */
export interface JoinDeps {
  api: Api;
  joined: AdapterContext["joined"];
  log: Logger | undefined;
  /** Makes an error loggable without the token. */
  safe(error: unknown): unknown;
}

/**
 * The group and who added the bot, when `update` says the bot itself just
 * came into a group or supergroup (was out: left or kicked; is in now).
 * Anything else (it left, was promoted, a private chat or a channel) is not
 * a join.
 */
export function groupJoin(update: ChatMemberUpdated): { chatId: number; title: string; addedById: number } | undefined {
  const { chat } = update;
  if (chat.type !== "group" && chat.type !== "supergroup") return undefined;
  if (isIn(update.old_chat_member) || !isIn(update.new_chat_member)) return undefined;
  return { chatId: chat.id, title: chat.title, addedById: update.from.id };
}

/** Asks the core about a join; on "leave", sends the notice (plain text) and leaves. Never throws. */
export async function handleBotMembership(update: ChatMemberUpdated, deps: JoinDeps): Promise<void> {
  const join = groupJoin(update);
  if (!join) return;
  const where = { chat: join.chatId, title: join.title, addedBy: `telegram:${join.addedById}` };
  let verdict: ReturnType<JoinDeps["joined"]>;
  try {
    verdict = deps.joined({ platform: "telegram", id: String(join.chatId), addedBy: where.addedBy });
  } catch (error) {
    // Without a verdict, staying is the choice a mistake cannot make worse: every message still meets the access lists.
    deps.log?.error({ ...where, err: deps.safe(error) }, "could not decide whether to stay in a Telegram group");
    return;
  }
  if (verdict.stay) {
    deps.log?.info(where, "added to a Telegram group");
    return;
  }
  deps.log?.info(where, "added to a Telegram group it does not serve; leaving");
  try {
    await deps.api.sendMessage(join.chatId, verdict.notice);
  } catch (error) {
    // The group may not let the bot write; it leaves all the same.
    deps.log?.warn({ ...where, err: deps.safe(error) }, "could not say why the bot leaves a Telegram group");
  }
  try {
    await deps.api.leaveChat(join.chatId);
  } catch (error) {
    deps.log?.warn({ ...where, err: deps.safe(error) }, "could not leave a Telegram group");
  }
}

/**
 * In the chat: a member, an administrator or the creator, or a restricted
 * member still in it (a group may add the bot with restrictions).
 */
function isIn(member: ChatMember): boolean {
  switch (member.status) {
    case "member":
    case "administrator":
    case "creator":
      return true;
    case "restricted":
      return member.is_member;
    default:
      return false;
  }
}
