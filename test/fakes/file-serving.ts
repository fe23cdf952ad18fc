/**
 * How the fakes' file servers (the fake Discord's CDN, the fake Telegram's
 * file download route) send a file's bytes: all at once, or slowly in small
 * chunks with or without `Content-Length`, so tests can see that a client
 * stopped reading early. Each download is recorded with how much was sent.
 */
import type { ServerResponse } from "node:http";

export interface FileServing {
  /** Send `Content-Length`. @defaultValue true */
  contentLength?: boolean;
  /** Bytes per write. @defaultValue the whole file in one write */
  chunkBytes?: number;
  /** Pause between writes, in milliseconds. @defaultValue 0 */
  chunkDelayMs?: number;
  /** Answer with this status (and no file) instead, to play a failing file server. @defaultValue 200 */
  status?: number;
}

/** One download as the fake served it. */
export interface FileDownload {
  path: string;
  /** The file's size. */
  size: number;
  /** Bytes written to the connection before it ended or closed. */
  bytesSent: number;
  /** Every byte was sent. */
  complete: boolean;
  /** The client closed the connection before the end. */
  closedEarly: boolean;
}

/** Sends `bytes` as `serving` says and records the download in `downloads` (updated as it goes). */
export async function serveFile(
  res: ServerResponse,
  path: string,
  bytes: Buffer,
  contentType: string,
  serving: FileServing,
  downloads: FileDownload[],
): Promise<void> {
  const record: FileDownload = { path, size: bytes.length, bytesSent: 0, complete: false, closedEarly: false };
  downloads.push(record);
  if (serving.status !== undefined && serving.status !== 200) {
    res.writeHead(serving.status, { "content-type": "text/plain" }).end("failed");
    return;
  }
  res.on("close", () => {
    if (!record.complete) record.closedEarly = true;
  });
  res.writeHead(200, { "content-type": contentType, ...(serving.contentLength === false ? {} : { "content-length": String(bytes.length) }) });
  const chunk = serving.chunkBytes ?? Math.max(1, bytes.length);
  for (let at = 0; at < bytes.length; at += chunk) {
    if (res.destroyed || record.closedEarly) return;
    const part = bytes.subarray(at, at + chunk);
    const flushed = res.write(part);
    record.bytesSent += part.length;
    if (!flushed) await new Promise<void>((resolve) => res.once("drain", resolve).once("close", resolve));
    if (serving.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, serving.chunkDelayMs));
  }
  if (res.destroyed || record.closedEarly) return;
  record.complete = true;
  res.end();
}
