/**
 * Whether a file is a whole GGUF model: node-llama-cpp's own parser reads
 * its header, metadata and tensor table, and the file must reach past
 * where that table says the tensors start (a cut-off file parses as well
 * as a whole one: only its length gives it away).
 */
import { stat } from "node:fs/promises";

/** What is wrong with the file at `path` as a GGUF model; undefined when nothing is. */
export async function ggufProblem(path: string): Promise<string | undefined> {
  const size = (await stat(path)).size;
  if (size === 0) return "the file is empty";
  // Imported here: node-llama-cpp takes a second or two to import, and listing files needs none of it.
  const { readGgufFileInfo } = await import("node-llama-cpp");
  let info;
  try {
    info = await readGgufFileInfo(path, { logWarnings: false, sourceType: "filesystem", spliceSplitFiles: false });
  } catch (e) {
    return `it is not a GGUF model file (${e instanceof Error ? e.message : String(e)})`;
  }
  const headerEnd = info.infoEndOffset ?? 0;
  const lastTensorStart = Math.max(0, ...(info.tensorInfo ?? []).map((t) => Number(t.fileOffset)));
  const needed = Math.max(headerEnd, lastTensorStart + 1);
  if (size < needed) return `the file is cut short: ${size} bytes, but its tensors reach past byte ${needed}`;
  return undefined;
}
