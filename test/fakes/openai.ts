/**
 * A wire-level fake of an OpenAI-compatible server: `/v1/chat/completions`
 * (SSE stream or one JSON object) and `/v1/models`, with OpenAI's error
 * JSON, optional API key check, injectable faults, and switches that mimic
 * the quirks of compatible servers (Groq, vLLM, llama.cpp, LM Studio).
 * A `not-json` fault with `contentType: "text/event-stream"` sends proper
 * SSE framing around a payload that is not JSON.
 *
 * Default answer: `Echo: <last user message>` in word chunks;
 * `prompt_tokens` = words in all messages, `completion_tokens` = number of
 * chunks (see `defaultAnswer` in `./http.ts`). No artificial delays.
 *
 * ```ts
 * const openai = await startFakeOpenAi({ apiKey: "sk-test" });
 * process.env.OPENAI_BASE_URL = openai.baseURL;   // ends with /v1
 * openai.setFault({ kind: "429", retryAfterSec: 3 });
 * await openai.close();
 * ```
 */
import type { ServerResponse } from "node:http";
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

/** How this server deviates from OpenAI's own streaming. All default to false. */
export interface CompatVariants {
  /** The first delta has no `role` (some llama.cpp builds). */
  noRoleInFirstDelta?: boolean;
  /** Usage rides on the chunk with `finish_reason`, always, instead of a separate chunk. */
  usageInLastChoiceChunk?: boolean;
  /** `stream_options` is ignored: streams never carry usage. */
  ignoreStreamOptions?: boolean;
  /** Unknown fields on chunks, choices and deltas (`x_groq`, `timings`, `reasoning`). */
  extraFields?: boolean;
  /** Usage only in `x_groq.usage` of the last chunk, Groq's own place for it; no `usage` anywhere. */
  usageInXGroq?: boolean;
  /** No chunk carries a `finish_reason`; the stream still ends with `data: [DONE]`. */
  noFinishReason?: boolean;
  /** `stream_options` is refused with 400 as an unknown argument (older Azure OpenAI, strict servers). */
  rejectStreamOptions?: boolean;
}

export interface FakeOpenAiOptions extends CompatVariants {
  /** Models `/v1/models` lists and chat accepts. Default `["gpt-4o-mini"]`. */
  models?: string[];
  /** When set, requests must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** Scripts answers. Default: {@link defaultAnswer}. */
  responder?: Responder;
}

export interface FakeOpenAi {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `http://127.0.0.1:<port>/v1`: what goes into `OPENAI_BASE_URL`. */
  baseURL: string;
  port: number;
  /** Every request received, in order. Clear with `requests.length = 0`. */
  requests: RecordedRequest[];
  setModels(ids: string[]): void;
  /** Arms a fault (one-shot unless `sticky`); `null` disarms. */
  setFault(fault: Fault | FaultKind | null): void;
  /** Replaces the responder; `null` restores the default echo. */
  setResponder(responder: Responder | null): void;
  /** Changes the compatibility quirks for the following requests. */
  setVariants(variants: CompatVariants): void;
  close(): Promise<void>;
}

const CREATED_SEC = 1_735_689_600;

function apiError(message: string, type: string, code: string | null = null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

const STATUS_ERRORS: Record<string, ReturnType<typeof apiError>> = {
  "400": apiError("Invalid value for 'temperature'.", "invalid_request_error", "invalid_value", "temperature"),
  "401": apiError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
  "429": apiError("Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"),
  "500": apiError("The server had an error while processing your request. Sorry about that!", "server_error"),
  "503": apiError("The engine is currently overloaded, please try again later.", "server_error"),
};

/** What OpenAI streams when it fails mid-answer. */
const STREAM_ERROR = "The server had an error while processing your request. Sorry about that!";

function modelNotFound(model: string) {
  return apiError(`The model \`${model}\` does not exist`, "invalid_request_error", "model_not_found");
}

/** A message's text: its string content, or its `text` parts joined (image parts stay in `requests`). */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => ((part as { type?: unknown }).type === "text" ? String((part as { text?: unknown }).text ?? "") : ""))
    .join("");
}

function messagesOf(body: Record<string, unknown>): { role: string; content: string }[] {
  const raw = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  return raw.map((m) => {
    const msg = (m ?? {}) as Record<string, unknown>;
    return { role: String(msg.role ?? ""), content: textOf(msg.content) };
  });
}

function usageOf(answer: RecordedAnswer) {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
  };
}

export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  let models = options.models ?? ["gpt-4o-mini"];
  let responder: Responder | null = options.responder ?? null;
  let variants: CompatVariants = { ...options };
  const faults = new FaultSwitch();
  const requests: RecordedRequest[] = [];
  let completions = 0;

  /** Builds `chat.completion.chunk` events for one stream. */
  function chunkMaker(call: FakeChatCall) {
    const id = `chatcmpl-fake${++completions}`;
    const includeUsage =
      !variants.ignoreStreamOptions &&
      (call.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const extra = variants.extraFields;
    const event = (choices: unknown[], more: Record<string, unknown> = {}) => {
      const chunk = {
        id,
        object: "chat.completion.chunk",
        created: CREATED_SEC,
        model: call.model,
        system_fingerprint: "fp_fake",
        choices,
        // OpenAI sends `usage: null` on every chunk once usage was asked for.
        ...(includeUsage ? { usage: null } : {}),
        ...(extra ? { x_groq: { id: `req_${id}` } } : {}),
        ...more,
      };
      return `data: ${JSON.stringify(chunk)}\n\n`;
    };
    const choice = (delta: Record<string, unknown>, finishReason: string | null) => ({
      index: 0,
      delta: extra ? { ...delta, reasoning: null } : delta,
      logprobs: null,
      finish_reason: finishReason,
      ...(extra ? { stop_reason: null } : {}),
    });
    return {
      includeUsage,
      first: (content: string) =>
        event([choice(variants.noRoleInFirstDelta ? { content } : { role: "assistant", content }, null)]),
      content: (content: string) => event([choice({ content }, null)]),
      reasoning: (text: string) => event([choice({ content: null, reasoning_content: text }, null)]),
      finish: (answer: RecordedAnswer) =>
        event([choice({}, variants.noFinishReason ? null : "stop")], {
          ...(variants.usageInLastChoiceChunk
            ? { usage: usageOf(answer), ...(extra ? { timings: { predicted_n: answer.completionTokens } } : {}) }
            : {}),
          ...(variants.usageInXGroq ? { x_groq: { id: `req_${id}`, usage: { ...usageOf(answer), queue_time: 0.01 } } } : {}),
        }),
      usage: (answer: RecordedAnswer) => event([], { usage: usageOf(answer) }),
    };
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
          return void res.end(`data: ${NOT_JSON_BODY.trim()}\n\ndata: [DONE]\n\n`);
        }
        return sendNotJson(res, fault);
      case "stream-error":
        // An error object inside an otherwise healthy stream (OpenAI, OpenRouter, vLLM).
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
        res.write(firstPiece);
        return void res.end(`data: ${JSON.stringify(apiError(fault.message ?? STREAM_ERROR, "server_error"))}\n\n`);
      case "stream-error-first": {
        res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
        const error = { code: fault.errorCode ?? 502, message: fault.message ?? "Provider returned error", metadata: { provider_name: "Fake" } };
        return void res.end(`: OPENROUTER PROCESSING\n\ndata: ${JSON.stringify({ error })}\n\n`);
      }
      case "404-model":
        return sendJson(res, 404, modelNotFound(model), fault.headers);
      case "400-model":
        // OpenRouter's words for a model it does not know.
        return sendJson(res, 400, apiError(fault.message ?? `${model} is not a valid model ID`, "invalid_request_error"), fault.headers);
      case "429": {
        const retryAfter: Record<string, string> = fault.retryAfterSec === null ? {} : { "retry-after": String(fault.retryAfterSec ?? 2) };
        const body = fault.message ? apiError(fault.message, "requests", "rate_limit_exceeded") : STATUS_ERRORS["429"];
        return sendJson(res, 429, body, { ...retryAfter, ...fault.headers });
      }
      default: {
        const body = fault.message ? apiError(fault.message, "server_error") : STATUS_ERRORS[fault.kind];
        return sendJson(res, Number(fault.kind), body ?? apiError("error", "server_error"), fault.headers);
      }
    }
  }

  async function prepare(call: FakeChatCall, record: RecordedRequest) {
    const prepared = resolveAnswer(call, responder ? await responder(call) : defaultAnswer(call));
    record.answer = prepared.answer;
    return prepared;
  }

  async function completion(res: ServerResponse, closing: AbortSignal, record: RecordedRequest): Promise<void> {
    if (typeof record.body !== "object" || record.body === null) {
      return sendJson(res, 400, apiError("We could not parse the JSON body of your request.", "invalid_request_error"));
    }
    const body = record.body as Record<string, unknown>;
    const model = typeof body.model === "string" ? body.model : "";
    if (!model) return sendJson(res, 400, apiError("you must provide a model parameter", "invalid_request_error"));
    if (!Array.isArray(body.messages)) {
      return sendJson(res, 400, apiError("Missing required parameter: 'messages'.", "invalid_request_error", null, "messages"));
    }
    const call: FakeChatCall = { model, messages: messagesOf(body), stream: body.stream === true, body };
    if (variants.rejectStreamOptions && "stream_options" in body) {
      return sendJson(res, 400, apiError("Unrecognized request argument supplied: stream_options", "invalid_request_error"));
    }

    const fault = faults.take(true);
    if (fault) {
      let firstPiece = "";
      if (fault.kind === "cut" || fault.kind === "stall" || fault.kind === "stream-error") {
        // The first chunk of the answer the fake would have sent, so tests can expect it.
        const { answer: sent } = await prepare(call, record);
        firstPiece = chunkMaker(call).first(sent.chunks[0] ?? "");
      }
      return sendFault(res, fault, model, firstPiece);
    }
    if (!models.includes(model)) return sendJson(res, 404, modelNotFound(model));

    const { answer: sent, chunkDelayMs, thinking } = await prepare(call, record);
    if (!call.stream) {
      if (!(await pause(chunkDelayMs * sent.chunks.length, closing))) return;
      return sendJson(res, 200, {
        id: `chatcmpl-fake${++completions}`,
        object: "chat.completion",
        created: CREATED_SEC,
        model,
        system_fingerprint: "fp_fake",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: sent.text, refusal: null },
            logprobs: null,
            finish_reason: "stop",
          },
        ],
        usage: usageOf(sent),
      });
    }
    const chunks = chunkMaker(call);
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    for (const piece of thinking) {
      if (!(await pause(chunkDelayMs, closing)) || res.destroyed) return;
      res.write(chunks.reasoning(piece));
    }
    for (const [i, text] of sent.chunks.entries()) {
      if (!(await pause(chunkDelayMs, closing)) || res.destroyed) return;
      res.write(i === 0 ? chunks.first(text) : chunks.content(text));
    }
    res.write(chunks.finish(sent));
    if (chunks.includeUsage && !variants.usageInLastChoiceChunk && !variants.usageInXGroq) res.write(chunks.usage(sent));
    res.end("data: [DONE]\n\n");
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

    if (options.apiKey !== undefined) {
      const auth = req.headers.authorization;
      if (!auth) {
        return sendJson(res, 401, apiError("You didn't provide an API key.", "invalid_request_error"));
      }
      if (auth !== `Bearer ${options.apiKey}`) {
        // Echoes the key it got, as a careless compatible server might: the
        // provider must keep such text away from users.
        const given = auth.replace(/^Bearer /, "");
        return sendJson(res, 401, apiError(`Incorrect API key provided: ${given}.`, "invalid_request_error", "invalid_api_key"));
      }
    }

    if (route === "POST /v1/chat/completions") return completion(res, closing, record);

    const fault = faults.take(false);
    if (fault) return sendFault(res, fault, "", `{"object":"list","data":[`);

    if (route === "GET /v1/models") {
      return sendJson(res, 200, {
        object: "list",
        data: models.map((id) => ({ id, object: "model", created: CREATED_SEC, owned_by: "fake" })),
      });
    }
    return sendJson(res, 404, apiError(`Invalid URL (${route})`, "invalid_request_error"));
  });

  return {
    url: server.url,
    baseURL: `${server.url}/v1`,
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
    setVariants(next) {
      variants = { ...next };
    },
    close: () => server.close(),
  };
}
