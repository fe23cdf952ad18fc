/**
 * The embedded provider's model files: where they are kept, getting one
 * from a URL or an `hf:` URI (resumed when interrupted, verified before it
 * counts), and what is there. A model downloaded once is found again
 * through the folder's index without the network.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { downloadToPart } from "./model-files/download.js";
import { modelFileError } from "./model-files/errors.js";
import { isRemoteRef, resolveRemote } from "./model-files/hf-uri.js";
import { readIndex, updateIndex } from "./model-files/index-file.js";
import type { DownloadProgress } from "./model-files/progress.js";
import { ggufProblem } from "./model-files/verify.js";

export type { DownloadProgress } from "./model-files/progress.js";
export { formatBytes, progressDisplay, type ProgressDisplay } from "./model-files/progress.js";
export { isRemoteRef } from "./model-files/hf-uri.js";
export { shownUrl } from "./model-files/errors.js";

/**
 * The model the embedded provider downloads when none is configured: Qwen2.5
 * 1.5B Instruct, Q4_K_M. Small enough for a laptop's CPU and memory (about
 * 1 GB on disk, a few words a second on two cores), and it follows
 * instructions and chats sensibly in many languages. Apache-2.0 licensed.
 */
export const DEFAULT_EMBEDDED_MODEL = "hf:bartowski/Qwen2.5-1.5B-Instruct-GGUF/Qwen2.5-1.5B-Instruct-Q4_K_M.gguf";
/** {@link DEFAULT_EMBEDDED_MODEL}'s name, for people. */
export const DEFAULT_EMBEDDED_MODEL_NAME = "Qwen2.5 1.5B Instruct (Q4_K_M)";
/** {@link DEFAULT_EMBEDDED_MODEL}'s size, approximately, in bytes (for a "download about 1 GB?" question). */
export const DEFAULT_EMBEDDED_MODEL_BYTES = 986_000_000;

/**
 * The folder downloaded models are kept in: `PARLEY_MODELS_DIR`, else
 * `parley/models` in the user's cache folder (`$XDG_CACHE_HOME` or
 * `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows).
 */
export function modelsDir(
  env: Record<string, string | undefined>,
  system: { platform?: NodeJS.Platform; homeDir?: string } = {},
): string {
  if (env.PARLEY_MODELS_DIR) return path.resolve(env.PARLEY_MODELS_DIR);
  const platform = system.platform ?? process.platform;
  const home = system.homeDir ?? os.homedir();
  if (platform === "win32") return path.win32.join(env.LOCALAPPDATA || path.win32.join(home, "AppData", "Local"), "parley", "models");
  if (platform === "darwin") return path.posix.join(home, "Library", "Caches", "parley", "models");
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const cache = env.XDG_CACHE_HOME && path.posix.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.posix.join(home, ".cache");
  return path.posix.join(cache, "parley", "models");
}

export interface ResolveModelOptions {
  /** The models folder (see {@link modelsDir}); made when missing. */
  dir: string;
  /** Called as a download goes (not for a model already there). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Stops a download; what arrived stays for the next try. */
  signal?: AbortSignal;
  /** Longest silence of the server, in milliseconds. @defaultValue 30_000 */
  idleTimeoutMs?: number;
  /** Tries within one call when the connection ends early, each continuing where the last stopped. @defaultValue 5 */
  maxTries?: number;
  /** Where `hf:` URIs are fetched from (`HF_ENDPOINT`). @defaultValue `https://huggingface.co/` */
  hfEndpoint?: string;
}

/** A model file ready to load. */
export interface ResolvedModel {
  /** Absolute path of the `.gguf` file. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
  /** `file`: a path given as such; `kept`: downloaded by an earlier run; `downloaded`: just now. */
  source: "file" | "kept" | "downloaded";
}

/**
 * The model file `ref` names: a local `.gguf` path (which must be a GGUF
 * model), or an `https://…/x.gguf` URL or `hf:` URI, downloaded into the
 * models folder unless an earlier run did. Fails with a ParleyError whose
 * message names the model and what was wrong.
 */
export async function resolveModel(ref: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const trimmed = ref.trim();
  if (!isRemoteRef(trimmed)) return localModel(trimmed);

  const dir = path.resolve(options.dir);
  const kept = await keptModel(dir, trimmed);
  if (kept) return kept;

  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const remote = await resolveRemote(trimmed, { hfEndpoint: options.hfEndpoint, signal: options.signal, timeoutMs: idleTimeoutMs });
  await mkdir(dir, { recursive: true });
  const fileName = await freeFileName(dir, trimmed, remote.fileName);
  // The part's name carries the reference's hash: a part is never continued from another model's bytes.
  const partPath = path.join(dir, `${fileName}.${hashOf(trimmed)}.part`);
  const { totalBytes } = await downloadToPart(trimmed, remote.url, partPath, {
    onProgress: options.onProgress,
    signal: options.signal,
    idleTimeoutMs,
    maxTries: options.maxTries ?? 5,
  });

  const bytes = (await stat(partPath)).size;
  const problem =
    totalBytes !== undefined && bytes !== totalBytes
      ? `the file has ${bytes} bytes but the server announced ${totalBytes}`
      : await ggufProblem(partPath);
  if (problem) {
    // Not a part worth continuing: the next try starts over.
    await rm(partPath, { force: true });
    await rm(`${partPath}.json`, { force: true });
    throw modelFileError("provider_bad_response", trimmed, `the downloaded file was refused: ${problem}`);
  }
  const target = path.join(dir, fileName);
  await rename(partPath, target);
  await rm(`${partPath}.json`, { force: true });
  await updateIndex(dir, trimmed, { file: fileName, bytes, downloadedAt: new Date().toISOString() });
  return { path: target, bytes, source: "downloaded" };
}

/** A downloaded model file in the models folder. */
export interface DownloadedModel {
  /** The file's name. */
  file: string;
  path: string;
  bytes: number;
  /** The URL or `hf:` URI it was downloaded from; undefined for a file put there by hand. */
  ref?: string;
}

/** The `.gguf` files of the models folder, by name (parts of unfinished downloads left out). */
export async function listDownloaded(dir: string): Promise<DownloadedModel[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const index = await readIndex(dir);
  const refOf = new Map(Object.entries(index).map(([ref, entry]) => [entry.file, ref]));
  const models: DownloadedModel[] = [];
  for (const file of names.filter((n) => n.toLowerCase().endsWith(".gguf")).sort()) {
    const full = path.join(dir, file);
    try {
      const info = await stat(full);
      if (info.isFile()) models.push({ file, path: full, bytes: info.size, ref: refOf.get(file) });
    } catch {
      // removed meanwhile
    }
  }
  return models;
}

async function localModel(file: string): Promise<ResolvedModel> {
  const full = path.resolve(file);
  let info;
  try {
    info = await stat(full);
  } catch {
    throw modelFileError("model_not_found", file, "no such file");
  }
  if (!info.isFile()) throw modelFileError("bad_input", file, "not a file");
  const problem = await ggufProblem(full);
  if (problem) throw modelFileError("bad_input", file, problem);
  return { path: full, bytes: info.size, source: "file" };
}

/** The file an earlier run downloaded for `ref`, when it is still there whole. */
async function keptModel(dir: string, ref: string): Promise<ResolvedModel | undefined> {
  const entry = (await readIndex(dir))[ref];
  if (!entry) return undefined;
  const full = path.join(dir, entry.file);
  try {
    const info = await stat(full);
    if (info.isFile() && info.size === entry.bytes) return { path: full, bytes: info.size, source: "kept" };
  } catch {
    // gone: downloaded again below
  }
  await updateIndex(dir, ref, undefined);
  return undefined;
}

/** `name`, unless another model's file (or a file put there by hand) has it: then `name` with the reference's hash. */
async function freeFileName(dir: string, ref: string, name: string): Promise<string> {
  const index = await readIndex(dir);
  const takenByOther = Object.entries(index).some(([other, entry]) => other !== ref && entry.file === name);
  const exists = await stat(path.join(dir, name)).then(
    () => true,
    () => false,
  );
  if (!takenByOther && !exists) return name;
  return name.replace(/\.gguf$/i, `-${hashOf(ref)}.gguf`);
}

function hashOf(ref: string): string {
  return createHash("sha256").update(ref).digest("hex").slice(0, 8);
}
