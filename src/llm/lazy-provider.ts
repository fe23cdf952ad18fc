/**
 * A provider whose client package is imported at its first call. The
 * OpenAI and Anthropic clients take a quarter and half a second to import:
 * a bot that does not use them, or a CLI command that only reads the
 * configuration, does not pay for them.
 */
import type { ChatDelta, ChatRequest, LlmProvider } from "./types.js";

export function lazyProvider(name: string, kind: LlmProvider["kind"], load: () => Promise<LlmProvider>): LlmProvider {
  let loading: Promise<LlmProvider> | undefined;
  const provider = () => (loading ??= load());
  return {
    name,
    kind,
    async *chat(req: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatDelta> {
      yield* (await provider()).chat(req, signal);
    },
    models: async (signal) => (await provider()).models(signal),
    canSee: async (model, signal) => {
      const loaded = await provider();
      return loaded.canSee ? loaded.canSee(model, signal) : undefined;
    },
  };
}
