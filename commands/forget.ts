import { ParleyError } from "../src/core/errors.js";
import type { Command } from "../src/core/types.js";

/** Delete one memory: its author or a moderator. */
export const forget: Command = {
  name: "forget",
  description: "Delete one of this channel's memories by id",
  usage: "forget <id>",
  options: [{ name: "id", description: "The memory's id, as recall shows it", required: true }],
  async run({ message, reply, args, services }) {
    const prefix = services.config.prefixes[0];
    const id = args.split(/\s+/)[0]?.replace(/^#/, "") ?? "";
    if (!id) throw new ParleyError("bad_input", `Which memory? ${prefix}forget <id> (${prefix}recall shows the ids).`);
    const channel = message.channel.key;
    const memory = await services.memories.get(channel, id);
    if (!memory) throw new ParleyError("bad_input", `There is no memory #${id.slice(0, 20)} in this channel. ${prefix}recall shows the ids.`);
    const mayDelete = memory.authorKey === message.author.key || message.channel.private || (await message.isModerator());
    if (!mayDelete) throw new ParleyError("not_allowed", `Only ${memory.authorName}, who added #${memory.id}, or a moderator can forget it.`);
    await services.memories.remove(channel, memory.id);
    await reply.send(`Forgot #${memory.id}: ${memory.text}`);
  },
};
