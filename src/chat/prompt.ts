import type { ChatMessage } from "../llm/types.js";
import type { Persona } from "../personas/catalog.js";
import type { HistoryTurn, Memory } from "../store/types.js";
import { estimateTokens } from "./tokens.js";

export interface PromptParts {
  persona: Persona;
  /** Recent turns, oldest first. */
  history: HistoryTurn[];
  memories: Memory[];
  summary?: string;
  /** Shared channels prefix each user turn with its author's name. */
  shared: boolean;
  user: { name: string; text: string };
  /** The message the user replied to (anyone's, the bot's too): what "this" and "that" refer to. */
  replyTo?: { name: string; text: string };
  /** Token budget of the history part. */
  historyTokens: number;
  /**
   * The model's context window in tokens, when known (Ollama's `num_ctx`):
   * the history then also fits in what the window leaves after the system
   * prompt, the new message and room for the answer.
   */
  windowTokens?: number;
}

/**
 * Share of a known window kept for the answer: Ollama counts the answer's
 * tokens in `num_ctx` too, and drops the start of the prompt when it runs out.
 */
const ANSWER_SHARE = 0.25;

/**
 * Builds the messages sent to the model: the persona's prompt with the
 * channel's facts and summary, then as much recent history as fits the
 * budget and the model's window (newest kept), then the new message.
 */
export function buildPrompt(parts: PromptParts): ChatMessage[] {
  let system = parts.persona.prompt;
  if (parts.memories.length > 0) {
    system += "\n\nFacts this channel asked you to remember (use them when relevant):\n";
    system += parts.memories.map((m) => `- ${m.text}`).join("\n");
  }
  if (parts.summary) system += `\n\nSummary of the earlier conversation:\n${parts.summary}`;
  if (parts.shared) {
    system += "\n\nSeveral people talk in this channel; each of their messages starts with the speaker's name.";
  }

  const said = parts.shared ? `${parts.user.name}: ${parts.user.text}` : parts.user.text;
  const userText = parts.replyTo ? `${quoteOf(parts.replyTo)}\n${said}` : said;
  const turns: ChatMessage[] = [];
  // The summary stands for the older turns: it spends the same budget.
  let budget = parts.historyTokens - (parts.summary ? estimateTokens(parts.summary) : 0);
  if (parts.windowTokens !== undefined) {
    const room = Math.floor(parts.windowTokens * (1 - ANSWER_SHARE)) - estimateTokens(system) - estimateTokens(userText);
    budget = Math.min(budget, room);
  }
  for (let i = parts.history.length - 1; i >= 0; i--) {
    const turn = parts.history[i]!;
    const content = turn.role === "user" && parts.shared && turn.author ? `${turn.author}: ${turn.content}` : turn.content;
    budget -= estimateTokens(content);
    if (budget < 0) break;
    turns.push({ role: turn.role, content });
  }
  turns.reverse();
  // A window that opens on an answer has lost its question: drop it.
  while (turns[0]?.role === "assistant") turns.shift();

  return [{ role: "system", content: system }, ...turns, { role: "user", content: userText }];
}

/** Longest part of a replied-to message put in the prompt, in characters. */
const MAX_QUOTE_CHARS = 2_000;

/** `(in reply to Ann: "…")`, as llmcord puts a replied-to message before the question. */
function quoteOf(reply: { name: string; text: string }): string {
  const text = reply.text.trim();
  const quoted = text.length > MAX_QUOTE_CHARS ? `${text.slice(0, MAX_QUOTE_CHARS)}…` : text;
  return `(in reply to ${reply.name}: "${quoted}")`;
}
