/**
 * The health server, asked over real HTTP: on its own with checks the test
 * controls, and inside the bot on a real Redis and the fake Ollama.
 */
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import type { Adapter } from "../../src/core/adapter.js";
import { startHealthServer, type HealthServer, type ReadinessChecks } from "../../src/http/health.js";
import { startFakeOllama, unusedPort, type FakeOllama } from "../fakes/ollama.js";
import { botEnv } from "../support/bot-process.js";
import { startRedis, type TestRedis } from "../support/redis.js";

const silent = pino({ level: "silent" });

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

describe("health server", () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await server?.close();
    server = undefined;
  });

  function checks(over: Partial<ReadinessChecks> = {}): ReadinessChecks & { modelAsks: number } {
    const state = {
      modelAsks: 0,
      store: async () => true,
      adaptersNotReady: () => [] as string[],
      models: async () => {
        state.modelAsks++;
        return true;
      },
      ...over,
    };
    return state;
  }

  it("answers /healthz with ok, and /readyz with 200 when everything is there", async () => {
    server = await startHealthServer({ port: 0, host: "127.0.0.1", checks: checks(), log: silent });
    expect(await get(server.port, "/healthz")).toEqual({ status: 200, body: "ok\n" });
    const ready = await get(server.port, "/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true });
    expect((await get(server.port, "/metrics")).status).toBe(404);
  });

  it("answers /readyz with 503 naming what is not ready; a check that throws counts as not ready", async () => {
    const failing = checks({
      store: async () => false,
      adaptersNotReady: () => ["discord"],
      models: () => Promise.reject(new Error("refused")),
    });
    server = await startHealthServer({ port: 0, host: "127.0.0.1", checks: failing, log: silent });
    const res = await get(server.port, "/readyz");
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ ready: false, notReady: ["store", "discord", "models"] });
    // The process still runs.
    expect((await get(server.port, "/healthz")).status).toBe(200);
  });

  it("asks the model providers at most once per 10 s, however often it is probed", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const counted = checks();
    server = await startHealthServer({ port: 0, host: "127.0.0.1", checks: counted, log: silent });
    for (let i = 0; i < 5; i++) expect((await get(server.port, "/readyz")).status).toBe(200);
    expect(counted.modelAsks).toBe(1);
    vi.setSystemTime(Date.now() + 9_000);
    await get(server.port, "/readyz");
    expect(counted.modelAsks).toBe(1);
    vi.setSystemTime(Date.now() + 1_500);
    await get(server.port, "/readyz");
    expect(counted.modelAsks).toBe(2);
  });

  it("answers /readyz with 503 once stopping, while /healthz stays ok", async () => {
    server = await startHealthServer({ port: 0, host: "127.0.0.1", checks: checks(), log: silent });
    server.stopping();
    const res = await get(server.port, "/readyz");
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ ready: false, notReady: ["stopping"] });
    expect((await get(server.port, "/healthz")).status).toBe(200);
  });
});

/** An adapter the test connects and disconnects, and whose stop it holds. */
function heldAdapter() {
  let connected = true;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const adapter: Adapter = {
    platform: "discord",
    start: async () => {},
    stop: () => released,
    ready: () => connected,
  };
  return { adapter, setConnected: (value: boolean) => (connected = value), release };
}

describe("health endpoints of the bot (PARLEY_HTTP_PORT)", () => {
  let ollama: FakeOllama;
  let redis: TestRedis;
  let app: App | undefined;
  let held: ReturnType<typeof heldAdapter> | undefined;

  beforeAll(async () => {
    ollama = await startFakeOllama();
    redis = await startRedis({ ownServer: true });
  });
  afterEach(async () => {
    redis.resume();
    held?.release();
    await app?.stop();
    app = undefined;
  });
  afterAll(async () => {
    await redis.stop();
    await ollama.close();
  });

  async function start(env: Record<string, string>): Promise<{ app: App; port: number }> {
    const port = await unusedPort();
    held = heldAdapter();
    const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url, REDIS_URL: redis.url, PARLEY_HTTP_PORT: String(port), PARLEY_HTTP_HOST: "127.0.0.1", ...env }));
    app = await startApp({ config, log: silent, adapters: [held.adapter] });
    return { app, port };
  }

  it("is ready with Redis, the adapter and Ollama; names the store while Redis is frozen and the adapter while it is disconnected", { timeout: 30_000 }, async () => {
    const { port } = await start({});
    expect(await get(port, "/readyz")).toMatchObject({ status: 200 });

    redis.pause();
    const frozen = await get(port, "/readyz");
    expect(frozen.status).toBe(503);
    expect(JSON.parse(frozen.body).notReady).toEqual(["store"]);
    redis.resume();
    // The store is asked again within about a second of thawing.
    const deadline = Date.now() + 10_000;
    let status = 503;
    while (status !== 200 && Date.now() < deadline) {
      status = (await get(port, "/readyz")).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);

    held!.setConnected(false);
    expect(JSON.parse((await get(port, "/readyz")).body)).toEqual({ ready: false, notReady: ["discord"] });
  });

  it("names the models when no provider answers", { timeout: 30_000 }, async () => {
    const { port } = await start({ OLLAMA_HOST: `http://127.0.0.1:${await unusedPort()}` });
    expect(JSON.parse((await get(port, "/readyz")).body)).toEqual({ ready: false, notReady: ["models"] });
  });

  it("answers 503 stopping from the start of a shutdown, and closes the port at its end", { timeout: 30_000 }, async () => {
    const { app: running, port } = await start({});
    const stopped = running.stop();
    const res = await get(port, "/readyz");
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ ready: false, notReady: ["stopping"] });
    expect((await get(port, "/healthz")).status).toBe(200);
    held!.release();
    await stopped;
    app = undefined;
    await expect(get(port, "/healthz")).rejects.toThrow();
  });

  it("starts no server without PARLEY_HTTP_PORT", async () => {
    const config = loadConfig(botEnv({ OLLAMA_HOST: ollama.url }));
    expect(config.httpPort).toBeUndefined();
    app = await startApp({ config, log: silent, adapters: [] });
    expect(app.health).toBeUndefined();
  });
});
