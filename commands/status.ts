import type { Command } from "../src/core/types.js";
import { currentPersona } from "./persona.js";

/** Provider, model, whether the model server answers, uptime. */
export const status: Command = {
  name: "status",
  description: "Show the model, whether its server answers, and uptime",
  usage: "status",
  unlimited: true,
  async run({ message, reply, services }) {
    const persona = await currentPersona(services, message.channel.key);
    const choice = services.llm.choose(persona);
    const health = await services.llm.health();
    const lines = [`Persona: ${persona.name}`, `Model: ${choice.model} via ${choice.provider.name}`];
    for (const h of health) {
      if (!h.ok) lines.push(`${h.name}: not answering (${h.problem})`);
      else if (h.name === choice.provider.name && !h.models.some((m) => sameModel(m, choice.model))) {
        lines.push(`${h.name}: answering, but ${choice.model} is not installed`);
      } else lines.push(`${h.name}: answering (${h.models.length} models)`);
    }
    lines.push(`Uptime: ${formatUptime(Date.now() - services.startedAt)}`);
    lines.push(`Store: ${services.config.redisUrl ? "Redis" : "in memory (lost on restart)"}`);
    await reply.send(lines.join("\n"));
  },
};

/** Ollama lists `llama3.2:latest` for a model asked for as `llama3.2`. */
function sameModel(listed: string, wanted: string): boolean {
  return listed === wanted || listed === `${wanted}:latest`;
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}
