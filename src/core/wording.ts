/** Small helpers for the sentences commands reply with. */

/** `1 answer`, `2 answers`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
