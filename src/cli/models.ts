import pino from "pino";
import { ConfigError, loadConfig } from "../config/load.js";
import { checkConfiguredProviders } from "../llm/providers.js";

/** Prints the models of every configured provider; 1 when a provider does not answer. */
export async function listModels(env: Record<string, string | undefined>, out: NodeJS.WritableStream): Promise<number> {
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    out.write(`configuration: ${e.message}\n`);
    return 1;
  }
  let failed = 0;
  for (const health of await checkConfiguredProviders(config, 8_000, pino({ level: "silent" }))) {
    if (!health.ok) {
      failed++;
      out.write(`${health.name}: not answering (${health.problem})\n`);
      continue;
    }
    out.write(`${health.name}: ${health.models.length} model${health.models.length === 1 ? "" : "s"}\n`);
    for (const model of health.models) out.write(`  ${model}\n`);
  }
  return failed === 0 ? 0 : 1;
}
