/**
 * The last few latencies of one provider, for the median `status` shows.
 * Small and fixed, so one slow hour ago does not colour the figure now.
 */
export class LatencyWindow {
  readonly #samples: number[] = [];

  /** @param size How many recent samples count. @defaultValue 50 */
  constructor(private readonly size = 50) {}

  add(ms: number): void {
    this.#samples.push(ms);
    if (this.#samples.length > this.size) this.#samples.shift();
  }

  get count(): number {
    return this.#samples.length;
  }

  /** Median in milliseconds, undefined before the first sample. */
  median(): number | undefined {
    if (this.#samples.length === 0) return undefined;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
}
