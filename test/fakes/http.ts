/**
 * Shared plumbing for the wire-level fakes of model servers
 * (`ollama.ts`, `openai.ts`): an HTTP server on 127.0.0.1 that closes
 * cleanly, request recording, scripted answers and fault injection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/api/chat`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body; the raw text when it is not JSON; `undefined` when empty. */
  body: unknown;
  /** What the fake answered to a chat call (absent for other calls and for faults). */
  answer?: RecordedAnswer;
}

/** The answer the fake sent, with the token counts it reported. */
export interface RecordedAnswer {
  text: string;
  chunks: string[];
  promptTokens: number;
  completionTokens: number;
}

/** A chat call as responders see it, whichever wire format carried it. */
export interface FakeChatCall {
  model: string;
  messages: { role: string; content: string }[];
  stream: boolean;
  /** The whole parsed request body. */
  body: Record<string, unknown>;
}

/**
 * A scripted answer. `text` alone is split into word chunks; `chunks` is
 * sent as given. Token counts default to the rule of {@link defaultAnswer}.
 */
export interface FakeAnswer {
  text?: string;
  chunks?: string[];
  /** Wait before each chunk, in milliseconds. Default 0. */
  chunkDelayMs?: number;
  /**
   * Reasoning pieces streamed before the answer, each after `chunkDelayMs`,
   * as a thinking model sends them: Ollama `message.thinking` with empty
   * `content`, OpenAI-compatible `delta.reasoning_content`. Not counted.
   */
  thinking?: string[];
  promptTokens?: number;
  completionTokens?: number;
}

/** Scripts the fake's answers; a plain string is the whole answer text. */
export type Responder = (call: FakeChatCall) => FakeAnswer | string | Promise<FakeAnswer | string>;

/**
 * Injected failures:
 * - `400`, `401`, `429`, `500`, `503`, `529`: that status with the server's own error JSON
 *   (`429` and `529`, Anthropic's "overloaded", carry `retry-after`);
 * - `404-model`: the server's "model not found" answer;
 * - `400-model`: an unknown model refused with 400, as OpenRouter and LM Studio do;
 * - `stream-error`: a streamed answer whose first chunk is followed by the
 *   protocol's error object (Ollama `{"error": ...}` line, SSE `data: {"error": {...}}`);
 * - `stream-error-first`: status 200 and the error object as the first line
 *   or event; OpenAI-compatible with `code` set to `errorCode` (OpenRouter's
 *   way once a model was picked);
 * - `hang`: accept the request and never send anything;
 * - `stall`: send the first chunk of a streamed answer, then nothing more;
 * - `cut`: send the first chunk, then destroy the socket;
 * - `not-json`: status 200 with an HTML page (a captive portal or a proxy).
 */
export type FaultKind =
  | "400"
  | "401"
  | "429"
  | "500"
  | "503"
  | "529"
  | "404-model"
  | "400-model"
  | "stream-error"
  | "stream-error-first"
  | "hang"
  | "stall"
  | "cut"
  | "not-json";

export interface Fault {
  kind: FaultKind;
  /** Keep failing until `setFault(null)`. Default false: the fault hits one request only. */
  sticky?: boolean;
  /** `retry-after` header of a `429` (or `529`), in seconds; `null` sends none. Default 2. */
  retryAfterSec?: number | null;
  /** More headers on a status fault (e.g. `x-ratelimit-reset-requests`). */
  headers?: Record<string, string>;
  /** The server's error text for a status or `stream-error` fault, instead of the fake's usual one. */
  message?: string;
  /** `error.code` of a `stream-error-first` fault. Default 502. */
  errorCode?: number;
  /** `content-type` of a `not-json` answer. Default `text/html; charset=utf-8`. */
  contentType?: string;
  /** Which requests fail: `chat` (chat/generate calls, default) or `all`. */
  scope?: "chat" | "all";
}

/** Holds the current fault; a one-shot fault is consumed by the request it hits. */
export class FaultSwitch {
  private current: Fault | null = null;

  set(fault: Fault | FaultKind | null): void {
    this.current = typeof fault === "string" ? { kind: fault } : fault;
  }

  /** The fault for a request of this kind, or null; consumes one-shot faults. */
  take(isChat: boolean): Fault | null {
    const fault = this.current;
    if (!fault) return null;
    if ((fault.scope ?? "chat") === "chat" && !isChat) return null;
    if (!fault.sticky) this.current = null;
    return fault;
  }
}

/** The body of a `not-json` fault: what a captive portal or a proxy sends. */
export const NOT_JSON_BODY = "<!DOCTYPE html><html><body><h1>Please sign in to the network</h1></body></html>\n";

/** Number of whitespace-separated words in all messages: the fakes' prompt token count. */
export function countWords(messages: readonly { content: string }[]): number {
  let words = 0;
  for (const m of messages) words += m.content.split(/\s+/).filter(Boolean).length;
  return words;
}

/** Splits text into word chunks that keep their trailing spaces, so joining them gives the text back. */
export function splitIntoChunks(text: string): string[] {
  const chunks = text.split(/(?<=\s)(?=\S)/);
  return chunks.length > 0 ? chunks : [""];
}

/**
 * The default answer: `Echo: <last user message>`, in word chunks.
 * Reported tokens: prompt = {@link countWords} of all messages, completion =
 * number of chunks.
 */
export function defaultAnswer(call: FakeChatCall): RecordedAnswer {
  const lastUser = [...call.messages].reverse().find((m) => m.role === "user");
  return resolveAnswer(call, `Echo: ${lastUser?.content ?? ""}`).answer;
}

/** Turns a responder's result into the chunks and counts to send. */
export function resolveAnswer(
  call: FakeChatCall,
  scripted: FakeAnswer | string,
): { answer: RecordedAnswer; chunkDelayMs: number; thinking: string[] } {
  const script: FakeAnswer = typeof scripted === "string" ? { text: scripted } : scripted;
  const chunks = script.chunks ?? splitIntoChunks(script.text ?? "");
  return {
    answer: {
      text: chunks.join(""),
      chunks,
      promptTokens: script.promptTokens ?? countWords(call.messages),
      completionTokens: script.completionTokens ?? chunks.length,
    },
    chunkDelayMs: script.chunkDelayMs ?? 0,
    thinking: script.thinking ?? [],
  };
}

/** Reads the body and parses it as JSON when it is JSON. */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendNotJson(res: ServerResponse, fault: Fault): void {
  res.writeHead(200, { "content-type": fault.contentType ?? "text/html; charset=utf-8" });
  res.end(NOT_JSON_BODY);
}

/** Writes the first piece of an answer, then either destroys the socket (`cut`) or goes silent (`stall`). */
export function breakStream(res: ServerResponse, fault: Fault, firstPiece: string): void {
  res.write(firstPiece);
  if (fault.kind === "cut") {
    // Let the first piece reach the client before the connection dies.
    setImmediate(() => res.socket?.destroy());
  }
}

/** A running fake: where it listens and how to stop it. */
export interface FakeHttpServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops listening and ends every connection, hanging ones included. */
  close(): Promise<void>;
  /** Aborts when `close()` starts, so delayed writers stop. */
  closing: AbortSignal;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, closing: AbortSignal) => Promise<void>;

/** Starts an HTTP server on 127.0.0.1, port 0, that answers through `handler`. */
export async function startHttpServer(handler: Handler): Promise<FakeHttpServer> {
  const closingController = new AbortController();
  const closing = closingController.signal;
  const server: Server = createServer((req, res) => {
    handler(req, res, closing).catch((error: unknown) => {
      if (closing.aborted || res.destroyed) return;
      if (!res.headersSent) sendJson(res, 500, { error: `fake server bug: ${String(error)}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    closing,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closingController.abort();
        server.close(() => resolve());
        // Ends hanging and keep-alive connections, which would keep close() waiting.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Waits `ms` unless the server is closing; returns false when it is. */
export async function pause(ms: number, closing: AbortSignal): Promise<boolean> {
  if (ms <= 0) return !closing.aborted;
  try {
    await sleep(ms, undefined, { signal: closing });
    return true;
  } catch {
    return false;
  }
}

/**
 * A port on 127.0.0.1 where nobody listens (bound, then released), for
 * "connection refused" tests.
 */
export async function unusedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
