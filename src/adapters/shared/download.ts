/**
 * Downloads an attachment from a platform's file server: one place that
 * calls `fetch` for files, with a timeout, a size cap enforced while the
 * body streams in (and up front when `Content-Length` already says too
 * much), and errors turned into one user sentence. URLs never appear in an
 * error: Telegram's file URLs hold the bot token.
 */
import { ParleyError } from "../../core/errors.js";

export interface DownloadRequest {
  url: string;
  /** The file's name, for the user's sentence. */
  name: string;
  /** Where it comes from, for the user's sentence: `Discord`, `Telegram`. */
  platform: string;
  /** Refuse past this many bytes. */
  maxBytes: number;
  /** Aborts the download (the answer was stopped); its reason is rethrown. */
  signal?: AbortSignal;
  /** How long the whole download may take, in milliseconds. @defaultValue 30_000 */
  timeoutMs?: number;
  /** A secret that may be part of the URL (a bot token): removed from the log detail. */
  secret?: string;
}

/** How long a download may take by default, in milliseconds. */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 30_000;

/** The file's bytes, or a ParleyError (`platform_error`) saying in one sentence why not. */
export async function download(request: DownloadRequest): Promise<Buffer> {
  const timeoutMs = request.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout.signal]) : timeout.signal;
  try {
    const response = await fetch(request.url, { signal, redirect: "follow" });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw failed(request, `HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(declared) && declared > request.maxBytes) {
      await response.body?.cancel().catch(() => {});
      throw tooLarge(request, `Content-Length ${declared}`);
    }
    return await readCapped(response, request);
  } catch (error) {
    if (error instanceof ParleyError) throw error;
    if (request.signal?.aborted) throw request.signal.reason;
    if (timeout.signal.aborted) {
      throw new ParleyError("platform_error", `${request.platform} took too long to send ${request.name}.`, {
        retryable: true,
        detail: `downloading ${request.name} from ${request.platform} timed out after ${timeoutMs} ms`,
      });
    }
    throw failed(request, describe(error, request.secret));
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the body chunk by chunk, and stops reading (closing the connection) once it passes the cap. */
async function readCapped(response: Response, request: DownloadRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > request.maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(request, `more than ${request.maxBytes} bytes arrived`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, received);
}

function tooLarge(request: DownloadRequest, why: string): ParleyError {
  return new ParleyError("platform_error", `${request.name} is larger than the ${formatBytes(request.maxBytes)} I read.`, {
    detail: `refused ${request.name} from ${request.platform}: ${why}, the cap is ${request.maxBytes}`,
  });
}

function failed(request: DownloadRequest, why: string): ParleyError {
  return new ParleyError("platform_error", `I couldn't download ${request.name} from ${request.platform}.`, {
    retryable: true,
    detail: `downloading ${request.name} from ${request.platform} failed: ${why}`,
  });
}

/** An error's name, message and cause's message, with the secret removed; never the URL fetch may quote. */
function describe(error: unknown, secret: string | undefined): string {
  const parts: string[] = [];
  if (error instanceof Error) {
    parts.push(`${error.name}: ${error.message}`);
    if (error.cause instanceof Error) parts.push(error.cause.message);
  } else {
    parts.push(String(error));
  }
  const text = parts.join(": ");
  return secret ? text.split(secret).join("<redacted>") : text;
}

/** `10 MB`, `512 KB`, `900 bytes` (binary units, as file sizes are shown). */
export function formatBytes(bytes: number): string {
  const mb = bytes / 1_048_576;
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  const kb = bytes / 1024;
  if (kb >= 1) return `${Math.round(kb)} KB`;
  return `${bytes} bytes`;
}
