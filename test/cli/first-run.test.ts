/**
 * A first start with nothing configured and no Ollama: in a terminal the
 * bot offers the default small model and downloads it (from a local
 * stand-in for Hugging Face); a model downloaded before is used without
 * asking; not in a terminal, one paragraph and no model.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { chooseFirstRunModel, modelConfigured, type FirstRunIo } from "../../src/first-run.js";
import { DEFAULT_EMBEDDED_MODEL } from "../../src/llm/model-files.js";
import { startModelServer, type FakeModelServer } from "../fakes/model-server.js";
import { tinyGguf } from "../support/tiny-gguf.js";

let hub: FakeModelServer;
const folders: string[] = [];

beforeAll(async () => {
  hub = await startModelServer();
  // Where `hf:bartowski/…/X.gguf` resolves with HF_ENDPOINT pointing here.
  const [, repoPath] = /^hf:(.+)$/.exec(DEFAULT_EMBEDDED_MODEL)!;
  const parts = repoPath!.split("/");
  hub.serve(`/${parts[0]}/${parts[1]}/resolve/main/${parts.slice(2).join("/")}`, { bytes: tinyGguf() });
});
afterAll(async () => {
  await hub.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "parley-first-run-"));
  folders.push(dir);
  return { PARLEY_CONFIG: "", PARLEY_MODELS_DIR: dir, HF_ENDPOINT: hub.url, ...extra };
}

/** A terminal (or not) whose person answers `reply` to the question. */
function terminal(tty: boolean, reply?: string): FirstRunIo & { said: () => string } {
  const input = Object.assign(new PassThrough(), { isTTY: tty });
  const output = Object.assign(new PassThrough(), { isTTY: tty });
  let said = "";
  output.on("data", (d: Buffer) => {
    said += String(d);
    if (reply !== undefined && said.includes("[Y/n]")) {
      input.write(`${reply}\n`);
      reply = undefined;
    }
  });
  return { input, output, ollamaAnswers: async () => false, said: () => said };
}

describe("the first start with no model", () => {
  it("asks in a terminal, downloads the default model on yes with progress, and runs it in the bot", async () => {
    const e = env();
    const io = terminal(true, "");
    const choice = await chooseFirstRunModel(e, loadConfig(e), io);
    expect(choice).toEqual({ use: "embedded", model: DEFAULT_EMBEDDED_MODEL });
    expect(io.said()).toContain("No model to answer with: nothing answers at http://127.0.0.1:11434 (Ollama) and no API key is set.");
    expect(io.said()).toMatch(/Download Qwen2\.5 1\.5B Instruct \(Q4_K_M\), about 986(\.\d)? MB, to run inside Parley\? \[Y\/n\]/);
    expect(io.said()).toContain("Downloaded and verified");

    // The next start finds it, asks nothing and needs no network.
    const again = terminal(true);
    await hub.close();
    expect(await chooseFirstRunModel(e, loadConfig(e), again)).toEqual({ use: "embedded", model: DEFAULT_EMBEDDED_MODEL });
    expect(again.said()).toBe("");
    hub = await startModelServer();
  });

  it("downloads nothing on no, and says the three ways to get a model", async () => {
    const e = env();
    const io = terminal(true, "n");
    const choice = await chooseFirstRunModel(e, loadConfig(e), io);
    expect(choice.use).toBe("none");
    expect(choice.use === "none" && choice.message).toMatch(/Start Ollama .*or set a key, e\.g\. LLM_PROVIDER=openai with OPENAI_API_KEY .*or run `npx parley pull` once/);
    expect(hub.requests.filter((r) => r.method === "GET")).toEqual([]);
  });

  it("does not ask when not in a terminal: one paragraph, no model", async () => {
    const e = env();
    const choice = await chooseFirstRunModel(e, loadConfig(e), terminal(false));
    expect(choice).toMatchObject({ use: "none", message: expect.stringMatching(/^parley: there is no model to answer with: nothing answers at http:\/\/127\.0\.0\.1:11434/) });
    expect(choice.use === "none" && choice.message.trim().split("\n")).toHaveLength(1);
  });

  it("starts as configured when a provider, model or key is set, or Ollama answers", async () => {
    const settings: Array<Record<string, string>> = [{ LLM_PROVIDER: "ollama" }, { LLM_MODEL: "llama3.2" }, { OPENAI_API_KEY: "sk-x", LLM_PROVIDER: "openai" }, { EMBEDDED_MODEL: "/models/x.gguf" }];
    for (const extra of settings) {
      const e = env(extra);
      expect(modelConfigured(e, loadConfig(e))).toBe(true);
      expect(await chooseFirstRunModel(e, loadConfig(e), terminal(false))).toEqual({ use: "configured" });
    }
    const e = env();
    expect(modelConfigured(e, loadConfig(e))).toBe(false);
    expect(modelConfigured({ ...e, OLLAMA_HOST: "127.0.0.1:11434" }, loadConfig(e))).toBe(true);
    expect(await chooseFirstRunModel(e, loadConfig(e), { ...terminal(false), ollamaAnswers: async () => true })).toEqual({ use: "configured" });
  });
});
