import type { Memory } from "./types.js";

/**
 * A small lexical ranking for a channel's memories (at most a few thousand
 * short facts): words are lowercased, stripped of accents and punctuation,
 * stop words dropped and plural/verb endings trimmed; a memory scores for
 * each query word it contains (full credit for the same word, partial for a
 * shared prefix such as `deploy`/`deployment`), rarer words weighing more.
 * Equal scores go to the newer memory.
 *
 * @param memories - oldest first: all of a channel's memories, or all those
 *   that contain a query word or a word sharing a prefix with one (what the
 *   search index finds); either way the ranking is the same.
 * @param total - how many memories the channel has, for the rarity of words
 *   (when `memories` is the index's candidates only). @defaultValue memories.length
 */
export function rankMemories(memories: readonly Memory[], query: string, limit: number, total = memories.length): Memory[] {
  if (limit <= 0) return [];
  const queryWords = [...new Set(words(query))];
  const newestFirst = [...memories].reverse().sort((a, b) => b.createdAt - a.createdAt);
  if (queryWords.length === 0) return newestFirst.slice(0, limit);

  // strengths[d][w]: how well document d matches query word w, worked out once for the weights and the scores.
  const strengths = newestFirst.map((memory) => {
    const documentWords = wordSetOf(memory.text);
    return queryWords.map((word) => matchStrength(word, documentWords));
  });
  const weights = queryWords.map((_, w) => {
    const containing = strengths.filter((row) => row[w]! > 0).length;
    return containing === 0 ? 0 : 1 + Math.log(Math.max(total, newestFirst.length) / containing);
  });
  return newestFirst
    .map((memory, d) => ({
      memory,
      score: strengths[d]!.reduce((sum, strength, w) => sum + weights[w]! * strength, 0),
    }))
    .filter((scored) => scored.score > 0)
    // Array.prototype.sort is stable: equal scores keep newest-first order.
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
    .map((scored) => scored.memory);
}

/** Word sets of memories ranked lately: a channel's matching memories come up again message after message. */
const wordSets = new Map<string, ReadonlySet<string>>();
/** Texts whose word sets are kept (a few MB at most: memories are short). */
const maxWordSets = 10_000;

function wordSetOf(text: string): ReadonlySet<string> {
  let found = wordSets.get(text);
  if (found) return found;
  found = new Set(words(text));
  // Past the bound the oldest entry goes: a Map iterates in insertion order.
  if (wordSets.size >= maxWordSets) wordSets.delete(wordSets.keys().next().value!);
  wordSets.set(text, found);
  return found;
}

/** 1 for the same word, 0.5 when one is a prefix (3+ letters) of the other, else 0. */
function matchStrength(word: string, documentWords: ReadonlySet<string>): number {
  if (documentWords.has(word)) return 1;
  if (word.length < 3) return 0;
  for (const other of documentWords) {
    if (other.length >= 3 && (other.startsWith(word) || word.startsWith(other))) return 0.5;
  }
  return 0;
}

/** The normalised content words of a text. */
export function words(text: string): string[] {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/['’]/g, "")
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 0 && !stopWords.has(word))
    .map(stem);
}

/** Trims the commonest English endings, so `servers`/`server` and `deployed`/`deploy` meet. */
function stem(word: string): string {
  if (/^\p{N}+$/u.test(word)) return word;
  if (word.length > 4 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 5 && word.endsWith("ing")) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith("ed")) return word.slice(0, -2);
  if (word.length > 4 && /(ss|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !/(ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

const stopWords = new Set(
  (
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in into is it its " +
    "me my no not of on or our she so than that the their them then there these they this those to too us was we were " +
    "what when where which who whom why will with would you your about just also any all some"
  ).split(" "),
);
