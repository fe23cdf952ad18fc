import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_EMBEDDED_MODEL } from "../../src/llm/model-files.js";
import { startModelServer } from "../fakes/model-server.js";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { tinyGguf } from "../support/tiny-gguf.js";

/**
 * The bot as a person runs it in a terminal: `node --import tsx src/main.ts`
 * in a tmux pane, keys sent with send-keys, the screen read with
 * capture-pane. Skipped where tmux is not installed (`apt-get install tmux`).
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const emptyConfig = fileURLToPath(new URL("../support/empty-config.yaml", import.meta.url));
const socket = `parley-test-${process.pid}`;

function hasTmux(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });

/** Starts the bot in its own pane; the pane stays after the bot exits, showing its exit code. */
function startInPane(name: string, env: Record<string, string>): void {
  const vars = Object.entries({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TERM: "xterm-256color", PARLEY_CONFIG: emptyConfig, ...env })
    .map(([k, v]) => `${k}='${v}'`)
    .join(" ");
  tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "40", "-c", root, `env -i ${vars} node --import tsx src/main.ts; echo EXIT=$?; sleep 600`);
}

const pane = (name: string) => tmux("capture-pane", "-p", "-t", name).replace(/\s+$/, "");

async function paneShows(name: string, ok: (screen: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = pane(name);
    if (ok(screen)) return screen;
    if (Date.now() > deadline) throw new Error(`the pane never matched; it shows:\n${screen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const STORY = Array.from({ length: 300 }, (_, i) => `word${i + 1}`).join(" ");

describe.skipIf(!hasTmux())("console in a real terminal (tmux)", () => {
  let ollama: FakeOllama;

  beforeAll(async () => {
    ollama = await startFakeOllama({
      responder: (call) => {
        const asked = call.messages.at(-1)?.content ?? "";
        if (asked.includes("story")) return { text: STORY, chunkDelayMs: 150 };
        // The first words come after a moment: the thinking mark is on screen meanwhile.
        return { chunks: [`Echo: ${asked}`], chunkDelayMs: 1_000 };
      },
    });
  });

  afterAll(async () => {
    try {
      tmux("kill-server");
    } catch {
      // no session left
    }
    await ollama?.close();
  });

  it("thinks, stops an answer on Ctrl-C, answers the next question, and quits with 0 on Ctrl-C at the prompt", async () => {
    startInPane("chat", { OLLAMA_HOST: ollama.url });
    await paneShows("chat", (s) => s.endsWith("you>"));
    tmux("send-keys", "-t", "chat", "hello there", "Enter");
    await paneShows("chat", (s) => s.endsWith("you> hello there\nthinking…"));
    await paneShows("chat", (s) => s.endsWith("Echo: hello there\nyou>"));

    tmux("send-keys", "-t", "chat", "tell me a story", "Enter");
    await paneShows("chat", (s) => s.includes("word3"));
    tmux("send-keys", "-t", "chat", "C-c");
    await paneShows("chat", (s) => /word1 word2 word3( word\d+)* \(stopped\)\nyou>$/.test(s));

    tmux("send-keys", "-t", "chat", "and now?", "Enter");
    const screen = await paneShows("chat", (s) => s.endsWith("you> and now?\nEcho: and now?\nyou>"));
    expect(screen).not.toMatch(/[{}]|"level"|\bat .*:\d+:\d+/);

    tmux("send-keys", "-t", "chat", "C-c");
    await paneShows("chat", (s) => s.endsWith("EXIT=0"));
  }, 90_000);

  it("names the address it could not reach, with log lines short and readable, and no stack", async () => {
    const port = await unusedPort();
    startInPane("down", { OLLAMA_HOST: `127.0.0.1:${port}` });
    await paneShows("down", (s) => s.endsWith("you>"));
    tmux("send-keys", "-t", "down", "anyone there?", "Enter");
    const screen = await paneShows("down", (s) => s.endsWith("you>") && s.includes("anyone there?\n") && s.includes("OLLAMA_HOST."));
    expect(screen.replace(/\n/g, "")).toContain(
      `Could not reach Ollama at http://127.0.0.1:${port} — is it running? Start it with \`ollama serve\`, or set OLLAMA_HOST.`,
    );
    const logLines = screen.split("\n").filter((l) => /^\d\d:\d\d:\d\d warn /.test(l));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(line.length).toBeLessThan(100);
    expect(screen).not.toMatch(/[{}]|"level"|\bat .*:\d+:\d+|Error:/);
    tmux("send-keys", "-t", "down", "C-d");
    await paneShows("down", (s) => s.endsWith("EXIT=0"));
  }, 60_000);

  // Nothing configured and nothing at Ollama's default address (as on a fresh machine, and in CI).
  it("on a first run with no model, asks once, downloads the small model with progress, chats with it, and the next start asks nothing", async () => {
    const hub = await startModelServer();
    const dir = mkdtempSync(join(tmpdir(), "parley-first-run-"));
    try {
      // hf:user/repo/file.gguf, fetched from HF_ENDPOINT as user/repo/resolve/main/file.gguf.
      const [user, repo, ...file] = DEFAULT_EMBEDDED_MODEL.slice("hf:".length).split("/");
      hub.serve(`/${user}/${repo}/resolve/main/${file.join("/")}`, { bytes: tinyGguf() });
      const env = { PARLEY_MODELS_DIR: dir, HF_ENDPOINT: hub.url, EMBEDDED_THREADS: "1", EMBEDDED_MAX_TOKENS: "8" };
      startInPane("first", env);
      await paneShows("first", (s) => s.endsWith("to run inside Parley? [Y/n]"));
      tmux("send-keys", "-t", "first", "Enter");
      const ready = await paneShows("first", (s) => s.endsWith("you>"), 60_000);
      expect(ready).toMatch(/\[#+\] 476\.6 kB \/ 476\.6 kB +100%/);
      expect(ready).toContain("Downloaded and verified: 476.6 kB");
      tmux("send-keys", "-t", "first", "hello", "Enter");
      // The tiny model writes a few tokens of noise: any answer, then the prompt again.
      await paneShows("first", (s) => /you> hello\n.+\nyou>$/s.test(s) && !s.includes("thinking…\nyou>"), 60_000);
      tmux("send-keys", "-t", "first", "C-d");
      await paneShows("first", (s) => s.endsWith("EXIT=0"));

      await hub.close();
      startInPane("again", env);
      const again = await paneShows("again", (s) => s.endsWith("you>"), 60_000);
      expect(again).not.toContain("[Y/n]");
      tmux("send-keys", "-t", "again", "C-d");
      await paneShows("again", (s) => s.endsWith("EXIT=0"));
    } finally {
      await hub.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
