/**
 * A file server for model downloads, on 127.0.0.1: serves files with
 * Content-Length, honours `Range: bytes=N-` (206, or 416 past the end),
 * answers Hugging Face's manifest call for `hf:<user>/<repo>:<quant>`
 * URIs, and misbehaves on request: cuts a connection partway, announces
 * more than it sends, or goes silent.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, startHttpServer, type FakeHttpServer } from "./http.js";

/** A file and how the server misbehaves when serving it. */
export interface ServedFile {
  bytes: Buffer;
  /** Cut the connection once this byte offset of the file is sent, on the first `cutTimes` requests. */
  cutAt?: number;
  /** How many requests are cut at `cutAt`. @defaultValue 1 */
  cutTimes?: number;
  /**
   * Waited for before a cut, after the bytes before it are written: a test
   * resolves it once the client has them, so the cut comes at a known place.
   * @defaultValue the next turn of the event loop
   */
  beforeCut?: () => Promise<void>;
  /** Announce the whole file but never send past this offset, on every request (a truncated file). */
  sendOnlyTo?: number;
  /** Send up to this offset, then nothing more (the connection stays open until the server closes). */
  stallAt?: number;
  /** Answer every request with the whole file, as a server without Range support. */
  ignoreRange?: boolean;
  /** Answer this status with an empty body instead of the file. */
  status?: number;
}

/** One request as the fake received it. */
export interface ModelServerRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The Range header, when sent. */
  range?: string;
  userAgent?: string;
}

export interface FakeModelServer extends FakeHttpServer {
  /** Serves `file` at `path` (e.g. `/models/tiny.gguf`); returns its URL. */
  serve(path: string, file: ServedFile): string;
  /** Answers `GET /v2/<user>/<repo>/manifests/<tag>` naming `rfilename`, as Hugging Face does. */
  serveManifest(user: string, repo: string, tag: string, rfilename: string): void;
  /** Every request, in order. */
  requests: ModelServerRequest[];
}

export async function startModelServer(): Promise<FakeModelServer> {
  const files = new Map<string, ServedFile & { cutsLeft: number }>();
  const manifests = new Map<string, string>();
  const requests: ModelServerRequest[] = [];

  const server = await startHttpServer(async (req, res, closing) => {
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    requests.push({
      method: req.method ?? "GET",
      path,
      range: header(req, "range"),
      userAgent: header(req, "user-agent"),
    });
    const manifest = manifests.get(path);
    if (manifest !== undefined) {
      sendJson(res, 200, { ggufFile: { rfilename: manifest, size: files.get(`/${manifest}`)?.bytes.length } });
      return;
    }
    const file = files.get(decodeURIComponent(path));
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Entry not found");
      return;
    }
    if (file.status !== undefined) {
      res.writeHead(file.status).end();
      return;
    }
    await sendFile(req, res, file, closing);
  });

  return {
    ...server,
    requests,
    serve(path, file) {
      files.set(path, { ...file, cutsLeft: file.cutAt === undefined ? 0 : (file.cutTimes ?? 1) });
      return `${server.url}${path}`;
    },
    serveManifest(user, repo, tag, rfilename) {
      manifests.set(`/v2/${user}/${repo}/manifests/${tag}`, rfilename);
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: ServedFile & { cutsLeft: number }, closing: AbortSignal): Promise<void> {
  const size = file.bytes.length;
  const range = file.ignoreRange ? undefined : /^bytes=(\d+)-$/.exec(header(req, "range") ?? "");
  const start = range ? Number(range[1]) : 0;
  if (range && start >= size) {
    res.writeHead(416, { "content-range": `bytes */${size}` }).end();
    return;
  }
  const headers: Record<string, string | number> = {
    "content-type": "application/octet-stream",
    "content-length": size - start,
    "accept-ranges": "bytes",
  };
  if (range) headers["content-range"] = `bytes ${start}-${size - 1}/${size}`;
  res.writeHead(range ? 206 : 200, headers);

  // Where this answer stops short of the end, and how.
  let stopAt = size;
  let stop: "cut" | "stall" | undefined;
  if (file.cutsLeft > 0 && file.cutAt !== undefined && file.cutAt < stopAt) {
    file.cutsLeft--;
    stopAt = file.cutAt;
    stop = "cut";
  }
  if (file.sendOnlyTo !== undefined && file.sendOnlyTo < stopAt) {
    stopAt = file.sendOnlyTo;
    stop = "cut";
  }
  if (file.stallAt !== undefined && file.stallAt < stopAt) {
    stopAt = file.stallAt;
    stop = "stall";
  }
  if (stop === undefined) {
    res.end(file.bytes.subarray(start));
    return;
  }
  const piece = file.bytes.subarray(start, Math.max(start, stopAt));
  await new Promise<void>((resolve) => (piece.length > 0 ? res.write(piece, () => resolve()) : (res.flushHeaders(), resolve())));
  if (stop === "stall") {
    await new Promise<void>((resolve) => closing.addEventListener("abort", () => resolve(), { once: true }));
    res.destroy();
    return;
  }
  await (file.beforeCut?.() ?? new Promise<void>((resolve) => setImmediate(resolve)));
  res.socket?.destroy();
}
