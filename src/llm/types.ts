/** The provider-neutral shape of a chat call. */

/** An image sent with a message, as its bytes. */
export interface ChatImage {
  /** `image/png`, `image/jpeg`, `image/webp`, `image/gif`. */
  mimeType: string;
  data: Buffer;
  /** The file name as the platform gave it, for logs and placeholders. */
  name?: string;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
  /**
   * Images the message carries (user messages). Only models that can see
   * are sent them: the router skips the others (`ModelRouter.canSee`).
   */
  images?: ChatImage[];
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** 0–2; the provider's default when absent. */
  temperature?: number;
  /** Ollama only: how long the model stays loaded (`30m`, `0`, seconds). */
  keepAlive?: string | number;
}

/** Token counts as the provider itself reported them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Set by the router when the model that answered is not the one chosen first. */
export interface FallbackNote {
  /** `provider/model` chosen first. */
  from: string;
  /** Why it did not answer, in a few words: `was unavailable`, `is not installed`... */
  reason: string;
}

/** A piece of a streamed answer; the last one has `done` and the usage. */
export type ChatDelta =
  | { type: "text"; text: string }
  | {
      type: "done";
      /** The model as the server named it (`llama3.2:latest`, `gpt-4o-mini-2024-07-18`). */
      model: string;
      usage?: TokenUsage;
      /** Router only: `provider/model` as configured, which answered. */
      target?: string;
      /** Router only: present when a fallback answered. */
      fallback?: FallbackNote;
    };

/** One model server, spoken to through its own client package. */
export interface LlmProvider {
  /** The configured name, e.g. `ollama`, `groq`, `local-gpu`. */
  readonly name: string;
  readonly kind: "ollama" | "openai" | "anthropic" | "embedded";
  /**
   * Streams an answer. Throws `ParleyError` (provider_* / model_not_found /
   * stream_cut) on failure, converted from the client's own errors. Honors
   * `signal` and its own timeout (`timeoutMs` of its config).
   */
  chat(req: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatDelta>;
  /** The models the server has (`/api/tags`, `/v1/models`; Anthropic's `/v1/models`, every page). */
  models(signal?: AbortSignal): Promise<string[]>;
  /** Ollama only: unloads a model from memory now (`keep_alive: 0`). Throws `ParleyError`. */
  unload?(model: string, signal?: AbortSignal): Promise<void>;
  /**
   * Ollama only: the context window a call to `model` gets, in tokens
   * (`num_ctx`), or undefined when not known. Never throws.
   */
  contextTokens?(model: string, signal?: AbortSignal): Promise<number | undefined>;
  /**
   * Whether `model` takes images, as far as the server or the model's name
   * tells: Ollama's `/api/show` capabilities, a built-in list of well-known
   * hosted names. Undefined when not known. Never throws.
   */
  canSee?(model: string, signal?: AbortSignal): Promise<boolean | undefined>;
}
