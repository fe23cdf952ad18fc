import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsoleAdapter } from "../../src/adapters/console/index.js";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/log.js";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv } from "../support/bot-process.js";
import { fakeTerminal, type FakeTerminal } from "./terminal-screen.js";

const STORY = Array.from({ length: 300 }, (_, i) => `word${i + 1}`).join(" ");

/** The last chat call the fake received: what the model was shown. */
function lastChat(ollama: FakeOllama) {
  const calls = ollama.requests.filter((r) => r.path === "/api/chat");
  return calls.at(-1)?.body as { messages: { role: string; content: string }[] };
}

describe("console in a terminal, the whole bot behind it (fake Ollama)", () => {
  let ollama: FakeOllama;
  let app: App;
  let term: FakeTerminal;
  let quits = 0;

  beforeAll(async () => {
    ollama = await startFakeOllama({
      responder: (call) => {
        const asked = call.messages.at(-1)?.content ?? "";
        // A slow first token (the thinking mark shows), then a long, slow answer.
        if (asked.includes("story")) return { text: STORY, chunkDelayMs: 150 };
        return `Echo: ${asked}`;
      },
    });
    term = fakeTerminal();
    const adapter = createConsoleAdapter({ input: term.input, output: term.output, interactive: true, color: false, onQuit: () => quits++ });
    const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "10000" }));
    // Logs share the terminal, as stderr and stdout do in a console run; info shows them all.
    const log = createLogger("info", [], term.output, { pretty: true, color: false, around: (print) => adapter.printAbove(print) });
    app = await startApp({ config, log, adapters: [adapter] });
    await term.waitFor((s) => s.endsWith("you>"));
  });

  afterAll(async () => {
    await app?.stop();
    await ollama?.close();
  });

  it("thinks, streams, stops on Ctrl-C, answers the next question, and quits on Ctrl-C at the prompt", async () => {
    term.type("tell me a story\r");
    await term.waitFor((s) => s.endsWith("thinking…"));
    await term.waitFor((s) => /\nword1 word2 word3/.test(s));
    term.type("\x03");
    let screen = await term.waitFor((s) => s.endsWith("you>") && s.includes("(stopped)"));
    expect(screen).toMatch(/\nword1 word2 word3( word\d+)* \(stopped\)\n/);
    const shownWords = /word1 word2 word3( word\d+)*/.exec(screen)![0].split(" ").length;
    // The model call was ended: no more words arrive.
    await new Promise((r) => setTimeout(r, 600));
    expect(term.lines().join("\n")).toBe(screen);
    expect(shownWords).toBeLessThan(50);

    term.type("what now?\r");
    screen = await term.waitFor((s) => s.endsWith("you>") && s.includes("Echo: what now?"));
    expect(screen.split("\n").slice(-3)).toEqual(["you> what now?", "Echo: what now?", "you>"]);
    // The core saw a stop (not a failure), and did not keep the half answer as history.
    expect(screen).toMatch(/ info answer cut off; not stored · channel=console:local code=stopped/);
    expect(JSON.stringify(lastChat(ollama).messages)).not.toContain("word1");

    // Logs were there (info), each one readable line, none inside an answer.
    expect(screen).toMatch(/^\d\d:\d\d:\d\d info /m);
    expect(screen).not.toMatch(/[{}]|"level"| {4}at |Something went wrong/);
    for (const line of screen.split("\n").filter((l) => /^\d\d:\d\d:\d\d /.test(l))) expect(line.length).toBeLessThan(80);
    expect(quits).toBe(0);

    term.type("\x03");
    await expect.poll(() => quits).toBe(1);
  });
});
