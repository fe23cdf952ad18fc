import type { Command } from "../src/core/types.js";
import { formatCost } from "../src/llm/prices.js";
import { plural } from "../src/core/wording.js";

/** The user's model requests, commands, tokens and cost today, and what remains of their limits. */
export const usage: Command = {
  name: "usage",
  description: "Show your requests, commands, tokens and cost today and what remains of your limits",
  usage: "usage",
  async run({ message, reply, services }) {
    const { limits: config } = services.config;
    const [today, left] = await Promise.all([
      services.usage.userToday(message.author.key),
      services.limits.remaining(message.author.key),
    ]);
    const tokens = today.promptTokens + today.completionTokens;
    const cost = services.llm.hasPrices ? `, costing ${formatCost(today.cost, services.llm.currency)}` : "";
    const lines = [
      `Today (UTC): ${plural(today.requests, "model request")} and ${plural(today.commands, "command")}; ${tokens.toLocaleString("en")} tokens (${today.promptTokens.toLocaleString("en")} in, ${today.completionTokens.toLocaleString("en")} out)${cost}`,
      `Model requests left: ${describe(left.minute, config.perMinute)} this minute, ${describe(left.hour, config.perHour)} this hour, ${describe(left.day, config.perDay)} today`,
      `Commands left this minute: ${describe(left.commands, config.commandsPerMinute)}`,
      config.tokensPerDay > 0
        ? `Token budget: ${Math.max(0, config.tokensPerDay - tokens).toLocaleString("en")} of ${config.tokensPerDay.toLocaleString("en")} left today`
        : "Token budget: unlimited",
    ];
    await reply.send(lines.join("\n"));
  },
};

function describe(left: number, limit: number): string {
  return limit === 0 ? "unlimited" : `${left}/${limit}`;
}
