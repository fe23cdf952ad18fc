/**
 * Vitest's global setup: the bot's sources transpiled once to JavaScript
 * with esbuild (what tsx does on every start), so the many bot processes the
 * tests start load like the Docker image's build, without a TypeScript
 * loader: each starts in about half the time. `npm start`'s own way, node
 * with tsx, is still run by start-env.e2e and console-tty.e2e.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** Under node_modules, so bare imports resolve and package-root.ts still finds the project's package.json. */
export const builtRoot = join(root, "node_modules/.cache/parley-test-bot");

export default async function setup(): Promise<void> {
  const entryPoints = ["src", "commands"].flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
      .map((file) => join(root, folder, file)),
  );
  rmSync(builtRoot, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir: builtRoot,
    outbase: root,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "warning",
  });
}
