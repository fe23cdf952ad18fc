/**
 * A download's progress on a terminal: one bar redrawn in place on a TTY,
 * a plain line at every tenth of the way elsewhere (logs, CI, a pipe).
 */

/** Where a download stands; reported after every piece written to disk. */
export interface DownloadProgress {
  /** Bytes of the file on disk now, those of an earlier interrupted run included. */
  downloadedBytes: number;
  /** The file's whole size as the server announced it; undefined when it did not say. */
  totalBytes?: number;
  /** Bytes already on disk from an earlier run when this one started (0 for a fresh download). */
  resumedFromBytes: number;
}

/** Shows a download's progress; `finish` ends the line. */
export interface ProgressDisplay {
  update(progress: DownloadProgress): void;
  /** Draws the last state (on a TTY) and ends the line. Safe to call more than once. */
  finish(): void;
}

export interface ProgressDisplayOptions {
  /** Redraw in place. @defaultValue the stream's own `isTTY` */
  tty?: boolean;
  /** The clock for speed and time left, in milliseconds. @defaultValue `Date.now` */
  now?: () => number;
  /** Shortest time between two redraws on a TTY, in milliseconds. @defaultValue 100 */
  redrawEveryMs?: number;
  /** Width of the bar in characters, on a TTY. @defaultValue 24 */
  barWidth?: number;
}

/** Steps of the plain (non-TTY) display, in percent. */
const PLAIN_STEP_PERCENT = 10;

/** A display of a download's progress on `out`. */
export function progressDisplay(out: NodeJS.WritableStream & { isTTY?: boolean }, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const tty = options.tty ?? out.isTTY === true;
  const now = options.now ?? Date.now;
  const redrawEveryMs = options.redrawEveryMs ?? 100;
  const barWidth = options.barWidth ?? 24;
  const startedAt = now();
  let last: DownloadProgress | undefined;
  let lastDrawAt = -Infinity;
  let drawnSteps = -1;
  let finished = false;

  // Speed counts only this run's bytes: a resumed download's old bytes took no time now.
  const describe = (p: DownloadProgress): { done: string; percent?: number; speed?: string; left?: string } => {
    const elapsedSec = (now() - startedAt) / 1000;
    const bytesPerSec = elapsedSec > 0 ? (p.downloadedBytes - p.resumedFromBytes) / elapsedSec : 0;
    const total = p.totalBytes;
    const percent = total !== undefined && total > 0 ? Math.min(100, Math.floor((p.downloadedBytes / total) * 100)) : undefined;
    const speed = bytesPerSec > 0 ? `${formatBytes(bytesPerSec)}/s` : undefined;
    const left =
      total !== undefined && bytesPerSec > 0 && p.downloadedBytes < total
        ? `${formatDuration((total - p.downloadedBytes) / bytesPerSec)} left`
        : undefined;
    const done = total !== undefined ? `${formatBytes(p.downloadedBytes)} / ${formatBytes(total)}` : formatBytes(p.downloadedBytes);
    return { done, percent, speed, left };
  };

  const drawTty = (p: DownloadProgress) => {
    const d = describe(p);
    const filled = d.percent === undefined ? 0 : Math.round((d.percent / 100) * barWidth);
    const bar = d.percent === undefined ? "" : `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] `;
    const parts = [d.done, d.percent === undefined ? undefined : `${d.percent}%`, d.speed, d.left].filter((x) => x !== undefined);
    // \r back to the line's start, ESC[K clears what a longer earlier line left.
    out.write(`\r${bar}${parts.join("  ")}\x1b[K`);
    lastDrawAt = now();
  };

  const drawPlain = (p: DownloadProgress) => {
    const d = describe(p);
    const parts = [`${d.done}${d.percent === undefined ? "" : ` (${d.percent}%)`}`, d.speed, d.left].filter((x) => x !== undefined);
    out.write(`${parts.join(", ")}\n`);
  };

  return {
    update(p) {
      if (finished) return;
      last = p;
      if (tty) {
        if (now() - lastDrawAt >= redrawEveryMs) drawTty(p);
        return;
      }
      if (p.totalBytes === undefined || p.totalBytes <= 0) return;
      const steps = Math.floor((Math.min(p.downloadedBytes, p.totalBytes) / p.totalBytes) * (100 / PLAIN_STEP_PERCENT));
      if (steps > drawnSteps) {
        drawnSteps = steps;
        drawPlain(p);
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      if (tty) {
        if (last) {
          drawTty(last);
          out.write("\n");
        }
        return;
      }
      // The last step may not have been a tenth (no size announced, or a download that stopped).
      if (last && (last.totalBytes === undefined || last.downloadedBytes < last.totalBytes)) drawPlain(last);
    },
  };
}

/** `986.0 MB`, `12.3 kB`, `512 B`: decimal units, as download sites show them. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `45 s`, `3 min 20 s`, `1 h 5 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
