/** Summaries of timing samples, and the numbers as the tables print them. */

export interface Summary {
  /** Samples summarised. */
  count: number;
  /** Milliseconds. */
  medianMs: number;
  /** 95th percentile, milliseconds (nearest rank). */
  p95Ms: number;
  /** Milliseconds. */
  meanMs: number;
}

/** Median, p95 and mean of `samplesMs`; throws on an empty list, which would mean nothing was measured. */
export function summarise(samplesMs: readonly number[]): Summary {
  if (samplesMs.length === 0) throw new Error("no samples to summarise");
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { count: sorted.length, medianMs: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95), meanMs: mean };
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

export function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

/** A plain-text table: columns padded to their widest cell, numbers right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = (cell: string) => cell === "-" || /^[\d.,]+(×| ms)?$/.test(cell);
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
