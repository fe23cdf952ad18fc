/**
 * A Telegram message's files as the core sees them: a photo (its largest
 * size), a document, a voice message or an audio file, each fetched on
 * demand through `getFile` and the Bot API's file download URL, which holds
 * the bot token and so never appears in an error or a log.
 */
import { GrammyError, type Api } from "grammy";
import type { Message } from "grammy/types";
import { ParleyError } from "../../core/errors.js";
import type { Attachment } from "../../core/types.js";
import { attachmentKind } from "../shared/attachment-kind.js";
import { DEFAULT_DOWNLOAD_TIMEOUT_MS, download, formatBytes } from "../shared/download.js";
import { describeError } from "./errors.js";

/** The largest file the Bot API lets a bot download (`getFile`), in bytes. */
const GET_FILE_LIMIT_BYTES = 20 * 1_048_576;

/** A file of a message, as Telegram describes it. */
interface TelegramFile {
  fileId: string;
  kind: Attachment["kind"];
  name: string;
  mimeType?: string;
  size?: number;
}

/** What fetching needs: the Bot API client, and where files are downloaded from. */
export interface FileSource {
  api: Api;
  /** Bot API root without a trailing slash. */
  apiRoot: string;
  token: string;
}

type WithFiles = Pick<Message, "photo" | "document" | "voice" | "audio">;

/** Whether the message carries a file the bot can read. */
export function hasFiles(message: WithFiles): boolean {
  return filesOf(message).length > 0;
}

/** The message's files as attachments, or undefined when it has none. */
export function attachmentsOf(message: WithFiles, source: FileSource): Attachment[] | undefined {
  const files = filesOf(message);
  if (files.length === 0) return undefined;
  return files.map((file) => ({
    kind: file.kind,
    name: file.name,
    ...(file.mimeType ? { mimeType: file.mimeType } : {}),
    ...(file.size !== undefined ? { size: file.size } : {}),
    fetch: (maxBytes, signal) => fetchFile(file, source, maxBytes, signal),
  }));
}

function filesOf(message: WithFiles): TelegramFile[] {
  const files: TelegramFile[] = [];
  const largest = message.photo?.reduce((best, size) => (area(size) > area(best) ? size : best));
  // Telegram re-encodes photos as JPEG and keeps no name.
  if (largest) files.push({ fileId: largest.file_id, kind: "image", name: "photo.jpg", mimeType: "image/jpeg", size: largest.file_size });
  if (message.document) {
    const { file_id, file_name, mime_type, file_size } = message.document;
    const name = file_name ?? "document";
    files.push({ fileId: file_id, kind: attachmentKind(mime_type, name), name, mimeType: mime_type, size: file_size });
  }
  if (message.voice) {
    const { file_id, mime_type, file_size } = message.voice;
    files.push({ fileId: file_id, kind: "audio", name: "voice.ogg", mimeType: mime_type ?? "audio/ogg", size: file_size });
  }
  if (message.audio) {
    const { file_id, file_name, mime_type, file_size } = message.audio;
    files.push({ fileId: file_id, kind: "audio", name: file_name ?? "audio", mimeType: mime_type, size: file_size });
  }
  return files;
}

function area(size: { width: number; height: number; file_size?: number }): number {
  return size.width * size.height + (size.file_size ?? 0) / 1e9;
}

/** `getFile`, then the download, both within the download's timeout. */
async function fetchFile(file: TelegramFile, source: FileSource, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  const timeout = AbortSignal.timeout(DEFAULT_DOWNLOAD_TIMEOUT_MS);
  let path: string;
  let size: number | undefined;
  try {
    // grammY types its signal as the abort-controller polyfill's; Node's own is what it gets at run time.
    const callSignal = (signal ? AbortSignal.any([signal, timeout]) : timeout) as Parameters<Api["getFile"]>[1];
    const found = await source.api.getFile(file.fileId, callSignal);
    if (!found.file_path) throw new Error("getFile gave no file_path");
    path = found.file_path;
    size = found.file_size;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof GrammyError && /file is too big/i.test(error.description)) {
      throw new ParleyError("platform_error", `${file.name} is larger than the ${formatBytes(GET_FILE_LIMIT_BYTES)} Telegram lets bots download.`, {
        detail: `Telegram getFile refused ${file.name}: ${error.description}`,
      });
    }
    throw new ParleyError("platform_error", `I couldn't download ${file.name} from Telegram.`, {
      retryable: true,
      detail: `Telegram getFile for ${file.name} failed: ${describeError(error, source.token).message}`,
    });
  }
  // Known too large already: no need to start the download.
  if (size !== undefined && size > maxBytes) {
    throw new ParleyError("platform_error", `${file.name} is larger than the ${formatBytes(maxBytes)} I read.`, {
      detail: `refused ${file.name} from Telegram: getFile says ${size} bytes, the cap is ${maxBytes}`,
    });
  }
  const url = `${source.apiRoot}/file/bot${source.token}/${path}`;
  return download({ url, name: file.name, platform: "Telegram", maxBytes, signal, secret: source.token });
}
