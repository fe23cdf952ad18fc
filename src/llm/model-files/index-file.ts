/**
 * `models.json` in the models folder: which file each downloaded URL or
 * `hf:` URI became. Read before anything else, so a model downloaded once
 * starts without the network; written only once a download is complete
 * and verified.
 */
import { readFileSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const INDEX_FILE_NAME = "models.json";

/** One downloaded model. */
export interface IndexEntry {
  /** The file's name in the models folder. */
  file: string;
  /** Its size when verified, in bytes: a file of another size is not the one downloaded. */
  bytes: number;
  /** When the download finished (ISO 8601). */
  downloadedAt: string;
}

/** The index: model reference (URL or `hf:` URI, as given) to its file. */
export type ModelIndex = Record<string, IndexEntry>;

interface IndexFile {
  version: 1;
  models: ModelIndex;
}

/** The index of `dir`; empty when there is none or it cannot be read (it is written anew on the next download). */
export async function readIndex(dir: string): Promise<ModelIndex> {
  let text: string;
  try {
    text = await readFile(join(dir, INDEX_FILE_NAME), "utf8");
  } catch {
    return {};
  }
  return parseIndex(text);
}

/** {@link readIndex}, at once: for building providers, which happens before anything is awaited. */
export function readIndexNow(dir: string): ModelIndex {
  try {
    return parseIndex(readFileSync(join(dir, INDEX_FILE_NAME), "utf8"));
  } catch {
    return {};
  }
}

function parseIndex(text: string): ModelIndex {
  try {
    const parsed = JSON.parse(text) as Partial<IndexFile>;
    const models = parsed.models && typeof parsed.models === "object" ? parsed.models : {};
    const valid: ModelIndex = {};
    for (const [ref, entry] of Object.entries(models)) {
      if (typeof entry?.file === "string" && typeof entry.bytes === "number") valid[ref] = entry;
    }
    return valid;
  } catch {
    return {};
  }
}

/** Sets (or, with `undefined`, removes) the entry of `ref`. The file is replaced whole, never left half-written. */
export async function updateIndex(dir: string, ref: string, entry: IndexEntry | undefined): Promise<void> {
  const models = await readIndex(dir);
  if (entry) models[ref] = entry;
  else delete models[ref];
  const file: IndexFile = { version: 1, models };
  const target = join(dir, INDEX_FILE_NAME);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`);
  await rename(temporary, target);
}
