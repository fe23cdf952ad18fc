/**
 * Hybrid routing's classifier: how hard a message looks, from what can be
 * seen before any model is asked. Its size is its estimated tokens plus
 * `historyWeight` of each token of history and summary sent with it (a
 * question deep in a long conversation asks the model to keep all that in
 * mind). A message is
 *
 * - `complex` when a complex pattern matches it (code, a stack trace,
 *   step-by-step reasoning, analysis, writing a program or a long text), or
 *   its size reaches `complexMinTokens` (a pasted document, a deep
 *   conversation);
 * - else `simple` when a simple pattern matches (greetings, thanks, yes/no)
 *   or its size is at most `simpleMaxTokens`;
 * - else `medium`.
 *
 * Every decision comes with its reasons, in words, for `parley route`.
 */
import { estimateTokens } from "../chat/tokens.js";

export type ComplexityClass = "simple" | "medium" | "complex";

export interface ComplexityRules {
  /** Messages of at most this many tokens are simple (unless a complex pattern matches). */
  simpleMaxTokens: number;
  /** A message whose size (its tokens plus its history's, weighted) reaches this is complex. */
  complexMinTokens: number;
  /** What one token of history counts for, against one of the message (0–1). */
  historyWeight: number;
  simplePatterns: readonly RegExp[];
  complexPatterns: readonly RegExp[];
}

export interface Complexity {
  class: ComplexityClass;
  /** Why, in a few words each: `matches /step by step/`, `12 tokens, at most simpleMaxTokens (64)`. */
  reasons: string[];
  /** Estimated tokens of the message alone. */
  tokens: number;
  /** Estimated tokens of the history sent with it. */
  historyTokens: number;
}

/** Greetings, thanks and one-word replies: a small model answers them as well as any. */
export const defaultSimplePatterns: readonly string[] = [
  String.raw`^\W*(hi|hello|hey|hiya|howdy|yo|good (morning|afternoon|evening|night)|gm|gn)\b[\s\S]{0,40}$`,
  String.raw`^\W*(thanks|thank you|thx|ty|cheers|ok|okay|cool|nice|great|got it|bye|goodbye|see you|lol|haha)\W*$`,
  String.raw`^\W*(yes|no|yep|nope|sure|maybe)\W*$`,
];

/** Code, errors, reasoning and long writing: worth a stronger model. */
export const defaultComplexPatterns: readonly string[] = [
  "```",
  String.raw`Traceback \(most recent call last\)|\bat [\w.$<>]+ \(.*:\d+:\d+\)|\b(Error|Exception):\s`,
  String.raw`\b(def|fn|func|function)\s+\w+\s*\(|\bclass\s+\w+\s*[:{(]|#include\s*<|\bSELECT\b[\s\S]+\bFROM\b|=>\s*\{`,
  String.raw`\bstep[- ]by[- ]step\b|\b(prove|derive)\b|\bexplain (why|how)\b|\bwhy does\b`,
  String.raw`\b(analy[sz]e|compare|contrast|evaluate|critique|pros and cons|trade-?offs?)\b`,
  String.raw`\b(debug|refactor|optimi[sz]e|implement)\b|\bwrite (a|an|the|me a|me an) (\w+ )?(function|program|script|class|query|test|essay|story|report|article|letter)\b`,
];

/** Compiles patterns as the routing rules are: case-insensitive, Unicode. */
export function compilePatterns(sources: readonly string[]): RegExp[] {
  return sources.map((source) => new RegExp(source, "iu"));
}

/** Classifies `text`, sent with `historyTokens` of history (see the file's comment). */
export function classify(text: string, historyTokens: number, rules: ComplexityRules): Complexity {
  const tokens = estimateTokens(text);
  const result = (cls: ComplexityClass, ...reasons: string[]): Complexity => ({ class: cls, reasons, tokens, historyTokens });
  const complexPattern = rules.complexPatterns.find((p) => p.test(text));
  if (complexPattern) return result("complex", `matches /${complexPattern.source}/`);
  const simplePattern = rules.simplePatterns.find((p) => p.test(text));
  if (simplePattern) return result("simple", `matches /${simplePattern.source}/`);
  const size = Math.round(tokens + historyTokens * rules.historyWeight);
  const measured =
    historyTokens > 0 && rules.historyWeight > 0
      ? `${count(tokens)} tokens + ${count(historyTokens)} of history × ${rules.historyWeight} = ${count(size)}`
      : `${count(tokens)} tokens`;
  if (size >= rules.complexMinTokens) return result("complex", `${measured}: at least complexMinTokens (${count(rules.complexMinTokens)})`);
  if (size <= rules.simpleMaxTokens) return result("simple", `${measured}: at most simpleMaxTokens (${count(rules.simpleMaxTokens)})`);
  return result("medium", `${measured}: between simpleMaxTokens (${count(rules.simpleMaxTokens)}) and complexMinTokens (${count(rules.complexMinTokens)})`);
}

function count(n: number): string {
  return n.toLocaleString("en");
}
