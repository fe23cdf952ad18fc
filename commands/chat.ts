import { buildPrompt } from "../src/chat/prompt.js";
import { foldOldTurns } from "../src/chat/summary.js";
import { estimateTokens } from "../src/chat/tokens.js";
import { ParleyError } from "../src/core/errors.js";
import type { Command } from "../src/core/types.js";
import { AnswerStream } from "../src/llm/answer.js";
import type { Services } from "../src/core/services.js";
import { rankMemories } from "../src/store/memory-search.js";
import type { Memory } from "../src/store/types.js";
import { currentPersona } from "./persona.js";

/**
 * The channel's facts for one prompt: the best matches for the text first,
 * then, while there is room, the newest others, so a fact like "my name is
 * Bob" still reaches a question that shares no word with it.
 */
async function promptMemories(services: Services, channel: string, text: string): Promise<Memory[]> {
  const room = services.config.memories.inPrompt;
  if (room === 0) return [];
  const all = await services.memories.list(channel);
  const chosen = rankMemories(all, text, room);
  const newest = [...all].sort((a, b) => b.createdAt - a.createdAt);
  for (const memory of newest) {
    if (chosen.length >= room) break;
    if (!chosen.includes(memory)) chosen.push(memory);
  }
  return chosen;
}

/** Talk to the model with the channel's persona, history and memories. */
export const chat: Command = {
  name: "chat",
  description: "Talk to the model",
  usage: "chat <text>",
  options: [{ name: "text", description: "What to say", required: true }],
  async run({ message, reply, args, services }) {
    const { config, history, usage, llm } = services;
    const channel = message.channel.key;
    if (!args) {
      await reply.send(`Say something after ${config.prefixes[0]}chat, or just write to me. Send ${config.prefixes[0]}help for commands.`);
      return;
    }
    const persona = await currentPersona(services, channel);
    const [recent, facts, summary] = await Promise.all([
      history.recent(channel, config.history.promptMessages),
      promptMemories(services, channel, args),
      history.getSummary(channel),
    ]);
    const messages = buildPrompt({
      persona,
      history: recent,
      memories: facts,
      summary,
      shared: !message.channel.private,
      user: { name: message.author.name, text: args },
      historyTokens: config.history.promptTokens,
    });

    const budget = config.limits.tokensPerDay;
    const estimatedPrompt = messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    if (budget > 0) {
      const today = await usage.userToday(message.author.key);
      const spent = today.promptTokens + today.completionTokens;
      if (spent + estimatedPrompt > budget) {
        throw new ParleyError(
          "budget_exceeded",
          `You've used ${spent.toLocaleString("en")} of your ${budget.toLocaleString("en")} tokens for today; the budget resets at midnight UTC.`,
        );
      }
    }

    const choice = llm.choose(persona, args);
    const answer = new AnswerStream(llm.chat(choice, messages, { temperature: persona.temperature }));
    reply.typing();
    await reply.stream(answer.shown());
    const estimated = { promptTokens: estimatedPrompt, completionTokens: estimateTokens(answer.text) };
    if (answer.cut || !answer.done) {
      // Half an answer is not stored (the next prompt would build on it), but its tokens were spent.
      services.log.warn({ channel, code: answer.cut?.code, detail: answer.cut?.message }, "answer cut off; not stored");
      await usage.record({ userKey: message.author.key, channelKey: channel, ...estimated });
      return;
    }
    if (!answer.text.trim()) {
      await reply.send("The model gave an empty answer; try rephrasing.");
      return;
    }

    const now = Date.now();
    await history.append(channel, [
      { role: "user", content: args, author: message.author.name, at: now },
      { role: "assistant", content: answer.text, at: now },
    ]);
    const { usage: reported, target } = answer.done;
    const tokens = reported ?? estimated;
    if (!reported) services.log.debug({ model: target }, "provider reported no token usage; recorded an estimate");
    const cost = target ? llm.costOf(target, tokens) : 0;
    await usage.record({ userKey: message.author.key, channelKey: channel, ...tokens, cost, model: target });
    await foldOldTurns(services, channel);
  },
};
