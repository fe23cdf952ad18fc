import { ParleyError } from "../src/core/errors.js";
import type { Command } from "../src/core/types.js";

/** Clear this channel's conversation; `reset all` also restores the default persona. */
export const reset: Command = {
  name: "reset",
  description: "Clear this channel's conversation (memories are kept)",
  usage: "reset [all]",
  options: [{ name: "scope", description: "`all` also returns the persona to default" }],
  moderatorOnly: true,
  async run({ message, reply, args, services }) {
    const scope = args.toLowerCase();
    if (scope && scope !== "all") throw new ParleyError("bad_input", `Use ${services.config.prefixes[0]}reset or ${services.config.prefixes[0]}reset all.`);
    await services.history.clear(message.channel.key);
    if (scope === "all") {
      await services.settings.clear(message.channel.key);
      await reply.send(`Conversation cleared and persona back to ${services.config.defaultPersona}. Memories are kept.`);
      return;
    }
    await reply.send("Conversation cleared. The persona and memories are kept.");
  },
};
