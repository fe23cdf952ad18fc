import type { Command } from "../src/core/types.js";
import { formatCost } from "../src/llm/prices.js";
import { basename } from "node:path";
import type { EmbeddedModelInfo } from "../src/llm/embedded.js";
import { formatBytes } from "../src/llm/model-files.js";
import type { ProviderHealth } from "../src/llm/router.js";
import { targetName } from "../src/llm/setup.js";
import { plural } from "../src/core/wording.js";
import { currentPersona } from "./persona.js";

/** The model of this channel, where each persona and rule points, provider health, today's totals, uptime. */
export const status: Command = {
  name: "status",
  description: "Show the models, whether their servers answer, today's usage, and uptime",
  usage: "status",
  async run({ message, reply, services }) {
    const { llm } = services;
    const persona = await currentPersona(services, message.channel.key);
    const choice = llm.choose(persona);
    const hybrid = llm.hybridTargets;
    const [health, today, byModel, channel, budgets, split] = await Promise.all([
      llm.health(),
      services.usage.totalToday(),
      services.usage.modelsToday(),
      services.usage.channelToday(message.channel.key),
      services.budgets.describe(message.channel.key),
      hybrid ? services.usage.hybridToday() : undefined,
    ]);
    const defaultTarget = targetName({ provider: llm.defaultChoice.provider.name, model: llm.defaultChoice.model });
    const routes = llm.describeRoutes();
    const fallback = llm.fallbackChain();

    const hybridLine = hybrid && `by complexity: simple → ${hybrid.simple}${hybrid.medium ? `, medium → ${hybrid.medium}` : ""}, complex → ${hybrid.complex}`;
    const model =
      choice.reason === "persona"
        ? `${choice.model} via ${choice.provider.name} (the persona's own)`
        : hybridLine
          ? `${routes.length > 0 ? "the rules, else " : ""}${hybridLine}`
          : `${choice.model} via ${choice.provider.name}${routes.length > 0 ? " (unless a rule matches)" : ""}`;
    const lines = [`Persona: ${persona.name}`, `Model: ${model}`];
    lines.push("Personas:");
    const otherwise = hybrid ? "hybrid routing" : defaultTarget;
    for (const p of services.personas.list()) {
      const own = llm.personaTarget(p);
      lines.push(`• ${p.name} → ${own ? targetName(own) : routes.length > 0 ? `the rules, else ${otherwise}` : otherwise}`);
    }
    if (routes.length > 0) {
      lines.push("Rules (first match wins):");
      routes.forEach((r, i) => lines.push(`${i + 1}. ${r.when} → ${r.target}`));
    }
    if (hybridLine) lines.push(`Hybrid routing ${hybridLine}`);
    else lines.push(`Default: ${defaultTarget}`);
    if (fallback.length > 0) lines.push(`Fallback: ${fallback.join(" → ")}`);
    lines.push("Providers:");
    for (const h of health) lines.push(describeProvider(h));

    const costOf = (amount: number) => (llm.hasPrices ? `, ${formatCost(amount, llm.currency)}` : "");
    const tokensOf = (u: { promptTokens: number; completionTokens: number }) => `${(u.promptTokens + u.completionTokens).toLocaleString("en")} tokens`;
    lines.push(`Today (UTC): ${plural(today.requests, "model request")}, ${plural(today.commands, "command")}, ${tokensOf(today)}${costOf(today.cost)}`);
    for (const { model, usage } of byModel) lines.push(`• ${model}: ${plural(usage.requests, "answer")}, ${tokensOf(usage)}${costOf(usage.cost)}`);
    lines.push(`This channel today: ${plural(channel.requests, "model request")}, ${tokensOf(channel)}${costOf(channel.cost)}`);
    if (hybrid && split) {
      lines.push("Hybrid routing today (UTC):");
      for (const r of split.routes) lines.push(`• ${r.class} → ${r.model}: ${plural(r.usage.requests, "answer")}, ${tokensOf(r.usage)}${costOf(r.usage.cost)}`);
      if (split.routes.length === 0) lines.push("• no answers yet");
      if (llm.hasPrices) lines.push(`Saved against answering everything with ${hybrid.complex}: ${formatCost(split.saved, llm.currency)}`);
    }
    lines.push(...budgets);
    lines.push(`Uptime: ${formatUptime(Date.now() - services.startedAt)}`);
    lines.push(`Store: ${services.config.redisUrl ? "Redis" : "in memory (lost on restart)"}`);
    await reply.send(lines.join("\n"));
  },
};

function describeProvider(h: ProviderHealth): string {
  const parts: string[] = [];
  if (!h.ok) parts.push(`not answering (${h.problem})`);
  else if (h.missing.length > 0) {
    parts.push(`answering, but ${h.missing.map((m) => `${m.model} is missing (${m.fix})`).join("; ")}`);
  } else parts.push(`answering (${plural(h.models.length, "model")})`);
  if (h.medianLatencyMs !== undefined) {
    parts.push(`median ${Math.round(h.medianLatencyMs).toLocaleString("en")} ms to first token over ${plural(h.latencySamples, "answer")}`);
  }
  if (h.coolingDownMs > 0) parts.push(`skipped for ${Math.ceil(h.coolingDownMs / 1000)} s after repeated failures`);
  if (h.loadedModels && h.loadedModels.length > 0) parts.push(`kept loaded: ${h.loadedModels.join(", ")}`);
  if (h.embedded) parts.push(describeEmbedded(h.embedded));
  return `${h.name}: ${parts.join("; ")}`;
}

/** An embedded model: its file and size, its context, and how it has been answering. */
function describeEmbedded(m: EmbeddedModelInfo): string {
  const parts = [`runs ${basename(m.file)}${m.sizeBytes !== undefined ? ` (${formatBytes(m.sizeBytes)})` : ""} in the bot`];
  if (m.contextTokens !== undefined) parts.push(`context ${m.contextTokens.toLocaleString("en")} tokens`);
  else if (!m.loaded) parts.push("loaded at the first message");
  parts.push(plural(m.answers, "answer"));
  if (m.medianAnswerMs !== undefined) parts.push(`median ${Math.round(m.medianAnswerMs).toLocaleString("en")} ms per answer`);
  if (m.running + m.waiting > 0) parts.push(`${m.running} writing, ${m.waiting} waiting`);
  return parts.join(", ");
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}
