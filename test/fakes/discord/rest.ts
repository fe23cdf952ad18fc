/**
 * The fake's HTTP side: Discord's REST API under `/api/v10`. It checks the
 * bot token, applies per-route rate limits, records every request, and hands
 * each route to its handler in `routes-*.ts`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { DiscordErrorAnswer } from "./errors.js";
import { notFound, unauthorized } from "./errors.js";
import type { BucketLimit, RateLimits } from "./rate-limits.js";
import type { DiscordWorld, StoredMessage } from "./world.js";

/** One request as the fake saw it. */
export interface RecordedRequest {
  method: string;
  /** The path after `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body (`allowed_mentions` and all), or undefined. */
  body: unknown;
  status: number;
  /** Epoch milliseconds when the request arrived. */
  atMs: number;
}

export interface RestSettings {
  /** Discord's message length limit. @defaultValue 2000 */
  maxLength: number;
  /** How long after INTERACTION_CREATE a callback is accepted. @defaultValue 3000 */
  interactionDeadlineMs: number;
  /** Per channel, for creating and for editing messages. @defaultValue 5 per 5 s */
  messageBucket: BucketLimit;
  /** Per interaction token, for follow-ups and their edits. @defaultValue 5 per 5 s */
  webhookBucket: BucketLimit;
  /** `GET /gateway/bot`'s recommended shard count. @defaultValue 1 */
  recommendedShards: number;
  /** `session_start_limit.max_concurrency`. @defaultValue 1 */
  maxConcurrency: number;
}

/** What a route handler sees. */
export interface RouteContext {
  world: DiscordWorld;
  settings: RestSettings;
  params: string[];
  query: Record<string, string>;
  body: unknown;
  gatewayUrl(): string;
  /** IDENTIFYs accepted so far, counted against `session_start_limit`. */
  sessionStarts(): number;
  /** Tell the gateway (MESSAGE_CREATE), as Discord echoes the bot's own messages. */
  onMessageCreate(message: StoredMessage): void;
  /** Tell the gateway that the bot left a guild (GUILD_DELETE). */
  onGuildLeave(guildId: string): void;
}

export type RouteAnswer = DiscordErrorAnswer | { status: number; body?: unknown };

export interface Route {
  method: string;
  pattern: RegExp;
  /** Interaction callbacks and webhooks are authorised by their token, not the bot's. */
  noAuth?: boolean;
  /** The rate-limit bucket: the route key and which captured param is the major id. */
  bucket?: { key: string; majorParam: number; limit(settings: RestSettings): BucketLimit };
  handle(ctx: RouteContext): RouteAnswer;
}

export interface RestServer {
  server: Server;
  requests: RecordedRequest[];
}

export function createRestServer(
  world: DiscordWorld,
  routes: readonly Route[],
  settings: RestSettings,
  limits: RateLimits,
  hooks: Pick<RouteContext, "gatewayUrl" | "sessionStarts" | "onMessageCreate" | "onGuildLeave">,
  /** Answers requests outside the API (the CDN's files); returns false for the API's. */
  files?: (req: IncomingMessage, res: ServerResponse) => boolean,
): RestServer {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    if (files?.(req, res)) return;
    void readBody(req).then((raw) => {
      const atMs = Date.now();
      const url = new URL(req.url ?? "/", "http://fake.discord");
      const method = req.method ?? "GET";
      const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10/, "");
      const query = Object.fromEntries(url.searchParams);
      let body: unknown;
      try {
        body = raw.length > 0 ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      const answer = route(method, path, url.pathname, query, body, req.headers.authorization);
      requests.push({ method, path, query, body, status: answer.status, atMs });
      reply(res, answer.status, answer.body, answer.headers);
    });
  });

  function route(
    method: string,
    path: string,
    fullPath: string,
    query: Record<string, string>,
    body: unknown,
    authorization: string | undefined,
  ): { status: number; body?: unknown; headers?: Record<string, string> } {
    if (!fullPath.startsWith("/api/v10/")) return notFound;
    for (const candidate of routes) {
      if (candidate.method !== method) continue;
      const match = candidate.pattern.exec(path);
      if (!match) continue;
      if (!candidate.noAuth && authorization !== `Bot ${world.token}`) return unauthorized;
      const params = match.slice(1);
      const bucket = candidate.bucket;
      const decision = limits.check(
        method,
        path,
        bucket ? { key: bucket.key, majorId: params[bucket.majorParam] ?? "", limit: bucket.limit(settings) } : undefined,
      );
      if (decision.limited) return decision;
      const answer = candidate.handle({ world, settings, params, query, body, ...hooks });
      return { ...answer, headers: decision.headers };
    }
    return notFound;
  }

  return { server, requests };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status === 200 ? 204 : status, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}
