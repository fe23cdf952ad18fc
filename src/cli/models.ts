import pino from "pino";
import { ConfigError, loadConfig } from "../config/load.js";
import { formatBytes, listDownloaded, modelsDir, shownUrl } from "../llm/model-files.js";
import { checkConfiguredProviders } from "../llm/providers.js";

/**
 * Prints the models of every configured provider, then the model files
 * downloaded for the embedded provider; 1 when a provider does not answer.
 */
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
  await listModelFiles(env, out);
  return failed === 0 ? 0 : 1;
}

/** The downloaded model files with their sizes and where each came from. */
async function listModelFiles(env: Record<string, string | undefined>, out: NodeJS.WritableStream): Promise<void> {
  const dir = modelsDir(env);
  const files = await listDownloaded(dir);
  if (files.length === 0) {
    out.write(`downloaded model files (${dir}): none yet (npx parley pull downloads one)\n`);
    return;
  }
  out.write(`downloaded model files (${dir}): ${files.length}\n`);
  for (const file of files) out.write(`  ${file.file}  ${formatBytes(file.bytes)}${file.ref ? `  from ${shownUrl(file.ref)}` : ""}\n`);
}
