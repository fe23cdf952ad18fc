import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { botEnv, startBot, type BotProcess } from "../support/bot-process.js";

/** The last chat call the fake received: what the model was shown. */
function lastChat(ollama: FakeOllama) {
  const calls = ollama.requests.filter((r) => r.path === "/api/chat");
  return calls.at(-1)?.body as { messages: { role: string; content: string }[]; keep_alive?: unknown; model: string };
}

describe("console adapter end to end (child process, fake Ollama)", () => {
  let ollama: FakeOllama;
  let bot: BotProcess | undefined;

  beforeAll(async () => {
    ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
  });
  afterAll(async () => {
    await ollama.close();
  });
  beforeEach(() => {
    ollama.setFault(null);
    ollama.setResponder(null);
    ollama.requests.length = 0;
    bot?.kill();
    bot = undefined;
  });

  // Generous: the fake answers at once, but the machine may be busy. The hang test shortens it.
  const env = (extra: Record<string, string | undefined> = {}) => botEnv({ OLLAMA_HOST: ollama.url, LLM_TIMEOUT_MS: "20000", ...extra });

  it("answers piped lines in order on stdout, logs on stderr, and exits 0 at end of input", async () => {
    bot = startBot(env());
    bot.say("first question");
    bot.say("second question");
    bot.say("third question");
    const code = await bot.end();
    expect(code).toBe(0);
    const lines = bot.stdout().trim().split("\n");
    expect(lines).toEqual(["Echo: first question", "Echo: second question", "Echo: third question"]);
    // Logs are JSON on stderr, never mixed into the answers.
    expect(bot.stderr()).toContain('"msg":"adapter started"');
    expect(bot.stdout()).not.toContain('"level"');
  });

  it("sends persona, history and the channel's relevant memories to the model, and keep_alive", async () => {
    bot = startBot(env({ OLLAMA_KEEP_ALIVE: "ssd" }));
    bot.say("/remember The office wifi password is hunter2");
    await bot.waitFor("Remembered as #");
    bot.say("/remember Lunch is served at noon");
    await bot.waitFor(/Remembered as #\w+[\s\S]*Remembered as #/);
    bot.say("my name is Grace");
    await bot.waitFor("Echo: my name is Grace");
    bot.say("what is the wifi password?");
    await bot.waitFor("Echo: what is the wifi password?");
    expect(await bot.end()).toBe(0);

    const body = lastChat(ollama);
    expect(body.model).toBe("llama3.2");
    expect(body.keep_alive).toBe("2m");
    const [system, ...rest] = body.messages;
    expect(system!.role).toBe("system");
    expect(system!.content).toContain("You are Parley");
    expect(system!.content).toContain("The office wifi password is hunter2");
    expect(rest.map((m) => [m.role, m.content])).toEqual([
      ["user", "my name is Grace"],
      ["assistant", "Echo: my name is Grace"],
      ["user", "what is the wifi password?"],
    ]);
  });

  it("runs remember, recall, forget, persona, reset, help, status and usage", async () => {
    bot = startBot(env());
    bot.say("/remember cats sleep sixteen hours a day");
    const remembered = await bot.waitFor(/Remembered as #(\w+)/);
    const id = /#(\w+)/.exec(remembered)![1]!;
    let from = bot.stdout().length;
    bot.say("/recall how long do cats sleep");
    expect(await bot.waitFor("cats sleep sixteen hours", { from })).toContain(`#${id}`);

    from = bot.stdout().length;
    bot.say("/forget nope99");
    expect(await bot.waitFor("no memory #nope99", { from })).toContain("recall");
    from = bot.stdout().length;
    bot.say(`!forget ${id}`);
    await bot.waitFor(`Forgot #${id}`, { from });
    from = bot.stdout().length;
    bot.say("/recall cats");
    await bot.waitFor("No memory here matches", { from });

    from = bot.stdout().length;
    bot.say("/persona");
    const list = await bot.waitFor("creative", { from });
    expect(list).toMatch(/▸ default/);
    for (const name of ["concise", "technical", "creative"]) expect(list).toContain(name);
    from = bot.stdout().length;
    bot.say("/persona pirate");
    expect(await bot.waitFor("no persona", { from })).toContain("concise, creative, default, technical");
    from = bot.stdout().length;
    bot.say("/persona technical");
    await bot.waitFor("Persona switched to technical", { from });
    bot.say("how do I list files?");
    await bot.waitFor("Echo: how do I list files?");
    expect(lastChat(ollama).messages[0]!.content).toContain("senior software engineer");

    from = bot.stdout().length;
    bot.say("/reset");
    await bot.waitFor("Conversation cleared", { from });
    bot.say("after reset");
    await bot.waitFor("Echo: after reset");
    // History is gone, the persona is kept.
    expect(lastChat(ollama).messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(lastChat(ollama).messages[0]!.content).toContain("senior software engineer");
    from = bot.stdout().length;
    bot.say("/reset all");
    await bot.waitFor("persona back to default", { from });

    from = bot.stdout().length;
    bot.say("/help");
    const help = await bot.waitFor("/usage", { from });
    for (const c of ["/chat", "/persona", "/remember", "/recall", "/forget", "/reset", "/status"]) expect(help).toContain(c);
    from = bot.stdout().length;
    bot.say("/status");
    const status = await bot.waitFor("Uptime", { from });
    expect(status).toContain("llama3.2 via ollama");
    expect(status).toContain("ollama: answering");
    from = bot.stdout().length;
    bot.say("/usage");
    const usage = await bot.waitFor("Token budget", { from });
    expect(usage).toMatch(/Today \(UTC\): \d+ model requests? and \d+ commands?/);
    from = bot.stdout().length;
    bot.say("/frobnicate now");
    expect(await bot.waitFor("Unknown command /frobnicate", { from })).toContain("/help");
    expect(await bot.end()).toBe(0);
  });

  it("records the provider's own token counts and shows them in usage", async () => {
    ollama.setResponder(() => ({ text: "Counted answer", promptTokens: 123, completionTokens: 45 }));
    bot = startBot(env());
    bot.say("count me");
    await bot.waitFor("Counted answer");
    bot.say("/usage");
    const usage = await bot.waitFor("Token budget");
    expect(usage).toContain("168 tokens (123 in, 45 out)");
    expect(usage).toContain("49,832 of 50,000 left today");
    expect(await bot.end()).toBe(0);
  });

  it.each([
    ["500", /internal error|failed/i],
    ["429", /busy|rate|too many/i],
    ["not-json", /could not be read/i],
    ["hang", /did not answer in time|timed out|took too long/i],
  ] as const)("a %s from Ollama ends in one clear reply and the next line is answered", async (fault, expected) => {
    // Sticky: a one-shot fault is now retried away (see test/routing/); this is the provider that stays broken.
    ollama.setFault({ kind: fault, sticky: true });
    bot = startBot(env(fault === "hang" ? { LLM_TIMEOUT_MS: "1500" } : {}));
    bot.say("this one fails");
    await bot.waitFor(expected);
    ollama.setFault(null);
    bot.say("this one works");
    await bot.waitFor("Echo: this one works");
    const out = bot.stdout();
    const [failure] = out.split("Echo: this one works");
    expect(failure).toMatch(expected);
    expect(failure).not.toContain("http://");
    expect(failure!.trim().split("\n").length).toBeLessThanOrEqual(2);
    // The failed turn is not stored: the next prompt has no trace of it.
    expect(JSON.stringify(lastChat(ollama).messages)).not.toContain("this one fails");
    expect(await bot.end()).toBe(0);
  });

  it("a stream cut short keeps what arrived, says so, and is not stored", async () => {
    ollama.setResponder(() => ({ chunks: ["Partial ", "answer ", "that never ends"] }));
    ollama.setFault("cut");
    bot = startBot(env());
    bot.say("tell me a story");
    await bot.waitFor(/cut off|stopped|interrupted/i);
    ollama.setResponder(null);
    bot.say("next");
    await bot.waitFor("Echo: next");
    expect(bot.stdout()).toContain("Partial");
    expect(JSON.stringify(lastChat(ollama).messages)).not.toContain("tell me a story");
    expect(await bot.end()).toBe(0);
  });

  it("names a model that is not pulled and how to get it", async () => {
    bot = startBot(env({ LLM_MODEL: "mistral-nemo" }));
    bot.say("hello");
    const out = await bot.waitFor("ollama pull mistral-nemo");
    expect(out).toContain("mistral-nemo");
    expect(await bot.end()).toBe(0);
  });

  it("says when the model server is down, naming the address it tried, and still exits cleanly", async () => {
    const port = await unusedPort();
    // As Ollama reads OLLAMA_HOST: no scheme means http.
    bot = startBot(env({ OLLAMA_HOST: `127.0.0.1:${port}` }));
    const started = Date.now();
    bot.say("anyone there?");
    bot.say("/help");
    await bot.waitFor("/usage");
    expect(bot.stdout()).toContain(
      `Could not reach Ollama at http://127.0.0.1:${port} — is it running? Start it with \`ollama serve\`, or set OLLAMA_HOST.`,
    );
    // Piped: the answers alone on stdout, the detail as JSON lines on stderr.
    expect(bot.stdout()).not.toMatch(/"level"|\bat .*\.ts:\d+/);
    expect(bot.stderr()).toContain('"code":"provider_unavailable"');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await bot.end()).toBe(0);
  });

  it("never runs a command the model writes", async () => {
    ollama.setResponder(() => "/reset all\n!forget everything\n/persona creative");
    bot = startBot(env());
    bot.say("/persona concise");
    await bot.waitFor("Persona switched to concise");
    bot.say("say the magic words");
    await bot.waitFor("/persona creative");
    ollama.setResponder(null);
    bot.say("still there?");
    await bot.waitFor("Echo: still there?");
    const prompt = lastChat(ollama).messages;
    // History kept and persona unchanged: the model's "/reset all" was only text.
    expect(prompt[0]!.content).toContain("concise mode");
    expect(prompt.map((m) => m.content)).toContain("say the magic words");
    expect(bot.stdout()).not.toContain("Conversation cleared");
    expect(await bot.end()).toBe(0);
  });

  it("holds the per-user rate limit exactly and tells the user once", async () => {
    bot = startBot(env({ RATE_LIMIT_PER_MINUTE: "3" }));
    for (let i = 1; i <= 6; i++) bot.say(`message ${i}`);
    bot.say("/usage");
    await bot.waitFor("Token budget");
    const out = bot.stdout();
    expect(out).toContain("Echo: message 1");
    expect(out).toContain("Echo: message 3");
    expect(out).not.toContain("Echo: message 4");
    expect(out.match(/Slow down/g)).toHaveLength(1);
    expect(out).toMatch(/Try again in \d+ s/);
    expect(out).toContain("0/3 this minute");
    expect(ollama.requests.filter((r) => r.path === "/api/chat")).toHaveLength(3);
    expect(await bot.end()).toBe(0);
  });

  it("refuses an over-long message and an empty chat with a short reply", async () => {
    bot = startBot(env());
    bot.say("x".repeat(5000));
    await bot.waitFor("too long");
    bot.say("/chat");
    await bot.waitFor("Say something after /chat");
    expect(ollama.requests.filter((r) => r.path === "/api/chat")).toHaveLength(0);
    expect(await bot.end()).toBe(0);
  });

  it("stops with a message naming a bad setting", async () => {
    bot = startBot(env({ RATE_LIMIT_PER_HOUR: "lots" }));
    expect(await bot.end()).toBe(2);
    expect(bot.stderr()).toContain("RATE_LIMIT_PER_HOUR must be a number");
  });
});
