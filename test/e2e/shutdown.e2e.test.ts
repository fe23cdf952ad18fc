/** SIGINT and SIGTERM to a running bot: answers in flight are finished, and the grace period bounds the wait. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";

let ollama: FakeOllama;
let bot: BotProcess | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama();
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(() => {
  ollama.requests.length = 0;
  ollama.setFault(null);
  ollama.setResponder(null);
});
afterEach(() => {
  bot?.kill();
  bot = undefined;
});

function exited(b: BotProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => b.child.once("exit", (code) => resolve({ code, ms: Date.now() - started })));
}

async function untilAsked(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!ollama.requests.some((r) => r.path === "/api/chat")) {
    if (Date.now() > deadline) throw new Error("the model was never asked");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("stopping on a signal", () => {
  it("finishes the answer in flight and exits 0, taking npm's echo of a Ctrl-C for the same one", async () => {
    ollama.setResponder(() => ({ text: "one two three four five six seven eight", chunkDelayMs: 100 }));
    bot = startBot(botEnv({ OLLAMA_HOST: ollama.url }));
    bot.say("count for me");
    await untilAsked();
    const done = exited(bot);
    bot.child.kill("SIGINT");
    bot.child.kill("SIGINT");
    const { code } = await done;
    expect(code).toBe(0);
    expect(bot.stdout()).toContain("one two three four five six seven eight");
  });

  it("quits within the grace period when the model hangs", async () => {
    ollama.setFault({ kind: "hang", sticky: true });
    bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, PARLEY_SHUTDOWN_GRACE_MS: "1000" }));
    bot.say("hello?");
    await untilAsked();
    const done = exited(bot);
    bot.child.kill("SIGTERM");
    const { code, ms } = await done;
    expect(code).toBe(0);
    // The last quarter of the grace period is kept for telling the user.
    expect(ms).toBeGreaterThanOrEqual(700);
    // Generous: the bound is the grace period, not how busy the machine is.
    expect(ms).toBeLessThan(10_000);
    expect(bot.stdout()).toContain("The bot is restarting; please send that again in a moment.");
  });

  it("ends an answer still streaming at the grace period's end with a mark, and exits 0", async () => {
    ollama.setResponder(() => ({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 50 }));
    bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, PARLEY_SHUTDOWN_GRACE_MS: "2000" }));
    bot.say("talk for a long time");
    await untilAsked();
    const done = exited(bot);
    bot.child.kill("SIGTERM");
    const { code, ms } = await done;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(bot.stdout()).toMatch(/^w0 w1 .*\n\n\*\(stopped: the bot is restarting\)\*$/m);
    expect(bot.stdout()).not.toContain("w199");
  });

  it("quits at once on a second Ctrl-C", async () => {
    ollama.setFault({ kind: "hang", sticky: true });
    bot = startBot(botEnv({ OLLAMA_HOST: ollama.url, PARLEY_SHUTDOWN_GRACE_MS: "60000" }));
    bot.say("hello?");
    await untilAsked();
    const done = exited(bot);
    bot.child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 700));
    bot.child.kill("SIGINT");
    const { code, ms } = await done;
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(bot.stderr()).toContain("second signal");
  });
});
