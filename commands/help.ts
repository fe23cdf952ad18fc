import type { Command } from "../src/core/types.js";

/** List the commands with their usage. */
export const help: Command = {
  name: "help",
  description: "List the commands",
  usage: "help",
  async run({ reply, services }) {
    const prefix = services.config.prefixes[0];
    const lines = services.commands.map((c) => `${prefix}${c.usage} — ${c.description}${c.moderatorOnly ? " (moderators in groups)" : ""}`);
    await reply.send(`Write to me to chat, or use a command:\n${lines.join("\n")}`);
  },
};
