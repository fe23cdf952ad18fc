import type { Services } from "../core/services.js";
import type { ChatMessage } from "../llm/types.js";
import type { IndexedTurn } from "../store/history.js";
import { estimateTokens } from "./tokens.js";

const instructions = [
  "You keep the running summary of a group chat for an assistant called Parley.",
  "Merge the summary so far with the new messages into one updated summary.",
  "Keep names, facts people stated about themselves or the world, decisions, promises and open questions;",
  "drop greetings and small talk. Write plain sentences, no headings, no preamble.",
].join(" ");

/**
 * Whether the turns not yet summarised (their texts, oldest first) pass the
 * history budget, in count or in tokens once the summary is counted: the
 * condition for a fold. A caller that knows all of them can ask this first
 * and spare the store a read.
 */
export function overflows(limits: { promptTokens: number; promptMessages: number }, summary: string | undefined, turns: readonly string[]): boolean {
  const budget = limits.promptTokens - (summary ? estimateTokens(summary) : 0);
  return turns.length > limits.promptMessages || turns.reduce((sum, t) => sum + estimateTokens(t), 0) > budget;
}

/**
 * Keeps a long conversation within the model's context: when the turns not
 * yet summarised pass the history budget (tokens or count), the oldest of
 * them are folded by the model into the channel's running summary, which
 * the prompt then carries ahead of the recent turns. Returns whether it
 * folded anything. A failed summary is logged and retried after a later
 * message; nothing is lost, since the turns stay until folded.
 */
export async function foldOldTurns(services: Services, channelKey: string): Promise<boolean> {
  const { history, config, llm, log } = services;
  const { promptTokens, promptMessages } = config.history;
  // Twice the window: enough to see what overflows it without reading the whole history.
  const { turns: pending, summary = "" } = await history.window(channelKey, promptMessages * 2 + 2);
  const budget = promptTokens - estimateTokens(summary);
  const tokensOf = (turns: IndexedTurn[]) => turns.reduce((sum, t) => sum + estimateTokens(t.turn.content), 0);
  if (!overflows(config.history, summary, pending.map((t) => t.turn.content))) return false;

  // Fold until what stays fills about half the window, so a fold happens every few messages, not every one.
  let cut = 0;
  let keptTokens = tokensOf(pending);
  while (cut < pending.length - 1 && (keptTokens > budget / 2 || pending.length - cut > promptMessages / 2)) {
    keptTokens -= estimateTokens(pending[cut]!.turn.content);
    cut++;
  }
  // The recent window starts on a question, never on its answer.
  while (cut < pending.length - 1 && pending[cut]!.turn.role === "assistant") cut++;
  const folded = pending.slice(0, cut);
  if (folded.length === 0) return false;

  const maxSummaryTokens = Math.max(64, Math.floor(promptTokens / 3));
  const transcript = folded.map(({ turn }) => `${turn.role === "user" ? (turn.author ?? "User") : "Parley"}: ${turn.content}`).join("\n");
  const messages: ChatMessage[] = [
    { role: "system", content: instructions },
    {
      role: "user",
      content: `Summary so far:\n${summary || "(none)"}\n\nNew messages:\n${transcript}\n\nWrite the updated summary in at most ${Math.floor(maxSummaryTokens * 0.7)} words.`,
    },
  ];
  let text = "";
  try {
    for await (const delta of llm.chat(llm.defaultChoice, messages, { temperature: 0.2 })) {
      if (delta.type === "text") text += delta.text;
      else if (delta.usage) {
        // Summaries are the channel's cost, not one member's: a pseudo-user keeps them out of anyone's budget.
        const cost = delta.target ? llm.costOf(delta.target, delta.usage) : 0;
        await services.usage.record({ userKey: `summary:${channelKey}`, channelKey, ...delta.usage, cost, model: delta.target });
      }
    }
  } catch (e) {
    log.warn({ err: e, channel: channelKey }, "could not summarise the older conversation; will try again later");
    return false;
  }
  text = text.trim();
  if (!text) return false;
  // A model that ignores the length asked for must not crowd the recent turns out.
  const maxChars = maxSummaryTokens * 4;
  if (text.length > maxChars) text = `${text.slice(0, maxChars - 1)}…`;
  await history.setSummary(channelKey, text, folded.at(-1)!.index + 1);
  log.debug({ channel: channelKey, folded: folded.length }, "older turns folded into the summary");
  return true;
}
