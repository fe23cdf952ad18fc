import { words } from "./memory-search.js";

/**
 * The search index of a channel's memories, as names of sets of memory ids:
 * `w:<word>` holds the memories containing the word, `p:<prefix>` those with
 * a word starting with that prefix (3 letters or more; a word shorter than
 * 3 letters is its own only prefix). That is exactly what the ranking
 * needs to find every memory that can score: a query word matches a
 * memory's word when they are equal or one starts with the other
 * (see `rankMemories`), and those memories are the union of `p:<query
 * word>` and `w:<each prefix of the query word>`. Words are indexed by their
 * first {@link indexedChars} characters, which can only widen a lookup: the
 * ranking reads the candidates and keeps the true matches.
 */
export type IndexTerm = `${"w" | "p"}:${string}`;

/** Characters of a word that name its sets: longer words share sets with others of the same start. */
export const indexedChars = 24;
/** Shortest prefix the ranking gives partial credit for. */
const minPrefix = 3;

/** The sets a memory with this text belongs to. */
export function termsOf(text: string): IndexTerm[] {
  const terms = new Set<IndexTerm>();
  for (const word of words(text)) {
    const cut = word.slice(0, indexedChars);
    if (cut.length < minPrefix) terms.add(`p:${cut}`);
    else terms.add(`w:${cut}`);
    for (let length = minPrefix; length <= cut.length; length++) terms.add(`p:${cut.slice(0, length)}`);
  }
  return [...terms];
}

/** The sets whose union holds every memory that can score for this query (none for a query with no words). */
export function lookupTermsOf(query: string): IndexTerm[] {
  const terms = new Set<IndexTerm>();
  for (const word of new Set(words(query))) {
    terms.add(`p:${word.slice(0, indexedChars)}`);
    // Memory words the query word starts with: shorter ones only, equal ones are in `p:` already.
    for (let length = minPrefix; length <= Math.min(word.length - 1, indexedChars); length++) terms.add(`w:${word.slice(0, length)}`);
  }
  return [...terms];
}
