/**
 * Downloads one file into `<name>.part`, one connection at a time, and
 * continues a part left by an earlier run with an HTTP Range request from
 * its size. A connection that ends early is resumed at once while each try
 * brings bytes; the part stays on disk for the next run when they stop
 * coming. The only place that fetches a model file.
 */
import { open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { ParleyError } from "../../core/errors.js";
import { fetchFailure, idleTimeout, modelFileError, statusFailure } from "./errors.js";
import { IdleWatch } from "./idle-watch.js";
import { formatBytes, type DownloadProgress } from "./progress.js";

export interface DownloadOptions {
  /** Called after every piece written to disk. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Stops the download; the part stays for the next run. */
  signal?: AbortSignal;
  /** Longest silence of the server, in milliseconds (waiting for headers, or between two pieces). */
  idleTimeoutMs: number;
  /** Tries within one call when the connection ends early, each continuing where the last stopped. */
  maxTries: number;
}

/** What the `.part.json` beside a part remembers, so that a part is only ever continued from the same file. */
interface PartInfo {
  url: string;
  /** The server's strong ETag, sent back as If-Range: a changed file then comes whole, not spliced. */
  etag?: string;
  totalBytes?: number;
}

/** The connection ended before the announced end (or the server went silent): worth another try from `bytes`. */
class EndedEarly {
  constructor(
    readonly bytes: number,
    readonly totalBytes: number | undefined,
    readonly why: string,
  ) {}
}

/**
 * Downloads `url` to `partPath` (continuing what is there from the same URL);
 * resolves with the announced size when every byte arrived.
 * @param ref the model as the user gave it, for messages
 */
export async function downloadToPart(ref: string, url: string, partPath: string, options: DownloadOptions): Promise<{ totalBytes?: number }> {
  for (let tries = 1; ; tries++) {
    const before = await partSize(partPath, url);
    let ended: EndedEarly;
    try {
      return await downloadOnce(ref, url, partPath, options);
    } catch (e) {
      if (!(e instanceof EndedEarly)) throw e;
      ended = e;
    }
    if (ended.bytes > before && tries < options.maxTries) continue;
    const total = ended.totalBytes;
    const got =
      total === undefined
        ? `the connection ended after ${formatBytes(ended.bytes)}`
        : `the server announced ${total} bytes (${formatBytes(total)}) but sent ${ended.bytes}`;
    throw modelFileError(
      "stream_cut",
      ref,
      `${got} (${ended.why}, ${tries} ${tries === 1 ? "try" : "tries"}); the next run continues from there`,
      { retryable: true },
    );
  }
}

/** Bytes of the part that belong to `url`; 0 when there is none or it came from elsewhere. */
async function partSize(partPath: string, url: string): Promise<number> {
  const info = await readPartInfo(partPath);
  if (info?.url !== url) return 0;
  try {
    return (await stat(partPath)).size;
  } catch {
    return 0;
  }
}

async function downloadOnce(ref: string, url: string, partPath: string, options: DownloadOptions, fresh = false): Promise<{ totalBytes?: number }> {
  const infoPath = `${partPath}.json`;
  let have = fresh ? 0 : await partSize(partPath, url);
  const earlier = have > 0 ? await readPartInfo(partPath) : undefined;
  const headers: Record<string, string> = { "user-agent": "parley" };
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    if (earlier?.etag && !earlier.etag.startsWith("W/")) headers["if-range"] = earlier.etag;
  }

  const watch = new IdleWatch(options.idleTimeoutMs, () => idleTimeout(ref, options.idleTimeoutMs), options.signal);
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: watch.signal });
    } catch (e) {
      throw fetchFailure(ref, e, watch.signal);
    }
    watch.poke();

    let totalBytes: number | undefined;
    if (response.status === 416 && have > 0) {
      // Nothing past our end: the part is whole when the server's size is ours (a run stopped before verifying it).
      await response.body?.cancel();
      const total = parseContentRange(response.headers.get("content-range"))?.total;
      if (total === have) return { totalBytes: total };
      return restart(ref, url, partPath, options);
    }
    if (response.status === 206 && have > 0) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (range?.start !== have) {
        await response.body?.cancel();
        return restart(ref, url, partPath, options);
      }
      totalBytes = range.total ?? addLength(have, response);
    } else if (response.status === 200) {
      // The whole file: no range asked, the server ignores ranges, or the file changed (If-Range).
      have = 0;
      totalBytes = addLength(0, response);
    } else {
      await response.body?.cancel();
      throw statusFailure(ref, response.status);
    }

    const etag = response.headers.get("etag") ?? undefined;
    await writeFile(infoPath, JSON.stringify({ url, etag, totalBytes } satisfies PartInfo));
    const resumedFromBytes = have;
    const report = () => options.onProgress?.({ downloadedBytes: have, totalBytes, resumedFromBytes });
    report();

    const file = await open(partPath, have > 0 ? "a" : "w");
    try {
      if (response.body) {
        for await (const piece of response.body as AsyncIterable<Uint8Array>) {
          watch.poke();
          if (totalBytes !== undefined && have + piece.byteLength > totalBytes) {
            await file.close();
            await rm(partPath, { force: true });
            await rm(infoPath, { force: true });
            throw modelFileError("provider_bad_response", ref, `the server sent more than the ${totalBytes} bytes it announced`);
          }
          await file.write(piece);
          have += piece.byteLength;
          report();
        }
      }
      await file.datasync();
    } catch (e) {
      // An abort errors the body with the signal's reason: our idle timeout is worth another try, the caller's stop is not.
      if (watch.signal.aborted) {
        const reason: unknown = watch.signal.reason;
        if (reason instanceof ParleyError && reason.code === "provider_timeout") throw new EndedEarly(have, totalBytes, "the server went silent");
        throw fetchFailure(ref, e, watch.signal);
      }
      if (e instanceof ParleyError) throw e;
      throw new EndedEarly(have, totalBytes, "the connection ended early");
    } finally {
      await file.close().catch(() => undefined);
    }
    if (totalBytes !== undefined && have < totalBytes) throw new EndedEarly(have, totalBytes, "the connection ended early");
    return { totalBytes };
  } finally {
    watch.stop();
  }
}

/** Throws the part away and downloads the whole file (the part did not fit what the server has now). */
async function restart(ref: string, url: string, partPath: string, options: DownloadOptions): Promise<{ totalBytes?: number }> {
  await rm(partPath, { force: true });
  await rm(`${partPath}.json`, { force: true });
  return downloadOnce(ref, url, partPath, options, true);
}

async function readPartInfo(partPath: string): Promise<PartInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(`${partPath}.json`, "utf8")) as Partial<PartInfo>;
    return typeof info.url === "string" ? (info as PartInfo) : undefined;
  } catch {
    return undefined;
  }
}

// `bytes 100-199/1000`: start 100, total 1000; `bytes */1000` (a 416's): total 1000, start NaN.
function parseContentRange(header: string | null): { start: number; total?: number } | undefined {
  const match = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(header?.trim() ?? "");
  if (!match) return undefined;
  return { start: match[1] === undefined ? NaN : Number(match[1]), total: match[2] === "*" ? undefined : Number(match[2]) };
}

/** `offset` plus the response's Content-Length; undefined when the server sent none. */
function addLength(offset: number, response: Response): number | undefined {
  const length = response.headers.get("content-length");
  return length !== null && /^\d+$/.test(length) ? offset + Number(length) : undefined;
}
