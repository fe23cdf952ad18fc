/**
 * Where each embedded provider's model file is: a local `.gguf` path as
 * given, or the file an earlier run downloaded for a URL or `hf:` URI (read
 * from the models folder's index, without the network). The bot downloads
 * what is missing at start (`downloadEmbeddedModels`); `parley pull` does
 * the same ahead of time.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { pullModel } from "../cli/pull.js";
import type { Config } from "../config/schema.js";
import { isRemoteRef, modelsDir } from "./model-files.js";
import { readIndexNow } from "./model-files/index-file.js";
import { resolveLlmSetup } from "./setup.js";

/** The file to load for `ref`: the path itself, or where an earlier run downloaded it (undefined when none did). */
export function embeddedModelFile(ref: string, env: Record<string, string | undefined>): string | undefined {
  const trimmed = ref.trim();
  if (!isRemoteRef(trimmed)) return path.resolve(trimmed);
  const dir = modelsDir(env);
  const file = readIndexNow(dir)[trimmed]?.file;
  // A file removed by hand since is downloaded again.
  return file && existsSync(path.join(dir, file)) ? path.join(dir, file) : undefined;
}

/**
 * Downloads the models of embedded providers that are given by URL or
 * `hf:` URI and not downloaded yet, with progress on `progress`. Resolves
 * false when one could not be had and no other kind of provider can answer
 * instead (the start should end); a warning line is written either way.
 */
export async function downloadEmbeddedModels(
  config: Config,
  env: Record<string, string | undefined>,
  progress: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<boolean> {
  const { providers } = resolveLlmSetup(config.llm, config.embedded);
  const missing = providers.filter((p) => p.kind === "embedded" && p.modelRef && isRemoteRef(p.modelRef) && !embeddedModelFile(p.modelRef, env));
  let failed = 0;
  for (const provider of missing) {
    const code = await pullModel([provider.modelRef!], env, new Writable({ write: (_chunk, _enc, done) => done() }), progress);
    if (code !== 0) failed++;
  }
  if (failed === 0) return true;
  const others = providers.some((p) => p.kind !== "embedded");
  progress.write(others ? "parley: starting without that model; other providers answer for it.\n" : "parley: no model to answer with; run `npx parley pull` to try again.\n");
  return others;
}
