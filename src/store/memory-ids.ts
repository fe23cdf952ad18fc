/**
 * A memory's id from its channel's count of memories ever added: a fixed
 * permutation of the count, in base 36, so ids are short (5 characters for
 * the first 60 million of a channel), never repeat, and do not read as
 * small numbers: `forget 1` or `forget 2` typed by mistake hits no memory.
 */

/** Ids of 5, then 6 characters (36^5, 36^6). */
const spaces = [36n ** 5n, 36n ** 6n];
/** Coprime to 36, so multiplying by it permutes each space. */
const multiplier = 7_368_787n;
const offset = 12_345_678n;

/** The id of the `seq`-th memory of a channel (1-based). */
export function memoryId(seq: number): string {
  let n = BigInt(seq);
  for (const [i, size] of spaces.entries()) {
    if (n < size) return ((n * multiplier + offset) % size).toString(36).padStart(5 + i, "0");
    n -= size;
  }
  throw new Error(`memory count ${seq} is past the id space`);
}

/** The count an id was made from (for ordering): the inverse of {@link memoryId}. */
export function memorySeq(id: string): number {
  let before = 0n;
  for (const [i, size] of spaces.entries()) {
    if (id.length === 5 + i) {
      const value = [...id].reduce((sum, ch) => sum * 36n + BigInt(parseInt(ch, 36)), 0n);
      const n = (((value - offset) % size + size) % size * inverse(multiplier, size)) % size;
      return Number(before + n);
    }
    before += size;
  }
  return Number.NaN;
}

const inverses = new Map<bigint, bigint>();

/** `a`'s inverse modulo `m` (extended Euclid). */
function inverse(a: bigint, m: bigint): bigint {
  const known = inverses.get(m);
  if (known !== undefined) return known;
  let [oldR, r] = [a % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  const found = ((oldS % m) + m) % m;
  inverses.set(m, found);
  return found;
}
