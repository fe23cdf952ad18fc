import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands, loadCommands } from "../../commands/index.js";

describe("the command registry", () => {
  it("holds every shipped command, in menu order", () => {
    expect(commands.map((c) => c.name)).toEqual(["chat", "persona", "remember", "recall", "forget", "reset", "help", "status", "usage", "block", "unblock", "blocked"]);
    for (const c of commands) {
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.usage.startsWith(c.name)).toBe(true);
    }
  });

  it("registers a command by its file alone, after the known ones", async () => {
    const folder = mkdtempSync(join(tmpdir(), "parley-commands-"));
    writeFileSync(join(folder, "roll.mjs"), 'export const roll = { name: "roll", description: "Roll a die", usage: "roll", async run() {} };\n');
    writeFileSync(join(folder, "help.mjs"), 'export const help = { name: "help", description: "Help", usage: "help", async run() {} };\nexport const notACommand = 42;\n');
    const loaded = await loadCommands(folder);
    expect(loaded.map((c) => c.name)).toEqual(["help", "roll"]);
  });

  it("refuses two commands with one name", async () => {
    const folder = mkdtempSync(join(tmpdir(), "parley-commands-"));
    writeFileSync(join(folder, "a.mjs"), 'export const a = { name: "dup", description: "A", usage: "dup", async run() {} };\n');
    writeFileSync(join(folder, "b.mjs"), 'export const b = { name: "dup", description: "B", usage: "dup", async run() {} };\n');
    await expect(loadCommands(folder)).rejects.toThrow('Two commands are named "dup"');
  });
});
