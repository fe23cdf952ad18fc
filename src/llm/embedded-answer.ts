/**
 * One answer of the embedded model: Parley's messages in node-llama-cpp's
 * shape, generated on a context sequence of its own, its text pushed from
 * node-llama-cpp's callbacks to a reader, its tokens counted.
 */
import type { ChatHistoryItem, LlamaChat, LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import type { SharedModel } from "./embedded-model.js";
import type { ChatMessage, ChatRequest, TokenUsage } from "./types.js";

/** The model this provider runs, with its context. */
export interface Loaded {
  shared: SharedModel;
  context: LlamaContext;
  /** Most tokens of one answer. */
  maxTokens: number;
  /** Read at load: node-llama-cpp's getters throw once the model is disposed. */
  trainContextTokens: number;
}

/** Parley's messages in node-llama-cpp's shape, ending with the empty model turn to be written. */
function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const items = messages.map((m): ChatHistoryItem => {
    if (m.role === "system") return { type: "system", text: m.content };
    if (m.role === "user") return { type: "user", text: m.content };
    return { type: "model", response: [m.content] };
  });
  items.push({ type: "model", response: [] });
  return items;
}

/**
 * Text pushed by node-llama-cpp's callbacks, read as an async iterable.
 * What arrived while the reader was busy comes out as one piece.
 */
export class TextPipe {
  #pending: string[] = [];
  #ended = false;
  #wake?: () => void;

  push(text: string): void {
    if (!text) return;
    this.#pending.push(text);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    while (true) {
      if (this.#pending.length > 0) {
        const text = this.#pending.join("");
        this.#pending = [];
        yield text;
      } else if (this.#ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    }
  }
}

/** How one generation ended; never a rejection, so that it can be awaited in any `finally`. */
export type Outcome = { ok: true; usage: TokenUsage; endedAt: number } | { ok: false; error: unknown };

/** Tokens of the prompt as the model read it: the context window (old turns dropped if any) rendered, before the answer. */
function promptTokens(l: Loaded, window: ChatHistoryItem[]): number {
  const items = [...window];
  if (items[items.length - 1]?.type === "model") items[items.length - 1] = { type: "model", response: [] };
  return l.shared.chatWrapper.generateContextState({ chatHistory: items }).contextText.tokenize(l.shared.model.tokenizer).length;
}

/** Tokens of the chat template around each message, and at the start, at most (ChatML and its kin use 3–6). */
const TEMPLATE_TOKENS_PER_MESSAGE = 8;

/**
 * The longest this answer may be: `maxTokens`, or less when the prompt
 * leaves less of the context. An answer past the context's end would have
 * node-llama-cpp drop the conversation's start and read the rest again for
 * every further token, which on a small context barely moves. The prompt is
 * counted with the model's tokenizer, message by message, with room for
 * the template (rendering the template itself takes most of a second).
 */
function answerRoom(l: Loaded, req: ChatRequest): number {
  const prompt = req.messages.reduce((sum, m) => sum + l.shared.model.tokenize(m.content).length + TEMPLATE_TOKENS_PER_MESSAGE, TEMPLATE_TOKENS_PER_MESSAGE);
  return Math.max(1, Math.min(l.maxTokens, l.context.contextSize - prompt));
}

/**
 * One answer on a sequence of its own, new for it (nothing of another
 * channel's conversation is in it), disposed once the answer ends.
 */
export async function generate(l: Loaded, req: ChatRequest, signal: AbortSignal, onToken: () => void, text: TextPipe): Promise<Outcome> {
  let sequence: LlamaContextSequence | undefined;
  let session: LlamaChat | undefined;
  try {
    sequence = l.context.getSequence();
    session = new l.shared.lib.LlamaChat({ contextSequence: sequence, chatWrapper: l.shared.chatWrapper });
    const response = await session.generateResponse(toHistory(req.messages), {
      signal,
      maxTokens: answerRoom(l, req),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      // Every token is a sign of life, also one held back (a partial character, a possible stop text).
      onToken,
      onTextChunk: (chunk) => text.push(chunk),
    });
    const usage: TokenUsage = {
      promptTokens: promptTokens(l, response.lastEvaluation.contextWindow),
      // Every token the model produced for this answer (an end-of-turn token it chose included):
      // the sequence is new, so its meter counts this answer only.
      completionTokens: sequence.tokenMeter.usedOutputTokens,
    };
    return { ok: true, usage, endedAt: performance.now() };
  } catch (error) {
    return { ok: false, error };
  } finally {
    session?.dispose();
    sequence?.dispose();
  }
}
