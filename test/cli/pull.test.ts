import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listModels } from "../../src/cli/models.js";
import { pullModel } from "../../src/cli/pull.js";
import { startModelServer, type FakeModelServer } from "../fakes/model-server.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, builtCli } from "../support/bot-process.js";
import { tinyGguf } from "../support/tiny-gguf.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const model = tinyGguf({ blockCount: 1 });

/**
 * Runs `parley <args>` in a child process: through bin/parley.mjs (tsx, what `npx parley` runs) when `viaBin`,
 * else the same commands transpiled once for the tests (a second less of start-up each).
 */
function parley(args: string[], env: Record<string, string>, viaBin = false): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // Not run from the root: a developer's .env there would be read.
    const child = spawn(process.execPath, [viaBin ? join(root, "bin/parley.mjs") : builtCli, ...args], { cwd: join(root, "test/support"), env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

function capture(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString("utf8");
      done();
    },
  });
  return { stream, text: () => text };
}

/** `parley pull` in this process, with stdout and stderr captured. */
async function pullInProcess(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const out = capture();
  const err = capture();
  const code = await pullModel(args, env, out.stream, err.stream);
  return { code, out: out.text(), err: err.text() };
}

describe("parley pull and the downloaded files in parley models", () => {
  let server: FakeModelServer;
  let ollama: FakeOllama;
  let dir: string;

  beforeAll(async () => {
    server = await startModelServer();
    ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
  });
  afterAll(async () => {
    await Promise.all([server.close(), ollama.close()]);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "parley-pull-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("downloads a URL with parley pull in a child process, showing progress, and prints the file's path", async () => {
    const url = server.serve("/pull/tiny-chat.gguf", { bytes: model });
    const { code, out, err } = await parley(["pull", url], botEnv({ PARLEY_MODELS_DIR: dir }));
    expect(err).toContain(`Downloading ${url} into ${dir}`);
    // Not a TTY: plain lines, the last at 100%.
    expect(err).toMatch(/^0 B \/ \d+\.\d kB \(0%\)/m);
    expect(err).toMatch(/^\d+\.\d kB \/ \d+\.\d kB \(100%\)/m);
    expect(err).not.toContain("\r");
    expect(err).toContain("Downloaded and verified");
    expect(out).toBe(`${join(dir, "tiny-chat.gguf")}\n`);
    expect(code).toBe(0);
    expect(readFileSync(join(dir, "tiny-chat.gguf")).equals(model)).toBe(true);

    // Downloaded once: found again without the server.
    const again = await pullInProcess([url], botEnv({ PARLEY_MODELS_DIR: dir }));
    expect(again).toMatchObject({ code: 0, out: `${join(dir, "tiny-chat.gguf")}\n` });
    expect(again.err).toContain("Already downloaded");
    expect(again.err).not.toContain("Downloading");
  });

  it("fails with exit code 1 and a one-line reason naming the URL", async () => {
    const url = server.serve("/pull/page.gguf", { bytes: Buffer.from("<html>sign in</html>\n".repeat(200)) });
    const { code, out, err } = await pullInProcess([url], botEnv({ PARLEY_MODELS_DIR: dir }));
    expect(code).toBe(1);
    expect(out).toBe("");
    const reason = err.split("\n").filter(Boolean).at(-1);
    expect(reason).toMatch(new RegExp(`^parley pull: ${url}: the downloaded file was refused: it is not a GGUF model file`));
    expect(err.split("\n").filter((l) => l.startsWith("parley pull:"))).toHaveLength(1);
  });

  it("pulls EMBEDDED_MODEL when no model is named, and wants at most one", async () => {
    const url = server.serve("/pull/configured.gguf", { bytes: model });
    const pulled = await pullInProcess([], botEnv({ PARLEY_MODELS_DIR: dir, EMBEDDED_MODEL: url }));
    expect(pulled).toMatchObject({ code: 0, out: `${join(dir, "configured.gguf")}\n` });
    const two = await pullInProcess([url, url], botEnv({ PARLEY_MODELS_DIR: dir }));
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/one model at a time/);
  });

  it("lists the downloaded files with their sizes after the providers' models", async () => {
    const env = botEnv({ OLLAMA_HOST: ollama.url, PARLEY_MODELS_DIR: dir });
    const empty = capture();
    expect(await listModels(env, empty.stream)).toBe(0);
    expect(empty.text()).toContain(`downloaded model files (${dir}): none yet`);

    const url = server.serve("/pull/listed.gguf", { bytes: model });
    expect((await pullInProcess([url], env)).code).toBe(0);
    const listed = capture();
    expect(await listModels(env, listed.stream)).toBe(0);
    const text = listed.text();
    expect(text).toContain("ollama: 1 model\n  llama3.2:latest\n");
    expect(text).toContain(`downloaded model files (${dir}): 1\n  listed.gguf  ${(model.length / 1000).toFixed(1)} kB  from ${url}\n`);
    expect(text.indexOf("ollama:")).toBeLessThan(text.indexOf("downloaded model files"));
  });

  it("is in the usage text", async () => {
    const help = await parley(["--help"], botEnv({}));
    expect(help.out).toMatch(/^ {2}pull {7}download a model file/m);
  });
});
