import { ParleyError } from "../src/core/errors.js";
import type { Command } from "../src/core/types.js";

/** Teach this channel a fact. */
export const remember: Command = {
  name: "remember",
  description: "Store a fact in this channel's memory",
  usage: "remember <fact>",
  options: [{ name: "fact", description: "The fact to remember", required: true }],
  async run({ message, reply, args, services }) {
    const prefix = services.config.prefixes[0];
    if (!args) throw new ParleyError("bad_input", `Tell me what to remember: ${prefix}remember <fact>.`);
    const max = services.config.memories.maxChars;
    if (args.length > max) throw new ParleyError("bad_input", `That fact is too long (${args.length} characters; the limit is ${max}).`);
    const memory = await services.memories.add(message.channel.key, {
      text: args,
      authorKey: message.author.key,
      authorName: message.author.name,
    });
    await reply.send(`Remembered as #${memory.id}. (${prefix}forget ${memory.id} removes it.)`);
  },
};
