/**
 * The health server on `PARLEY_HTTP_PORT`: `GET /healthz` answers 200 while
 * the process runs (a container's HEALTHCHECK); `GET /readyz` answers 200
 * when the store, the adapters and at least one model provider are there,
 * else 503 with a short JSON body naming what is not (a load balancer's or
 * an orchestrator's readiness probe), and 503 once the bot is stopping;
 * `GET /metrics` answers Prometheus's scrape when metrics are given.
 * Plain node:http: three routes need no framework.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { serveMetrics, type MetricsSource } from "./metrics.js";

/** What `/readyz` asks. Each check may take a moment; none may throw (a throw counts as not ready). */
export interface ReadinessChecks {
  /** Whether the store answers. */
  store(): Promise<boolean>;
  /** Platforms whose adapter is not connected; empty when all are. */
  adaptersNotReady(): string[];
  /** Whether at least one model provider answers; asked at most once per `modelCheckCacheMs`. */
  models(): Promise<boolean>;
}

export interface HealthServerOptions {
  port: number;
  /** @defaultValue `0.0.0.0` */
  host?: string;
  checks: ReadinessChecks;
  log: Logger;
  /** How long a model providers' answer is reused, in milliseconds: probes must not load the model servers. @defaultValue 10_000 */
  modelCheckCacheMs?: number;
  /** What `GET /metrics` serves; without it `/metrics` is 404. */
  metrics?: MetricsSource;
}

export interface HealthServer {
  /** The port it listens on (the one asked for, or the one given for port 0). */
  readonly port: number;
  /** From now on `/readyz` answers 503 `stopping`, so no new traffic is sent here. */
  stopping(): void;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** Starts listening; rejects when the port cannot be bound (taken, not allowed). */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { checks, log } = options;
  const modelsAnswer = cached(checks.models, options.modelCheckCacheMs ?? 10_000);
  let stopping = false;

  async function notReady(): Promise<string[]> {
    if (stopping) return ["stopping"];
    const [store, models] = await Promise.all([orFalse(checks.store), orFalse(modelsAnswer)]);
    const missing: string[] = [];
    if (!store) missing.push("store");
    for (const platform of checks.adaptersNotReady()) missing.push(platform);
    if (!models) missing.push("models");
    return missing;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n", { allow: "GET, HEAD" });
    if (path === "/healthz") return send(res, 200, "text/plain", "ok\n");
    // Scraped while draining too: the last answers' counts are worth having.
    if (path === "/metrics" && options.metrics) return serveMetrics(options.metrics, res);
    if (path === "/readyz") {
      const missing = await notReady();
      if (missing.length === 0) return send(res, 200, "application/json", `${JSON.stringify({ ready: true })}\n`);
      return send(res, 503, "application/json", `${JSON.stringify({ ready: false, notReady: missing })}\n`);
    }
    send(res, 404, "text/plain", "not found\n");
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, "health server: request failed");
      if (!res.headersSent) send(res, 500, "text/plain", "error\n");
    });
  });
  const host = options.host ?? "0.0.0.0";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, host }, options.metrics ? "health server listening (/healthz, /readyz, /metrics)" : "health server listening (/healthz, /readyz)");

  return {
    port,
    stopping() {
      stopping = true;
    },
    close() {
      stopping = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": `${type}; charset=utf-8`, "cache-control": "no-store", ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

async function orFalse(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch {
    return false;
  }
}

/** `ask`, its answer reused for `forMs`; callers meanwhile share the one question in flight. */
function cached(ask: () => Promise<boolean>, forMs: number): () => Promise<boolean> {
  let answer: Promise<boolean> | undefined;
  let askedAt = -Infinity;
  return () => {
    if (!answer || Date.now() - askedAt >= forMs) {
      askedAt = Date.now();
      answer = orFalse(ask);
    }
    return answer;
  };
}
