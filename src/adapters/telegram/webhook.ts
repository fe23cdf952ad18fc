/**
 * Webhook mode: a node HTTP server that hands Telegram's POSTs to grammY's
 * `webhookCallback`, which checks the `X-Telegram-Bot-Api-Secret-Token`
 * header (401 when it does not match). Only the path of the public webhook
 * URL is served.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { webhookCallback, type Bot } from "grammy";

export interface WebhookServerOptions {
  /** The public URL Telegram posts to; its path is the one served. */
  url: string;
  secretToken?: string;
  port: number;
  /** @defaultValue all interfaces */
  host?: string;
  /**
   * How long Telegram's request is held while the update is handled, in
   * milliseconds; after that it is answered 200 and handling goes on, so a
   * long answer is never delivered twice. @defaultValue 2_000
   */
  answerWithinMs?: number;
}

export interface WebhookServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on `opts.port` and resolves once listening; `close` stops it. */
export async function startWebhookServer(bot: Bot, opts: WebhookServerOptions): Promise<WebhookServer> {
  const path = new URL(opts.url).pathname;
  const handle = webhookCallback(bot, "http", {
    secretToken: opts.secretToken,
    onTimeout: "return",
    timeoutMilliseconds: opts.answerWithinMs ?? 2_000,
  });
  const server: Server = createServer((req, res) => {
    const requestPath = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "POST" || requestPath !== path) {
      res.writeHead(404).end();
      return;
    }
    handle(req, res).catch(() => {
      // A body that is not JSON: Telegram never sends one, so someone else did.
      if (!res.headersSent) res.writeHead(400).end();
    });
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
