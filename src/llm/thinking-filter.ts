/**
 * Hides the `<think>…</think>` block a reasoning model writes at the start
 * of its answer when the server does not separate it (deepseek-r1 or qwen3
 * on Ollama without `think`, llama.cpp or LM Studio without a reasoning
 * parser): it is not meant for the reader, and would fill the history.
 */

const OPEN = "<think>";
const CLOSE = "</think>";

export class ThinkingFilter {
  #state: "start" | "thinking" | "after" | "answer" = "start";
  /** Text not yet decided on: a possible opening tag, or the tail of the block. */
  #held = "";

  /** The visible part of the next piece of the answer (often empty while the model thinks). */
  push(text: string): string {
    if (this.#state === "answer") return text;
    this.#held += text;
    if (this.#state === "start") {
      const trimmed = this.#held.trimStart();
      if (OPEN.startsWith(trimmed)) return ""; // still may become `<think>`
      if (!trimmed.startsWith(OPEN)) return this.#release();
      this.#state = "thinking";
      this.#held = trimmed.slice(OPEN.length);
    }
    if (this.#state === "thinking") {
      const end = this.#held.indexOf(CLOSE);
      if (end < 0) {
        // Keep only what could be the start of a closing tag split across pieces.
        this.#held = this.#held.slice(-(CLOSE.length - 1));
        return "";
      }
      this.#held = this.#held.slice(end + CLOSE.length);
      this.#state = "after";
    }
    // The blank lines between the block and the answer are not part of it.
    this.#held = this.#held.trimStart();
    return this.#held ? this.#release() : "";
  }

  /** At the end of the answer: what was held back and is visible after all. */
  flush(): string {
    // A lone `<th` or blank start was the answer; an unclosed block was all thinking.
    return this.#state === "start" ? this.#release() : "";
  }

  #release(): string {
    const out = this.#held;
    this.#held = "";
    this.#state = "answer";
    return out;
  }
}
