import type { Command } from "../src/core/types.js";
import { words } from "../src/store/memory-search.js";

const shown = 10;

/** Search this channel's memories. */
export const recall: Command = {
  name: "recall",
  description: "Show this channel's memories that best match a query",
  usage: "recall [query]",
  options: [{ name: "query", description: "What to look for (empty: the latest)" }],
  async run({ message, reply, args, services }) {
    const found = await services.memories.search(message.channel.key, args, shown);
    if (found.length === 0) {
      const prefix = services.config.prefixes[0];
      await reply.send(args ? `No memory here matches "${args.slice(0, 60)}".` : `This channel has no memories yet. Add one with ${prefix}remember <fact>.`);
      return;
    }
    const lines = found.map((m, i) => `${i + 1}. #${m.id} ${m.text} (by ${m.authorName})`);
    // A query with nothing to search by (emoji, punctuation, stop words) lists the latest.
    const ranked = words(args).length > 0;
    await reply.send(`${ranked ? "Best matches" : "Latest memories"}:\n${lines.join("\n")}`);
  },
};
