/**
 * `parley route "text"`: which model would answer a message, and why. With
 * hybrid routing it prints the class the message gets, the reasons, and the
 * target; otherwise the persona's model, the matching rule or the default.
 */
import pino from "pino";
import { ConfigError, loadConfig } from "../config/load.js";
import { createRouter } from "../llm/providers.js";
import { LlmSetupError, targetName } from "../llm/setup.js";
import { personaCatalogFor } from "../personas/catalog.js";

const usage = 'Usage: parley route "message text" [--persona NAME] [--history TOKENS]\n';

/** Prints the route of one message; 2 for a bad command line, 1 for a bad configuration. */
export function printRoute(args: readonly string[], env: Record<string, string | undefined>, out: NodeJS.WritableStream): number {
  const words: string[] = [];
  let personaName: string | undefined;
  let historyTokens = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--persona") personaName = args[++i];
    else if (arg === "--history") historyTokens = Number(args[++i]);
    else words.push(arg);
  }
  const text = words.join(" ");
  if (!text.trim() || personaName === "" || !Number.isInteger(historyTokens) || historyTokens < 0) {
    out.write(usage);
    return 2;
  }
  let router;
  let persona;
  try {
    const config = loadConfig(env);
    router = createRouter(config, pino({ level: "silent" }), { checkAtStart: false });
    const personas = personaCatalogFor(config);
    const name = personaName ?? config.defaultPersona;
    persona = personas.get(name);
    if (!persona) {
      out.write(`There is no persona named ${name} (there are: ${personas.names().join(", ")}).\n`);
      return 2;
    }
  } catch (e) {
    if (!(e instanceof ConfigError) && !(e instanceof LlmSetupError)) throw e;
    out.write(`configuration: ${e.message}\n`);
    return 1;
  }
  const choice = router.choose(persona, text, historyTokens);
  const target = targetName({ provider: choice.provider.name, model: choice.model });
  if (choice.complexity) {
    out.write(`class: ${choice.complexity.class}\n`);
    for (const reason of choice.complexity.reasons) out.write(`  ${reason}\n`);
  }
  const why = {
    persona: `the persona ${persona.name}'s own model`,
    route: `routing rule ${(choice.rule ?? 0) + 1}`,
    hybrid: `hybrid routing's ${choice.complexity?.class} target`,
    default: "the default model",
    vision: "llm.visionModel, for images",
  }[choice.reason];
  out.write(`target: ${target} (${why})\n`);
  return 0;
}
