/**
 * Webhook mode: a node HTTP server for Telegram's POSTs. It checks the
 * `X-Telegram-Bot-Api-Secret-Token` header (401 when it does not match),
 * hands each update to `receive` and answers 200 once that has taken it
 * (500 when it could not, so Telegram delivers it again later), and 503
 * while the bot drains, so a load balancer sends it to another replica.
 * Only the path of the public webhook URL is served.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Update } from "grammy/types";

export interface WebhookServerOptions {
  /** The public URL Telegram posts to; its path is the one served. */
  url: string;
  secretToken?: string;
  port: number;
  /** @defaultValue all interfaces */
  host?: string;
  /** Takes one update; Telegram is answered 200 when it resolves. */
  receive(update: Update): Promise<void>;
  /** False while the bot drains: updates are answered 503. */
  accepting(): boolean;
}

export interface WebhookServer {
  port: number;
  close(): Promise<void>;
}

/** Telegram's updates are far smaller; anything bigger is not Telegram. */
const MAX_BODY_BYTES = 1_048_576;
const SECRET_HEADER = "x-telegram-bot-api-secret-token";

/** Listens on `opts.port` and resolves once listening; `close` stops it. */
export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const path = new URL(opts.url).pathname;
  const server: Server = createServer((req, res) => {
    const requestPath = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "POST" || requestPath !== path) {
      res.writeHead(404).end();
      return;
    }
    if (!secretMatches(req.headers[SECRET_HEADER], opts.secretToken)) {
      res.writeHead(401).end();
      return;
    }
    if (!opts.accepting()) {
      res.writeHead(503, { "retry-after": "1" }).end();
      return;
    }
    readUpdate(req).then(
      (update) =>
        opts.receive(update).then(
          () => res.writeHead(200).end(),
          () => res.writeHead(500).end(),
        ),
      // A body that is not JSON: Telegram never sends one, so someone else did.
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function secretMatches(given: string | string[] | undefined, expected: string | undefined): boolean {
  if (expected === undefined) return true;
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compared in constant time, so the secret cannot be guessed from response times.
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readUpdate(req: IncomingMessage): Promise<Update> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error("body too large");
    chunks.push(chunk);
  }
  const update = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  if (typeof update !== "object" || update === null || typeof (update as { update_id?: unknown }).update_id !== "number") {
    throw new Error("not an update");
  }
  return update as Update;
}
