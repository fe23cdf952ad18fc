/**
 * A wire-level fake of an Ollama server: `/api/chat` (NDJSON stream or one
 * JSON object), `/api/generate` (including the `keep_alive: 0` unload),
 * `/api/tags`, `/api/ps`, `/api/show`, `/api/version`, with Ollama's own
 * error bodies (`{"error": "..."}`) and injectable faults.
 *
 * `/api/show` reports each model's trained context length as Ollama does
 * (`model_info["<architecture>.context_length"]`) and its `capabilities`
 * (`vision` for `visionModels`), and every chat call's `options.num_ctx` is
 * kept (`numCtxSent`). Messages' `images` (base64) are kept in `requests`.
 *
 * Default answer: `Echo: <last user message>` in word chunks;
 * `prompt_eval_count` = words in all messages, `eval_count` = number of
 * chunks (see `defaultAnswer` in `./http.ts`). No artificial delays.
 *
 * ```ts
 * const ollama = await startFakeOllama({ models: ["llama3.2:latest"] });
 * process.env.OLLAMA_HOST = ollama.url;
 * ollama.setFault({ kind: "hang" });   // the next chat call never answers
 * await ollama.close();                // also ends hanging connections
 * ```
 */
import type { ServerResponse } from "node:http";
import {
  FaultSwitch,
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

export interface FakeOllamaOptions {
  /** Installed models. Default `["llama3.2:latest"]`; a name without a tag means `:latest`. */
  models?: string[];
  /** Scripts answers. Default: {@link defaultAnswer}. */
  responder?: Responder;
  /** What `/api/version` reports. Default `0.6.5`. */
  version?: string;
  /**
   * Trained context length of models by name, as `/api/show` reports it;
   * a model not listed reports {@link DEFAULT_CONTEXT_LENGTH}.
   */
  contextLengths?: Record<string, number>;
  /**
   * Models whose `/api/show` lists the `vision` capability, as llava and
   * llama3.2-vision do; a name without a tag means `:latest`. Default: none.
   */
  visionModels?: string[];
}

/** What `/api/show` reports for llama3.2 (and, here, for any model not configured). */
export const DEFAULT_CONTEXT_LENGTH = 131_072;

export interface FakeOllama {
  /** `http://127.0.0.1:<port>`: what goes into `OLLAMA_HOST`. */
  url: string;
  port: number;
  /** Every request received, in order. Clear with `requests.length = 0`. */
  requests: RecordedRequest[];
  setModels(names: string[]): void;
  /** Arms a fault (one-shot unless `sticky`); `null` disarms. */
  setFault(fault: Fault | FaultKind | null): void;
  /** Replaces the responder; `null` restores the default echo. */
  setResponder(responder: Responder | null): void;
  /** Models currently loaded (what `/api/ps` lists). */
  loadedModels(): string[];
  /** `options.num_ctx` of every `/api/chat` call since `requests` was last cleared, in order (undefined: not sent). */
  numCtxSent(): Array<number | undefined>;
  close(): Promise<void>;
}

const PULL_HINT = "try pulling it first";

type Field = "message" | "response";

/** `llama3.2` and `llama3.2:latest` are the same model to Ollama. */
function withTag(name: string): string {
  return name.includes(":") ? name : `${name}:latest`;
}

function modelEntry(name: string) {
  const tagged = withTag(name);
  const family = tagged.split(/[.:\d]/)[0] || "llama";
  return {
    name: tagged,
    model: tagged,
    modified_at: "2025-01-01T00:00:00Z",
    size: 2_019_393_189,
    digest: "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
    details: {
      parent_model: "",
      format: "gguf",
      family,
      families: [family],
      parameter_size: "3.2B",
      quantization_level: "Q4_K_M",
    },
  };
}

/** Ollama's own error texts for the status faults. */
const STATUS_ERRORS: Record<string, string> = {
  "400": "invalid options",
  "401": "unauthorized",
  "429": "rate limit exceeded",
  "500": "llama runner process has terminated: exit status 2",
  "503": "server busy, please try again.  maximum pending requests exceeded",
};

/** What Ollama streams when its runner dies mid-answer. */
const STREAM_ERROR = "an error was encountered while running the model: unexpected EOF";

function notFound(model: string): { error: string } {
  // Go's %q quoting, as in Ollama's server/routes.go.
  return { error: `model ${JSON.stringify(model)} not found, ${PULL_HINT}` };
}

function messagesOf(body: Record<string, unknown>): { role: string; content: string }[] {
  const raw = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  return raw.map((m) => {
    const msg = (m ?? {}) as Record<string, unknown>;
    return { role: String(msg.role ?? ""), content: typeof msg.content === "string" ? msg.content : "" };
  });
}

/** Deterministic durations (nanoseconds), proportional to the token counts. */
function finalStats(answer: RecordedAnswer) {
  const promptNs = answer.promptTokens * 1_000_000;
  const evalNs = answer.completionTokens * 2_000_000;
  return {
    total_duration: 1_000_000 + promptNs + evalNs,
    load_duration: 1_000_000,
    prompt_eval_count: answer.promptTokens,
    prompt_eval_duration: promptNs,
    eval_count: answer.completionTokens,
    eval_duration: evalNs,
  };
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  let installed = new Set((options.models ?? ["llama3.2:latest"]).map(withTag));
  const visionModels = new Set((options.visionModels ?? []).map(withTag));
  let responder: Responder | null = options.responder ?? null;
  const loaded = new Set<string>();
  const faults = new FaultSwitch();
  const requests: RecordedRequest[] = [];

  function sendFault(res: ServerResponse, fault: Fault, model: string, firstPiece: string): void {
    switch (fault.kind) {
      case "hang":
        return; // never answer; close() ends the connection
      case "stall":
      case "cut":
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        return breakStream(res, fault, firstPiece);
      case "stream-error":
        // Ollama reports a failure after the stream started as one `{"error": ...}` line.
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(firstPiece);
        return void res.end(`${JSON.stringify({ error: fault.message ?? STREAM_ERROR })}\n`);
      case "stream-error-first":
        // The stream started (status 200), and its first line is the error.
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        return void res.end(`${JSON.stringify({ error: fault.message ?? STREAM_ERROR })}\n`);
      case "not-json":
        return sendNotJson(res, fault);
      case "404-model":
        return sendJson(res, 404, fault.message ? { error: fault.message } : notFound(model), fault.headers);
      case "400-model":
        return sendJson(res, 400, { error: fault.message ?? `model ${JSON.stringify(model)} not found` }, fault.headers);
      case "429": {
        const retryAfter: Record<string, string> = fault.retryAfterSec === null ? {} : { "retry-after": String(fault.retryAfterSec ?? 2) };
        return sendJson(res, 429, { error: fault.message ?? STATUS_ERRORS["429"] }, { ...retryAfter, ...fault.headers });
      }
      default:
        return sendJson(res, Number(fault.kind), { error: fault.message ?? STATUS_ERRORS[fault.kind] ?? "error" }, fault.headers);
    }
  }

  /** One NDJSON line: a chat `message` or a generate `response` piece. */
  function line(call: FakeChatCall, field: Field, content: string, extra: Record<string, unknown>): string {
    const piece = field === "message" ? { message: { role: "assistant", content } } : { response: content };
    return `${JSON.stringify({ model: call.model, created_at: new Date().toISOString(), ...piece, ...extra })}\n`;
  }

  async function prepare(call: FakeChatCall, record: RecordedRequest) {
    const prepared = resolveAnswer(call, responder ? await responder(call) : defaultAnswer(call));
    record.answer = prepared.answer;
    return prepared;
  }

  /** Streams or sends one answer. */
  async function answer(
    res: ServerResponse,
    closing: AbortSignal,
    record: RecordedRequest,
    call: FakeChatCall,
    field: Field,
  ): Promise<void> {
    const { answer: sent, chunkDelayMs, thinking } = await prepare(call, record);
    const final = { done_reason: "stop", done: true, ...finalStats(sent) };
    if (!call.stream) {
      if (!(await pause(chunkDelayMs * sent.chunks.length, closing))) return;
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      res.end(line(call, field, sent.text, final));
      return;
    }
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    for (const piece of thinking) {
      if (!(await pause(chunkDelayMs, closing)) || res.destroyed) return;
      const message = { role: "assistant", content: "", thinking: piece };
      res.write(`${JSON.stringify({ model: call.model, created_at: new Date().toISOString(), message, done: false })}\n`);
    }
    for (const chunk of sent.chunks) {
      if (!(await pause(chunkDelayMs, closing)) || res.destroyed) return;
      res.write(line(call, field, chunk, { done: false }));
    }
    res.end(line(call, field, "", final));
  }

  async function chatLike(
    res: ServerResponse,
    closing: AbortSignal,
    record: RecordedRequest,
    field: Field,
  ): Promise<void> {
    if (typeof record.body !== "object" || record.body === null) {
      return sendJson(res, 400, { error: "invalid request body" });
    }
    const body = record.body as Record<string, unknown>;
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return sendJson(res, 400, { error: "model is required" });
    const messages =
      field === "message"
        ? messagesOf(body)
        : [
            ...(typeof body.system === "string" ? [{ role: "system", content: body.system }] : []),
            { role: "user", content: typeof body.prompt === "string" ? body.prompt : "" },
          ];
    // Ollama streams unless told otherwise.
    const call: FakeChatCall = { model, messages, stream: body.stream !== false, body };

    const fault = faults.take(true);
    if (fault) {
      let firstPiece = "";
      if (fault.kind === "cut" || fault.kind === "stall" || fault.kind === "stream-error") {
        // The first chunk of the answer the fake would have sent, so tests can expect it.
        const { answer: sent } = await prepare(call, record);
        firstPiece = line(call, field, sent.chunks[0] ?? "", { done: false });
      }
      return sendFault(res, fault, model, firstPiece);
    }
    if (!installed.has(withTag(model))) return sendJson(res, 404, notFound(model));

    const unload = body.keep_alive === 0 || body.keep_alive === "0" || body.keep_alive === "0s";
    if (field === "response" && unload && call.messages.at(-1)?.content === "") {
      loaded.delete(withTag(model));
      return sendJson(res, 200, {
        model,
        created_at: new Date().toISOString(),
        response: "",
        done: true,
        done_reason: "unload",
      });
    }
    if (unload) loaded.delete(withTag(model));
    else loaded.add(withTag(model));
    return answer(res, closing, record, call, field);
  }

  const server = await startHttpServer(async (req, res, closing) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path,
      headers: req.headers,
      body: await readBody(req),
    };
    requests.push(record);
    const route = `${record.method} ${path}`;

    if (route === "POST /api/chat") return chatLike(res, closing, record, "message");
    if (route === "POST /api/generate") return chatLike(res, closing, record, "response");

    const fault = faults.take(false);
    if (fault) return sendFault(res, fault, "", "{\"models\":[");

    switch (route) {
      case "GET /":
      case "HEAD /":
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        return void res.end("Ollama is running");
      case "GET /api/version":
        return sendJson(res, 200, { version: options.version ?? "0.6.5" });
      case "GET /api/tags":
        return sendJson(res, 200, { models: [...installed].map(modelEntry) });
      case "GET /api/ps":
        return sendJson(res, 200, {
          models: [...loaded].map((name) => ({
            ...modelEntry(name),
            expires_at: new Date(Date.now() + 5 * 60_000).toISOString(),
            size_vram: 2_019_393_189,
          })),
        });
      case "POST /api/show": {
        const body = (record.body ?? {}) as Record<string, unknown>;
        const model = String(body.model ?? body.name ?? "");
        if (!installed.has(withTag(model))) return sendJson(res, 404, notFound(model));
        const { details } = modelEntry(model);
        const contextLength = options.contextLengths?.[model] ?? options.contextLengths?.[withTag(model)] ?? DEFAULT_CONTEXT_LENGTH;
        // The shape of Ollama 0.6's answer for a llama model, trimmed to the fields clients read.
        return sendJson(res, 200, {
          license: "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
          modelfile: `FROM ${withTag(model)}`,
          parameters: 'stop                           "<|eot_id|>"',
          template: "{{ .Prompt }}",
          details,
          model_info: {
            "general.architecture": details.family,
            "general.parameter_count": 3_212_749_888,
            [`${details.family}.attention.head_count`]: 24,
            [`${details.family}.block_count`]: 28,
            [`${details.family}.context_length`]: contextLength,
            [`${details.family}.embedding_length`]: 3072,
          },
          capabilities: visionModels.has(withTag(model)) ? ["completion", "vision"] : ["completion", "tools"],
          modified_at: "2025-01-01T00:00:00Z",
        });
      }
      default:
        // What Ollama's router (gin) answers for unknown paths.
        res.writeHead(404, { "content-type": "text/plain" });
        return void res.end("404 page not found");
    }
  });

  return {
    url: server.url,
    port: server.port,
    requests,
    setModels(names) {
      installed = new Set(names.map(withTag));
    },
    setFault(fault) {
      faults.set(fault);
    },
    setResponder(next) {
      responder = next;
    },
    loadedModels() {
      return [...loaded];
    },
    numCtxSent() {
      return requests
        .filter((r) => r.path === "/api/chat")
        .map((r) => {
          const numCtx = ((r.body as { options?: { num_ctx?: unknown } } | undefined)?.options ?? {}).num_ctx;
          return typeof numCtx === "number" ? numCtx : undefined;
        });
    },
    close: () => server.close(),
  };
}
