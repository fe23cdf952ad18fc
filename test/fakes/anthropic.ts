/**
 * A wire-level fake of Anthropic's API: `POST /v1/messages` (server-sent
 * events from `message_start` to `message_stop`, or one JSON message) and
 * `GET /v1/models` (paged by `limit` and `after_id`), with Anthropic's error
 * JSON (`{"type":"error","error":{"type","message"}}`), its headers checked
 * (`anthropic-version` on every call; the key in `x-api-key`, or in
 * `Authorization: Bearer` as the official client sends it) and injectable
 * faults. It is as strict about a conversation as Anthropic used to be: no
 * `system` role among the messages, turns alternating from the user's, no
 * empty text.
 *
 * Default answer: `Echo: <last user message>` in word chunks;
 * `input_tokens` = words in `system` and all messages, `output_tokens` =
 * number of chunks (see `defaultAnswer` in `./http.ts`). No artificial delays.
 *
 * ```ts
 * const anthropic = await startFakeAnthropic({ apiKey: "sk-ant-test" });
 * process.env.ANTHROPIC_BASE_URL = anthropic.url;   // no /v1: the client adds it
 * anthropic.setFault({ kind: "529", retryAfterSec: 1 });
 * await anthropic.close();
 * ```
 */
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import {
  FaultSwitch,
  NOT_JSON_BODY,
  breakStream,
  defaultAnswer,
  pause,
  readBody,
  resolveAnswer,
  sendJson,
  sendNotJson,
  startHttpServer,
  type Fault,
  type FaultKind,
  type FakeChatCall,
  type RecordedAnswer,
  type RecordedRequest,
  type Responder,
} from "./http.js";

export { unusedPort, countWords, defaultAnswer } from "./http.js";
export type { Fault, FaultKind, FakeAnswer, FakeChatCall, RecordedRequest, Responder } from "./http.js";

export interface FakeAnthropicOptions {
  /** Models `/v1/models` lists and messages accept. Default `["claude-haiku-5-5"]`. */
  models?: string[];
  /** When set, requests must carry it (`x-api-key`, or `Authorization: Bearer`), else 401. */
  apiKey?: string;
  /** Scripts answers. Default: {@link defaultAnswer}. */
  responder?: Responder;
}

export interface FakeAnthropic {
  /** `http://127.0.0.1:<port>`: what goes into `ANTHROPIC_BASE_URL` (the client adds `/v1`). */
  url: string;
  port: number;
  /** Every request received, in order. Clear with `requests.length = 0`. */
  requests: RecordedRequest[];
  setModels(ids: string[]): void;
  /** Arms a fault (one-shot unless `sticky`); `null` disarms. */
  setFault(fault: Fault | FaultKind | null): void;
  /** Replaces the responder; `null` restores the default echo. */
  setResponder(responder: Responder | null): void;
  close(): Promise<void>;
}

/** Anthropic's `error.type` for each status it answers with. */
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** The words Anthropic uses for each status fault. */
const ERROR_MESSAGES: Record<number, string> = {
  400: "max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens for this model",
  401: "invalid x-api-key",
  429: "This request would exceed the rate limit for your organization of 50 requests per minute.",
  500: "Internal server error",
  529: "Overloaded",
};

/** The status whose `error.type` a streamed error event carries (`errorCode` of a `stream-error-first` fault). */
function typeOfStatus(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

let requestIds = 0;

function apiError(type: string, message: string) {
  return { type: "error", error: { type, message }, request_id: `req_fake${++requestIds}` };
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = apiError(typeOfStatus(status), message);
  sendJson(res, status, body, { "request-id": body.request_id, ...headers });
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The key a request carries, in either of the headers Anthropic reads. */
function keyOf(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string" && apiKey) return apiKey;
  return headers.authorization?.replace(/^Bearer /, "") || undefined;
}

/** A base64 image block as Anthropic takes it: `{type: "image", source: {type: "base64", media_type, data}}`. */
function isImageBlock(block: unknown): boolean {
  const { type, source } = (block ?? {}) as { type?: unknown; source?: { type?: unknown; media_type?: unknown; data?: unknown } };
  return (
    type === "image" &&
    source?.type === "base64" &&
    typeof source.media_type === "string" &&
    ["image/jpeg", "image/png", "image/gif", "image/webp"].includes(source.media_type) &&
    typeof source.data === "string" &&
    source.data !== ""
  );
}

/**
 * Text of a message's or the system prompt's content: a string, or text
 * blocks (and, with `images`, image blocks, which add no text; they stay in `requests`).
 */
function textOf(content: unknown, images = false): string | undefined {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content.map((block) =>
    (block as { type?: unknown }).type === "text" ? (block as { text?: unknown }).text : images && isImageBlock(block) ? "" : undefined,
  );
  return texts.every((t): t is string => typeof t === "string") ? texts.join("") : undefined;
}

/** A user message with an image block is not empty, even without text. */
function hasImageBlock(content: unknown): boolean {
  return Array.isArray(content) && content.some(isImageBlock);
}

/** Why Anthropic would refuse these messages, or undefined when it would take them. */
function refusal(messages: unknown[]): string | undefined {
  if (messages.length === 0) return "messages: at least one message is required";
  let previous: string | undefined;
  for (const [i, raw] of messages.entries()) {
    const { role, content } = (raw ?? {}) as { role?: unknown; content?: unknown };
    if (role === "system") {
      return 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.';
    }
    if (role !== "user" && role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i === 0 && role !== "user") return 'messages: first message must use the "user" role';
    if (role === previous) return `messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`;
    const text = textOf(content, role === "user");
    if (text === undefined) return `messages.${i}.content: Input should be a valid string or a list of text blocks`;
    if (text.trim() === "" && !(role === "user" && hasImageBlock(content))) return `messages.${i}: all messages must have non-empty content`;
    previous = role;
  }
  return undefined;
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  let models = options.models ?? ["claude-haiku-5-5"];
  let responder: Responder | null = options.responder ?? null;
  const faults = new FaultSwitch();
  const requests: RecordedRequest[] = [];
  let messageIds = 0;

  /** Builds the events of one streamed message. */
  function eventMaker(call: FakeChatCall) {
    const id = `msg_fake${++messageIds}`;
    return {
      start: (answer: RecordedAnswer) =>
        sse("message_start", {
          type: "message_start",
          message: {
            id,
            type: "message",
            role: "assistant",
            model: call.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: answer.promptTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
          },
        }) + sse("ping", { type: "ping" }),
      blockStart: (index: number, block: Record<string, unknown>) => sse("content_block_start", { type: "content_block_start", index, content_block: block }),
      delta: (index: number, delta: Record<string, unknown>) => sse("content_block_delta", { type: "content_block_delta", index, delta }),
      blockStop: (index: number) => sse("content_block_stop", { type: "content_block_stop", index }),
      end: (answer: RecordedAnswer) =>
        sse("message_delta", {
          type: "message_delta",
          delta: { stop_reason: "end_turn", stop_sequence: null },
          usage: { output_tokens: answer.completionTokens },
        }) + sse("message_stop", { type: "message_stop" }),
    };
  }

  /** What a stream sends up to and including its first word. */
  function opening(call: FakeChatCall, answer: RecordedAnswer): string {
    const events = eventMaker(call);
    return events.start(answer) + events.blockStart(0, { type: "text", text: "" }) + events.delta(0, { type: "text_delta", text: answer.chunks[0] ?? "" });
  }

  function sendFault(res: ServerResponse, fault: Fault, model: string, firstPiece: string): void {
    switch (fault.kind) {
      case "hang":
        return; // never answer; close() ends the connection
      case "stall":
      case "cut":
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
        return breakStream(res, fault, firstPiece);
      case "not-json":
        if (fault.contentType?.startsWith("text/event-stream")) {
          // Proper SSE framing around a payload that is not JSON.
          res.writeHead(200, { "content-type": fault.contentType });
          return void res.end(`event: message_start\ndata: ${NOT_JSON_BODY.trim()}\n\n`);
        }
        return sendNotJson(res, fault);
      case "stream-error":
        // Anthropic's way of failing mid-answer: an `error` event, then the end.
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
        res.write(firstPiece);
        return void res.end(sse("error", apiError("overloaded_error", fault.message ?? "Overloaded")));
      case "stream-error-first": {
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
        const status = fault.errorCode ?? 529;
        return void res.end(sse("error", apiError(typeOfStatus(status), fault.message ?? ERROR_MESSAGES[status] ?? "error")));
      }
      case "404-model":
      case "400-model":
        return sendError(res, fault.kind === "404-model" ? 404 : 400, fault.message ?? `model: ${model}`, fault.headers);
      case "429":
      case "529": {
        const retryAfter: Record<string, string> = fault.retryAfterSec === null ? {} : { "retry-after": String(fault.retryAfterSec ?? 2) };
        const status = Number(fault.kind);
        return sendError(res, status, fault.message ?? ERROR_MESSAGES[status]!, { ...retryAfter, ...fault.headers });
      }
      default: {
        const status = Number(fault.kind);
        return sendError(res, status, fault.message ?? ERROR_MESSAGES[status] ?? "error", fault.headers);
      }
    }
  }

  async function prepare(call: FakeChatCall, record: RecordedRequest) {
    const prepared = resolveAnswer(call, responder ? await responder(call) : defaultAnswer(call));
    record.answer = prepared.answer;
    return prepared;
  }

  async function message(res: ServerResponse, closing: AbortSignal, record: RecordedRequest): Promise<void> {
    if (typeof record.body !== "object" || record.body === null) {
      return sendError(res, 400, "There was an issue with the format of your request: the body is not JSON");
    }
    const body = record.body as Record<string, unknown>;
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return sendError(res, 400, "model: Field required");
    if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return sendError(res, 400, "max_tokens: Field required");
    const system = body.system === undefined ? "" : textOf(body.system);
    if (system === undefined) return sendError(res, 400, "system: Input should be a valid string or a list of text blocks");
    const raw = Array.isArray(body.messages) ? (body.messages as unknown[]) : undefined;
    if (!raw) return sendError(res, 400, "messages: Field required");
    const refused = refusal(raw);
    if (refused) return sendError(res, 400, refused);

    const messages = raw.map((m) => {
      const { role, content } = m as { role: string; content: unknown };
      return { role, content: textOf(content, role === "user")! };
    });
    // The system prompt counts as input, as Anthropic counts it.
    const call: FakeChatCall = { model, messages: system ? [{ role: "system", content: system }, ...messages] : messages, stream: body.stream === true, body };

    const fault = faults.take(true);
    if (fault) {
      let firstPiece = "";
      if (fault.kind === "cut" || fault.kind === "stall" || fault.kind === "stream-error") {
        // The first word of the answer the fake would have sent, so tests can expect it.
        const { answer: sent } = await prepare(call, record);
        firstPiece = opening(call, sent);
      }
      return sendFault(res, fault, model, firstPiece);
    }
    if (!models.includes(model)) return sendError(res, 404, `model: ${model}`);

    const { answer: sent, chunkDelayMs, thinking } = await prepare(call, record);
    const usage = { input_tokens: sent.promptTokens, output_tokens: sent.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    if (!call.stream) {
      if (!(await pause(chunkDelayMs * sent.chunks.length, closing))) return;
      return sendJson(res, 200, {
        id: `msg_fake${++messageIds}`,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text: sent.text }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage,
      });
    }
    const events = eventMaker(call);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": `req_fake${++requestIds}` });
    res.write(events.start(sent));
    let index = 0;
    if (thinking.length > 0) {
      res.write(events.blockStart(index, { type: "thinking", thinking: "", signature: "" }));
      for (const piece of thinking) {
        if (!(await pause(chunkDelayMs, closing)) || res.destroyed) return;
        res.write(events.delta(index, { type: "thinking_delta", thinking: piece }));
      }
      res.write(events.delta(index, { type: "signature_delta", signature: "c2lnbmF0dXJl" }) + events.blockStop(index));
      index++;
    }
    res.write(events.blockStart(index, { type: "text", text: "" }));
    for (const text of sent.chunks) {
      if (!(await pause(chunkDelayMs, closing)) || res.destroyed) return;
      res.write(events.delta(index, { type: "text_delta", text }));
    }
    res.end(events.blockStop(index) + events.end(sent));
  }

  function modelList(res: ServerResponse, query: URLSearchParams): void {
    const limit = Math.min(1000, Math.max(1, Number(query.get("limit")) || 20));
    const after = query.get("after_id");
    const start = after ? models.indexOf(after) + 1 : 0;
    const page = models.slice(start, start + limit);
    sendJson(res, 200, {
      data: page.map((id) => ({ type: "model", id, display_name: id, created_at: "2026-10-01T00:00:00Z" })),
      has_more: start + limit < models.length,
      first_id: page[0] ?? null,
      last_id: page[page.length - 1] ?? null,
    });
  }

  const server = await startHttpServer(async (req, res, closing) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      headers: req.headers,
      body: await readBody(req),
    };
    requests.push(record);
    const route = `${record.method} ${url.pathname}`;

    if (!req.headers["anthropic-version"]) return sendError(res, 400, "anthropic-version: header is required");
    if (options.apiKey !== undefined) {
      const given = keyOf(req.headers);
      if (!given) return sendError(res, 401, "x-api-key header is required");
      // Echoes the key it got, as a careless proxy might: the provider must keep such text away from users.
      if (given !== options.apiKey) return sendError(res, 401, `invalid x-api-key: ${given}`);
    }

    if (route === "POST /v1/messages") return message(res, closing, record);

    const fault = faults.take(false);
    if (fault) return sendFault(res, fault, "", `{"data":[`);

    if (route === "GET /v1/models") return modelList(res, url.searchParams);
    return sendError(res, 404, `Not found: ${route}`);
  });

  return {
    url: server.url,
    port: server.port,
    requests,
    setModels(ids) {
      models = [...ids];
    },
    setFault(fault) {
      faults.set(fault);
    },
    setResponder(next) {
      responder = next;
    },
    close: () => server.close(),
  };
}
