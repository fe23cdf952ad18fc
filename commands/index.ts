import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "../src/core/types.js";

/** The order `help` and the platforms' command menus show; commands not named here follow, by name. */
const menuOrder = ["chat", "persona", "remember", "recall", "forget", "reset", "help", "status", "usage", "block", "unblock", "blocked"];

function isCommand(value: unknown): value is Command {
  const c = value as Partial<Command> | null;
  return typeof c === "object" && c !== null && typeof c.name === "string" && typeof c.run === "function";
}

/**
 * Every command exported by a module of this folder: adding a command is
 * adding a file. Two commands with one name stop the bot at start-up.
 */
export async function loadCommands(folder: string = fileURLToPath(new URL(".", import.meta.url))): Promise<Command[]> {
  const files = readdirSync(folder).filter((f) => /\.(ts|js|mjs)$/.test(f) && !/^index\.|\.d\.ts$|\.test\./.test(f));
  const found = new Map<string, Command>();
  for (const file of files.sort()) {
    const module: Record<string, unknown> = await import(pathToFileURL(join(folder, file)).href);
    for (const value of Object.values(module).filter(isCommand)) {
      const other = found.get(value.name);
      if (other && other !== value) throw new Error(`Two commands are named "${value.name}" (one in commands/${file}).`);
      found.set(value.name, value);
    }
  }
  const rank = (name: string) => (menuOrder.includes(name) ? menuOrder.indexOf(name) : menuOrder.length);
  return [...found.values()].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** Every command, in the order `help` lists them. */
export const commands: readonly Command[] = await loadCommands();
