/** Drains a provider's stream, keeping what arrived before a failure. */
import type { ChatDelta } from "../../src/llm/types.js";

export interface Collected {
  /** The text deltas, in order. */
  texts: string[];
  text: string;
  done?: Extract<ChatDelta, { type: "done" }>;
  /** What the stream threw, if it did. */
  error?: unknown;
  elapsedMs: number;
}

export async function collect(
  stream: AsyncIterable<ChatDelta>,
  onDelta?: (delta: ChatDelta) => Promise<void> | void,
): Promise<Collected> {
  const started = performance.now();
  const out: Collected = { texts: [], text: "", elapsedMs: 0 };
  try {
    for await (const delta of stream) {
      if (delta.type === "text") out.texts.push(delta.text);
      else out.done = delta;
      await onDelta?.(delta);
    }
  } catch (error) {
    out.error = error;
  }
  out.text = out.texts.join("");
  out.elapsedMs = performance.now() - started;
  return out;
}
