import { ParleyError } from "../src/core/errors.js";
import type { Services } from "../src/core/services.js";
import type { Command } from "../src/core/types.js";
import type { Persona } from "../src/personas/catalog.js";

/** The channel's persona, or the default when it chose none or its file is gone. */
export async function currentPersona(services: Services, channelKey: string): Promise<Persona> {
  const chosen = await services.settings.getPersona(channelKey);
  const persona = (chosen && services.personas.get(chosen)) || services.personas.get(services.config.defaultPersona);
  if (!persona) throw new ParleyError("internal", "No persona is available; check the persona folder.");
  return persona;
}

/** List personas, or switch this channel's. */
export const persona: Command = {
  name: "persona",
  description: "List personas or switch this channel's persona",
  usage: "persona [name]",
  options: [{ name: "name", description: "The persona to switch to", autocomplete: true }],
  moderatorOnly: (args) => args.length > 0,
  async complete(services, _option, prefix) {
    const p = prefix.toLowerCase();
    return services.personas.names().filter((n) => n.startsWith(p));
  },
  async run({ message, reply, args, services }) {
    const current = await currentPersona(services, message.channel.key);
    const all = services.personas.list();
    if (!args) {
      const lines = all.map((p) => `${p.name === current.name ? "▸" : "•"} ${p.name}: ${p.description}`);
      await reply.send(`Personas (current: ${current.name}):\n${lines.join("\n")}`);
      return;
    }
    const wanted = services.personas.get(args.split(/\s+/)[0]!);
    if (!wanted) {
      throw new ParleyError("bad_input", `There is no persona "${args.slice(0, 40)}". Choose one of: ${all.map((p) => p.name).join(", ")}.`);
    }
    await services.settings.setPersona(message.channel.key, wanted.name);
    await reply.send(`Persona switched to ${wanted.name}: ${wanted.description.replace(/[.\s]+$/, "")}.`);
  },
};
