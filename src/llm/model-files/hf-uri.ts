/**
 * node-llama-cpp's `hf:` model URIs turned into download URLs, as
 * node-llama-cpp resolves them:
 *
 * - `hf:<user>/<repo>/<path/to/file.gguf>[#<branch>]` names the file: no network needed;
 * - `hf:<user>/<repo>:<quant>` (or no tag: the repo's default) asks the
 *   server's manifest (`/v2/<user>/<repo>/manifests/<tag>`) which file that is.
 */
import { IdleWatch } from "./idle-watch.js";
import { fetchFailure, idleTimeout, modelFileError, statusFailure } from "./errors.js";

/** Where `hf:` URIs are fetched from, as node-llama-cpp and huggingface_hub read `HF_ENDPOINT`. */
export const DEFAULT_HF_ENDPOINT = "https://huggingface.co/";

/** A model file on a server: where to download it and the name to keep it under. */
export interface RemoteFile {
  url: string;
  /** The file's own name (e.g. `Qwen2.5-1.5B-Instruct-Q4_K_M.gguf`). */
  fileName: string;
}

/** True for `http://`, `https://` and `hf:` references; false for a file path. */
export function isRemoteRef(ref: string): boolean {
  return /^https?:\/\//i.test(ref) || ref.startsWith("hf:");
}

/** Names like `model-00001-of-00003.gguf`: a model in several files, which this downloader does not join. */
const SPLIT_FILE = /-\d{5}-of-\d{5}\.gguf$/i;

/** Resolves a remote reference to its download URL and file name. */
export async function resolveRemote(
  ref: string,
  options: { hfEndpoint?: string; signal?: AbortSignal; timeoutMs: number },
): Promise<RemoteFile> {
  const file = ref.startsWith("hf:") ? await resolveHf(ref, options) : { url: ref, fileName: fileNameOf(new URL(ref).pathname) };
  if (SPLIT_FILE.test(file.fileName)) {
    throw modelFileError(
      "bad_input",
      ref,
      `${file.fileName} is one part of a model split into several files; choose a quantization that is a single file`,
    );
  }
  return file;
}

async function resolveHf(ref: string, options: { hfEndpoint?: string; signal?: AbortSignal; timeoutMs: number }): Promise<RemoteFile> {
  const endpoint = withSlash(options.hfEndpoint || DEFAULT_HF_ENDPOINT);
  const [user, repoAndTag, ...rest] = ref.slice("hf:".length).split("/");
  if (!user || !repoAndTag) throw modelFileError("bad_input", ref, "not a Hugging Face URI (hf:<user>/<repo>:<quant> or hf:<user>/<repo>/<file>.gguf)");
  const repoUrl = (repo: string) => `${endpoint}${encodeURIComponent(user)}/${encodeURIComponent(repo)}`;

  if (rest.length > 0 && !repoAndTag.includes(":")) {
    const [path = "", branch = "main"] = rest.join("/").split("#");
    if (!path.toLowerCase().endsWith(".gguf")) throw modelFileError("bad_input", ref, "the file of an hf: URI must be a .gguf file");
    const encodedPath = path.split("/").map(encodeURIComponent).join("/");
    return { url: `${repoUrl(repoAndTag)}/resolve/${encodeURIComponent(branch || "main")}/${encodedPath}`, fileName: fileNameOf(path) };
  }

  const [repo = "", tag = ""] = repoAndTag.split(":");
  const manifestUrl = `${endpoint}v2/${encodeURIComponent(user)}/${encodeURIComponent(repo)}/manifests/${encodeURIComponent(tag || "latest")}`;
  const watch = new IdleWatch(options.timeoutMs, () => idleTimeout(ref, options.timeoutMs), options.signal);
  try {
    let response: Response;
    try {
      // The server names the GGUF file in the manifest only for llama.cpp's user agent.
      response = await fetch(manifestUrl, { headers: { "user-agent": "llama-cpp", accept: "application/json" }, signal: watch.signal });
    } catch (e) {
      throw fetchFailure(ref, e, watch.signal);
    }
    if (response.status === 404 || response.status === 400) {
      throw modelFileError("model_not_found", ref, `no quantization ${tag || "(default)"} of ${user}/${repo} (HTTP ${response.status})`);
    }
    if (!response.ok) throw statusFailure(ref, response.status);
    let manifest: { ggufFile?: { rfilename?: unknown } };
    try {
      manifest = (await response.json()) as typeof manifest;
    } catch (e) {
      throw watch.signal.aborted ? fetchFailure(ref, e, watch.signal) : modelFileError("provider_bad_response", ref, "the manifest is not JSON");
    }
    const path = manifest.ggufFile?.rfilename;
    if (typeof path !== "string" || !path.toLowerCase().endsWith(".gguf")) {
      throw modelFileError("provider_bad_response", ref, "the manifest names no .gguf file");
    }
    const encodedPath = path.split("/").map(encodeURIComponent).join("/");
    return { url: `${repoUrl(repo)}/resolve/main/${encodedPath}`, fileName: fileNameOf(path) };
  } finally {
    watch.stop();
  }
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/** The last part of a path, safe as a file name, ending in `.gguf`. */
function fileNameOf(path: string): string {
  let name = path.split("/").pop() ?? "";
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it encoded
  }
  name = name.replace(/[^\w.+-]/g, "_").replace(/^\.+/, "");
  if (name === "") name = "model";
  return name.toLowerCase().endsWith(".gguf") ? name : `${name}.gguf`;
}
