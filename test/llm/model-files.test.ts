import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ParleyError } from "../../src/core/errors.js";
import {
  DEFAULT_EMBEDDED_MODEL,
  DEFAULT_EMBEDDED_MODEL_BYTES,
  listDownloaded,
  modelsDir,
  progressDisplay,
  resolveModel,
  type DownloadProgress,
} from "../../src/llm/model-files.js";
import { readIndex } from "../../src/llm/model-files/index-file.js";
import { startModelServer, type FakeModelServer } from "../fakes/model-server.js";
import { tinyGguf } from "../support/tiny-gguf.js";

/** A valid GGUF model, small enough to download many times. */
const model = tinyGguf({ blockCount: 1 });
const half = Math.floor(model.length / 2);
const notGguf = Buffer.from("<!DOCTYPE html><html><body>Please sign in</body></html>\n".repeat(400));

/** Rejects with a ParleyError: returns it to look at. */
async function failure(promise: Promise<unknown>): Promise<ParleyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ParleyError);
  return error as ParleyError;
}

/** Resolves once `condition` holds for a reported progress. */
function progressGate(condition: (p: DownloadProgress) => boolean): { onProgress: (p: DownloadProgress) => void; reached: Promise<void> } {
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (open = resolve));
  return { onProgress: (p) => condition(p) && open(), reached };
}

describe("modelsDir", () => {
  it("is PARLEY_MODELS_DIR when set, else parley/models in the platform's cache folder", () => {
    const home = "/home/ada";
    expect(modelsDir({ PARLEY_MODELS_DIR: "/srv/models" }, { platform: "linux", homeDir: home })).toBe("/srv/models");
    expect(modelsDir({}, { platform: "linux", homeDir: home })).toBe("/home/ada/.cache/parley/models");
    expect(modelsDir({ XDG_CACHE_HOME: "/var/cache/ada" }, { platform: "linux", homeDir: home })).toBe("/var/cache/ada/parley/models");
    // The XDG spec ignores a relative XDG_CACHE_HOME.
    expect(modelsDir({ XDG_CACHE_HOME: "cache" }, { platform: "linux", homeDir: home })).toBe("/home/ada/.cache/parley/models");
    expect(modelsDir({}, { platform: "darwin", homeDir: "/Users/ada" })).toBe("/Users/ada/Library/Caches/parley/models");
    expect(modelsDir({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local" }, { platform: "win32", homeDir: "C:\\Users\\ada" })).toBe(
      "C:\\Users\\ada\\AppData\\Local\\parley\\models",
    );
  });

  it("names a real small instruct model as the default, as an hf: URI of one .gguf file", () => {
    expect(DEFAULT_EMBEDDED_MODEL).toMatch(/^hf:[\w.-]+\/[\w.-]+\/[\w.-]+Instruct[\w.-]*\.gguf$/);
    expect(DEFAULT_EMBEDDED_MODEL_BYTES).toBeGreaterThan(500_000_000);
    expect(DEFAULT_EMBEDDED_MODEL_BYTES).toBeLessThan(1_100_000_000);
  });
});

describe("resolveModel and listDownloaded", () => {
  let server: FakeModelServer;
  let dir: string;

  beforeAll(async () => {
    server = await startModelServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "parley-models-"));
    server.requests.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("downloads a URL into the models folder, reporting bytes as they come, and lists it with its size and URL", async () => {
    const url = server.serve("/files/tiny-chat.gguf", { bytes: model });
    const seen: DownloadProgress[] = [];
    const got = await resolveModel(url, { dir, onProgress: (p) => seen.push({ ...p }) });
    expect(got).toEqual({ path: join(dir, "tiny-chat.gguf"), bytes: model.length, source: "downloaded" });
    expect(readFileSync(got.path).equals(model)).toBe(true);
    expect(seen[0]).toEqual({ downloadedBytes: 0, totalBytes: model.length, resumedFromBytes: 0 });
    expect(seen.at(-1)).toEqual({ downloadedBytes: model.length, totalBytes: model.length, resumedFromBytes: 0 });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.downloadedBytes).toBeGreaterThanOrEqual(seen[i - 1]!.downloadedBytes);
    expect(await listDownloaded(dir)).toEqual([{ file: "tiny-chat.gguf", path: got.path, bytes: model.length, ref: url }]);
    // Nothing else left behind: no part, no part info.
    expect(readdirSync(dir).sort()).toEqual(["models.json", "tiny-chat.gguf"]);
  });

  it("uses a model downloaded before without the network: the same path with the server gone", async () => {
    const offline = await startModelServer();
    const url = offline.serve("/m/offline.gguf", { bytes: model });
    const first = await resolveModel(url, { dir });
    await offline.close();
    const second = await resolveModel(url, { dir });
    expect(second).toEqual({ ...first, source: "kept" });
    expect(offline.requests).toHaveLength(1);
  });

  it("continues an interrupted download on the next run with a Range request from the part's size, to a byte-identical file", async () => {
    const gate = progressGate((p) => p.downloadedBytes >= half);
    const url = server.serve("/files/interrupted.gguf", { bytes: model, cutAt: half, beforeCut: () => gate.reached });
    const cut = await failure(resolveModel(url, { dir, maxTries: 1, onProgress: gate.onProgress }));
    expect(cut.code).toBe("stream_cut");
    expect(cut.message).toContain(url);
    expect(cut.message).toContain(`announced ${model.length} bytes`);
    expect(await listDownloaded(dir)).toEqual([]);
    const part = readdirSync(dir).find((f) => f.endsWith(".part"));
    expect(part).toBeDefined();
    expect(readFileSync(join(dir, part!)).length).toBe(half);

    const seen: DownloadProgress[] = [];
    const got = await resolveModel(url, { dir, onProgress: (p) => seen.push({ ...p }) });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${half}-`]);
    expect(seen[0]).toEqual({ downloadedBytes: half, totalBytes: model.length, resumedFromBytes: half });
    expect(readFileSync(got.path).equals(model)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes(".part"))).toEqual([]);
  });

  it("resumes by itself within one call when the connection ends early and bytes keep coming", async () => {
    const gate = progressGate((p) => p.downloadedBytes >= half);
    const url = server.serve("/files/flaky.gguf", { bytes: model, cutAt: half, beforeCut: () => gate.reached });
    const got = await resolveModel(url, { dir, onProgress: gate.onProgress });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${half}-`]);
    expect(readFileSync(got.path).equals(model)).toBe(true);
  });

  it("starts over when the server ignores the Range request", async () => {
    const gate = progressGate((p) => p.downloadedBytes >= half);
    const url = server.serve("/files/no-ranges.gguf", { bytes: model, cutAt: half, beforeCut: () => gate.reached, ignoreRange: true });
    await failure(resolveModel(url, { dir, maxTries: 1, onProgress: gate.onProgress }));
    const got = await resolveModel(url, { dir });
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${half}-`]);
    expect(readFileSync(got.path).equals(model)).toBe(true);
  });

  it("refuses a truncated download (more bytes announced than sent, every time) and keeps it out of the list", async () => {
    // The cut waits until the client has the bytes before it (else the last of them may be lost with the connection).
    const gate = progressGate((p) => p.downloadedBytes >= half);
    const url = server.serve("/files/truncated.gguf", { bytes: model, sendOnlyTo: half, beforeCut: () => gate.reached });
    for (let run = 0; run < 2; run++) {
      const error = await failure(resolveModel(url, { dir, onProgress: gate.onProgress }));
      expect(error.code).toBe("stream_cut");
      expect(error.message).toContain(url);
      expect(error.message).toMatch(new RegExp(`announced ${model.length} bytes .* but sent ${half} \\(the connection ended early`));
    }
    // The first run tried again from where it stopped; the second found nothing more to get.
    expect(server.requests.map((r) => r.range)).toEqual([undefined, `bytes=${half}-`, `bytes=${half}-`]);
    expect(await listDownloaded(dir)).toEqual([]);
    expect(await readIndex(dir)).toEqual({});
  });

  it("refuses a file that is not a GGUF model, naming the URL, and keeps nothing of it", async () => {
    const url = server.serve("/files/login-page.gguf", { bytes: notGguf });
    const error = await failure(resolveModel(url, { dir }));
    expect(error.code).toBe("provider_bad_response");
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/not a GGUF model file/);
    expect(error.userMessage).not.toContain(server.url);
    expect(await listDownloaded(dir)).toEqual([]);
    expect(await readIndex(dir)).toEqual({});
    expect(readdirSync(dir).filter((f) => f.includes(".part"))).toEqual([]);
  });

  it("refuses a GGUF file cut short even when the server announced that size", async () => {
    const url = server.serve("/files/short.gguf", { bytes: model.subarray(0, half) });
    const error = await failure(resolveModel(url, { dir }));
    expect(error.code).toBe("provider_bad_response");
    expect(error.message).toMatch(/cut short/);
    expect(await listDownloaded(dir)).toEqual([]);
  });

  it("says when the file is not on the server, and when the server cannot be reached", async () => {
    const missing = `${server.url}/files/nope.gguf`;
    const notFound = await failure(resolveModel(missing, { dir }));
    expect(notFound.code).toBe("model_not_found");
    expect(notFound.message).toBe(`${missing}: no such file on the server (HTTP 404)`);

    const gone = await startModelServer();
    const url = gone.serve("/x.gguf", { bytes: model });
    await gone.close();
    const refused = await failure(resolveModel(url, { dir }));
    expect(refused.code).toBe("provider_unavailable");
    expect(refused.retryable).toBe(true);
    expect(refused.message).toContain(url);
  });

  it("leaves a URL's query string (where signed links keep tokens) out of its messages", async () => {
    const error = await failure(resolveModel(`${server.url}/files/nope.gguf?token=s3cret`, { dir }));
    expect(error.message).not.toContain("s3cret");
  });

  it("gives up on a server that goes silent, keeping what arrived", async () => {
    const url = server.serve("/files/silent.gguf", { bytes: model, stallAt: half });
    const error = await failure(resolveModel(url, { dir, idleTimeoutMs: 200 }));
    expect(error.code).toBe("stream_cut");
    expect(error.message).toMatch(/went silent/);
    expect(await listDownloaded(dir)).toEqual([]);
  });

  it("stops when the caller aborts, keeping the part for the next run", async () => {
    const url = server.serve("/files/stopped.gguf", { bytes: model, stallAt: half });
    const stop = new AbortController();
    const error = await failure(
      resolveModel(url, { dir, signal: stop.signal, onProgress: (p) => p.downloadedBytes >= half && stop.abort() }),
    );
    expect(error.code).toBe("stopped");
    expect(server.requests).toHaveLength(1);
    const part = readdirSync(dir).find((f) => f.endsWith(".part"));
    expect(readFileSync(join(dir, part!)).length).toBe(half);
  });

  it("downloads hf: URIs from HF_ENDPOINT, by file path or by quantization through the manifest", async () => {
    server.serve("/tiny/Tiny-Chat-GGUF/resolve/main/Tiny-Chat-Q4_K_M.gguf", { bytes: model });
    server.serveManifest("tiny", "Tiny-Chat-GGUF", "Q4_K_M", "Tiny-Chat-Q4_K_M.gguf");
    const hfEndpoint = `${server.url}/`;

    const byPath = await resolveModel("hf:tiny/Tiny-Chat-GGUF/Tiny-Chat-Q4_K_M.gguf", { dir, hfEndpoint });
    expect(byPath.path).toBe(join(dir, "Tiny-Chat-Q4_K_M.gguf"));
    expect(readFileSync(byPath.path).equals(model)).toBe(true);

    const byQuant = await resolveModel("hf:tiny/Tiny-Chat-GGUF:Q4_K_M", { dir, hfEndpoint });
    expect(readFileSync(byQuant.path).equals(model)).toBe(true);
    // Two references, one name: the second file gets the reference's hash in its name.
    expect(byQuant.path).not.toBe(byPath.path);
    const manifestCall = server.requests.find((r) => r.path.startsWith("/v2/"));
    expect(manifestCall).toMatchObject({ path: "/v2/tiny/Tiny-Chat-GGUF/manifests/Q4_K_M", userAgent: "llama-cpp" });

    expect((await listDownloaded(dir)).map((m) => m.ref).sort()).toEqual([
      "hf:tiny/Tiny-Chat-GGUF/Tiny-Chat-Q4_K_M.gguf",
      "hf:tiny/Tiny-Chat-GGUF:Q4_K_M",
    ]);
    const requestsBefore = server.requests.length;
    expect((await resolveModel("hf:tiny/Tiny-Chat-GGUF:Q4_K_M", { dir, hfEndpoint })).source).toBe("kept");
    expect(server.requests.length).toBe(requestsBefore);
  });

  it("refuses a model split into several files, and an unknown quantization", async () => {
    const hfEndpoint = `${server.url}/`;
    const split = await failure(resolveModel("hf:big/Big-GGUF/Big-Q4_K_M-00001-of-00003.gguf", { dir, hfEndpoint }));
    expect(split.code).toBe("bad_input");
    expect(split.message).toMatch(/split into several files/);
    const unknown = await failure(resolveModel("hf:tiny/Tiny-Chat-GGUF:Q9_Z", { dir, hfEndpoint }));
    expect(unknown.code).toBe("model_not_found");
    expect(unknown.message).toContain("hf:tiny/Tiny-Chat-GGUF:Q9_Z");
  });

  it("takes a local .gguf path as it is, when it exists and is a GGUF model", async () => {
    const good = join(dir, "mine.gguf");
    writeFileSync(good, model);
    expect(await resolveModel(good, { dir })).toEqual({ path: good, bytes: model.length, source: "file" });

    const missing = await failure(resolveModel(join(dir, "absent.gguf"), { dir }));
    expect(missing.code).toBe("model_not_found");
    expect(missing.message).toBe(`${join(dir, "absent.gguf")}: no such file`);

    const html = join(dir, "page.gguf");
    writeFileSync(html, notGguf);
    const bad = await failure(resolveModel(html, { dir }));
    expect(bad.code).toBe("bad_input");
    expect(bad.message).toMatch(/not a GGUF model file/);

    const short = join(dir, "short.gguf");
    writeFileSync(short, model.subarray(0, half));
    expect((await failure(resolveModel(short, { dir }))).message).toMatch(/cut short/);
  });

  it("lists no models for a folder that does not exist", async () => {
    expect(await listDownloaded(join(dir, "nothing-here"))).toEqual([]);
  });
});

describe("progressDisplay", () => {
  function sink(isTTY: boolean): { out: Writable & { isTTY: boolean }; text: () => string } {
    let text = "";
    const out = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          text += chunk.toString("utf8");
          done();
        },
      }),
      { isTTY },
    );
    return { out, text: () => text };
  }

  it("redraws one line in place on a TTY: bytes done and total, percent, speed, time left", () => {
    let clock = 0;
    const { out, text } = sink(true);
    const display = progressDisplay(out, { now: () => clock, barWidth: 10 });
    display.update({ downloadedBytes: 0, totalBytes: 100_000_000, resumedFromBytes: 0 });
    clock = 2_000;
    display.update({ downloadedBytes: 40_000_000, totalBytes: 100_000_000, resumedFromBytes: 0 });
    clock = 2_050; // too soon to redraw
    display.update({ downloadedBytes: 41_000_000, totalBytes: 100_000_000, resumedFromBytes: 0 });
    const frames = text().split("\r").filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toBe("[####------] 40.0 MB / 100.0 MB  40%  20.0 MB/s  3 s left\x1b[K");
    expect(text()).not.toContain("\n");
    clock = 5_000;
    display.update({ downloadedBytes: 100_000_000, totalBytes: 100_000_000, resumedFromBytes: 0 });
    display.finish();
    expect(text().endsWith("100.0 MB / 100.0 MB  100%  20.0 MB/s\x1b[K\n")).toBe(true);
  });

  it("counts only this run's bytes for the speed of a resumed download", () => {
    let clock = 0;
    const { out, text } = sink(true);
    const display = progressDisplay(out, { now: () => clock });
    clock = 1_000;
    display.update({ downloadedBytes: 60_000_000, totalBytes: 100_000_000, resumedFromBytes: 50_000_000 });
    expect(text()).toContain("10.0 MB/s  4 s left");
  });

  it("writes a plain line at every tenth when not a TTY", () => {
    let clock = 0;
    const { out, text } = sink(false);
    const display = progressDisplay(out, { now: () => clock });
    for (let done = 0; done <= 1_000_000; done += 10_000) {
      clock = done / 1000; // 1 MB/s
      display.update({ downloadedBytes: done, totalBytes: 1_000_000, resumedFromBytes: 0 });
    }
    display.finish();
    const lines = text().split("\n").filter(Boolean);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^0 B \/ 1\.0 MB \(0%\)/);
    expect(lines[5]).toMatch(/^500\.0 kB \/ 1\.0 MB \(50%\), 1\.0 MB\/s, 1 s left$/);
    expect(lines[10]).toMatch(/^1\.0 MB \/ 1\.0 MB \(100%\)/);
    expect(text()).not.toContain("\r");
  });

  it("shows where a download stopped when it did not reach the end", () => {
    const { out, text } = sink(false);
    const display = progressDisplay(out, { now: () => 0 });
    display.update({ downloadedBytes: 0, totalBytes: 1_000, resumedFromBytes: 0 });
    display.update({ downloadedBytes: 450, totalBytes: 1_000, resumedFromBytes: 0 });
    display.update({ downloadedBytes: 470, totalBytes: 1_000, resumedFromBytes: 0 });
    display.finish();
    expect(text().split("\n").filter(Boolean)).toEqual(["0 B / 1.0 kB (0%)", "450 B / 1.0 kB (45%)", "470 B / 1.0 kB (47%)"]);
  });
});
