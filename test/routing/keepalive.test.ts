/** Ollama keep-alive: the strategy sent as `keep_alive`, and at most N models kept loaded, least recently used unloaded first. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeOllama, type FakeOllama } from "../fakes/ollama.js";
import type { TestApp } from "../support/app-harness.js";
import { chatCalls, startRouted } from "./support.js";

let ollama: FakeOllama;
let bot: TestApp | undefined;

beforeAll(async () => {
  ollama = await startFakeOllama({ models: ["a:latest", "b:latest", "c:latest"] });
});
afterAll(async () => {
  await ollama.close();
});
beforeEach(async () => {
  // Unload whatever the previous test left loaded in the fake.
  for (const model of ollama.loadedModels()) {
    await fetch(`${ollama.url}/api/generate`, { method: "POST", body: JSON.stringify({ model, prompt: "", keep_alive: 0 }) });
  }
  ollama.requests.length = 0;
});
afterEach(async () => {
  await bot?.stop();
  bot = undefined;
});

/** One rule per model: `a: ...` goes to local/a, and so on. */
function start(provider: Record<string, unknown>) {
  return startRouted({
    providers: { local: { kind: "ollama", baseUrl: ollama.url, models: ["a", "b", "c"], ...provider } },
    default: "local/a",
    routes: ["a", "b", "c"].map((m) => ({ pattern: `^${m}:`, model: `local/${m}` })),
  });
}
const say = (text: string) => bot!.say(text, { private: true });

/** Models the bot asked Ollama to unload, in order. */
function unloads(): string[] {
  return ollama.requests
    .filter((r) => r.path === "/api/generate" && (r.body as { keep_alive?: unknown }).keep_alive === 0)
    .map((r) => (r.body as { model: string }).model);
}

describe("Ollama keep-alive", () => {
  it("keeps at most maxLoadedModels loaded, unloading the least recently used first", async () => {
    bot = await start({ maxLoadedModels: 2, keepAlive: "ram" });
    await say("a: one");
    await say("b: two");
    expect(ollama.loadedModels().sort()).toEqual(["a:latest", "b:latest"]);
    expect(unloads()).toEqual([]);

    await say("c: three");
    expect(unloads()).toEqual(["a"]);
    expect(ollama.loadedModels().sort()).toEqual(["b:latest", "c:latest"]);

    // b is now the least recently used.
    await say("a: four");
    expect(unloads()).toEqual(["a", "b"]);
    expect(ollama.loadedModels().sort()).toEqual(["a:latest", "c:latest"]);

    // A model already loaded costs no unload, and becomes the most recent.
    await say("c: five");
    await say("b: six");
    expect(unloads()).toEqual(["a", "b", "a"]);
    expect(ollama.loadedModels().sort()).toEqual(["b:latest", "c:latest"]);
    expect(await say("/status")).toMatch(/^local: answering \(3 models\).*; kept loaded: c, b$/m);
  });

  it.each([
    ["ram", "30m"],
    ["ssd", "2m"],
    ["none", 0],
    ["10m", "10m"],
    [300, 300],
    ["45", 45],
  ] as const)("sends keepAlive %j as keep_alive %j with every call", async (keepAlive, sent) => {
    bot = await start({ keepAlive });
    await say("b: hello");
    expect((chatCalls(ollama.requests)[0]!.body as { keep_alive?: unknown }).keep_alive).toEqual(sent);
  });

  it("with keepAlive none, never needs to unload anything", async () => {
    bot = await start({ keepAlive: "none", maxLoadedModels: 1 });
    await say("a: one");
    await say("b: two");
    await say("c: three");
    expect(unloads()).toEqual([]);
    expect(ollama.loadedModels()).toEqual([]);
  });
});
