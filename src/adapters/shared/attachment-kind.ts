/**
 * Decides what kind of attachment a file is (image, text, audio or other)
 * from its MIME type and its name, for every platform alike.
 */
import type { Attachment } from "../../core/types.js";

/** The image formats vision models take. */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"]);
const IMAGE_EXTENSIONS = new Set(["png", "jpg", "jpeg", "gif", "webp"]);

/** Non-`text/*` types that are text all the same. */
const TEXT_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
  "application/javascript",
  "application/typescript",
  "application/x-sh",
  "application/sql",
]);

/** Text files and common source code, by extension. */
const TEXT_EXTENSIONS = new Set([
  ...["txt", "md", "markdown", "log", "csv", "tsv", "json", "jsonl", "yaml", "yml", "xml", "toml", "ini", "cfg", "conf", "env", "diff", "patch"],
  ...["js", "mjs", "cjs", "ts", "tsx", "jsx", "py", "rb", "go", "rs", "java", "kt", "kts", "scala", "c", "h", "cc", "cpp", "hpp", "cs", "swift"],
  ...["php", "pl", "lua", "r", "sql", "sh", "bash", "zsh", "ps1", "bat", "html", "htm", "css", "scss", "vue", "svelte", "dart", "ex", "exs", "hs"],
  ...["clj", "zig", "nim", "gradle", "dockerfile", "makefile", "graphql", "proto"],
]);

const AUDIO_EXTENSIONS = new Set(["ogg", "oga", "opus", "mp3", "m4a", "wav", "flac", "aac", "weba"]);

/**
 * The kind of a file by its MIME type (parameters such as `; charset=utf-8`
 * ignored), then by its extension.
 */
export function attachmentKind(mimeType: string | undefined, name: string): Attachment["kind"] {
  const type = mimeType?.split(";")[0]?.trim().toLowerCase() ?? "";
  const extension = extensionOf(name);
  if (IMAGE_TYPES.has(type)) return "image";
  if (type.startsWith("text/") || TEXT_TYPES.has(type)) return "text";
  if (type.startsWith("audio/")) return "audio";
  // Source files are often typed wrongly (`.ts` as `video/mp2t`): a text extension wins.
  if (TEXT_EXTENSIONS.has(extension)) return "text";
  // `application/octet-stream` and missing types say nothing: the name decides.
  if (type === "" || type === "application/octet-stream") {
    if (IMAGE_EXTENSIONS.has(extension)) return "image";
    if (AUDIO_EXTENSIONS.has(extension)) return "audio";
  }
  return "file";
}

/** `Error.LOG` → `log`; a name without a dot (`Dockerfile`) is its own extension. */
function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf(".");
  return (dot >= 0 ? base.slice(dot + 1) : base).toLowerCase();
}
