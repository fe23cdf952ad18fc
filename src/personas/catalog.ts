import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { packageRoot } from "../package-root.js";

/** A system prompt with a name: one `personas/<name>.md` file. */
export interface Persona {
  name: string;
  description: string;
  /** `provider/model` or a model of the default provider; the default model when absent. */
  model?: string;
  temperature?: number;
  /** The file's body. */
  prompt: string;
}

const frontMatterSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be lowercase letters, digits, - or _"),
    description: z.string().min(1),
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

/** The personas shipped with Parley. */
const shippedPersonaDir = join(packageRoot, "personas");

/** All personas, from the shipped folder and the user's own (which wins on a name clash). */
export class PersonaCatalog {
  private readonly byName = new Map<string, Persona>();

  constructor(folders: readonly string[]) {
    for (const folder of folders) {
      for (const file of readdirSync(folder).filter((f) => f.endsWith(".md")).sort()) {
        const persona = parsePersonaFile(join(folder, file));
        this.byName.set(persona.name, persona);
      }
    }
  }

  get(name: string): Persona | undefined {
    return this.byName.get(name.trim().toLowerCase());
  }

  list(): Persona[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return this.list().map((p) => p.name);
  }
}

/** The shipped personas and those of `personaDir`, as the bot and `parley doctor` both load them. */
export function personaCatalogFor(config: Pick<Config, "personaDir">): PersonaCatalog {
  return new PersonaCatalog(config.personaDir ? [shippedPersonaDir, config.personaDir] : [shippedPersonaDir]);
}

/** Reads one persona file; a broken file stops start-up with its path named. */
function parsePersonaFile(path: string): Persona {
  const text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw new ConfigError(`Persona ${path}: expected YAML front matter between --- lines.`);
  let meta: unknown;
  try {
    meta = parseYaml(match[1]!);
  } catch (e) {
    throw new ConfigError(`Persona ${path}: front matter is not valid YAML (${(e as Error).message.split("\n")[0]}).`);
  }
  const parsed = frontMatterSchema.safeParse(meta);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Persona ${path}: ${issue.path.join(".") || "front matter"} ${issue.message}.`);
  }
  const prompt = match[2]!.trim();
  if (!prompt) throw new ConfigError(`Persona ${path}: the system prompt (the body) is empty.`);
  return { ...parsed.data, prompt };
}
