/**
 * One answer as the user sees it: the model's text streamed through, a
 * short note when a fallback model answered, and a mark when the stream was
 * cut after text had been shown. Keeps the model's own text apart from the
 * notes, so only that is stored in the history.
 */
import { isParleyError, type ParleyError } from "../core/errors.js";
import type { ChatDelta } from "./types.js";

type Done = Extract<ChatDelta, { type: "done" }>;

export class AnswerStream {
  /** The model's text only, without notes. */
  text = "";
  /** The router's final delta: usage, the model that answered, the fallback note. Absent when cut. */
  done?: Done;
  /** Why the answer stopped early, when it did after text was shown. */
  cut?: ParleyError;

  constructor(private readonly source: AsyncIterable<ChatDelta>) {}

  /**
   * What to show: the text, then the notes. Failures before any text are
   * rethrown (the router has already retried and fallen back); a failure
   * after text ends the stream with a cut-off mark instead, since the user
   * already reads half an answer.
   */
  async *shown(): AsyncGenerator<string> {
    try {
      for await (const delta of this.source) {
        if (delta.type === "text") {
          this.text += delta.text;
          yield delta.text;
        } else {
          this.done = delta;
        }
      }
    } catch (e) {
      if (!this.text || !isParleyError(e)) throw e;
      this.cut = e;
      yield `${/\s$/.test(this.text) ? "" : " "}…${closeOpenFence(this.text)}\n\n*(${cutOffNote(e)})*`;
      return;
    }
    const fallback = this.done?.fallback;
    if (fallback && this.done?.target && this.text.trim()) {
      yield `${closeOpenFence(this.text)}\n\n*(answered by ${this.done.target} because ${fallback.from} ${fallback.reason})*`;
    }
  }
}

/** A note after an unclosed code block would be shown as code: close the block first. */
function closeOpenFence(text: string): string {
  const fences = text.match(/^ {0,3}(```|~~~)/gm)?.length ?? 0;
  return fences % 2 === 1 ? "\n```" : "";
}

function cutOffNote(e: ParleyError): string {
  if (e.code === "stopped") return e.userMessage;
  const why = e.userMessage.replace(/\.$/, "");
  return `answer cut off: ${why.charAt(0).toLowerCase()}${why.slice(1)}`;
}
