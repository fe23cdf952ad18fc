/**
 * Spaces out the calls a bot makes into one chat, so that a streaming answer
 * (or two answers in two forum topics of one group) never goes over the
 * platform's per-chat flood limit. One pacer per chat, shared by every reply
 * in that chat; chats never wait for each other.
 */
export interface Pacer {
  /** Resolves when the next call may go, and reserves that slot. */
  wait(): Promise<void>;
  /** Records a call that went without waiting (a reply's first message). */
  mark(): void;
}

/** A pacer that lets one call through every `intervalMs` milliseconds. */
export function createPacer(intervalMs: number, now: () => number = Date.now): Pacer {
  let nextSlotAt = 0;
  return {
    wait() {
      const at = Math.max(now(), nextSlotAt);
      nextSlotAt = at + intervalMs;
      const delayMs = at - now();
      return delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, delayMs)) : Promise.resolve();
    },
    mark() {
      nextSlotAt = Math.max(nextSlotAt, now() + intervalMs);
    },
  };
}

/** One pacer per key (a chat id), created on first use. */
export class PacerPool {
  private readonly pacers = new Map<string, Pacer>();

  /** @param intervalMs - spacing for a key; a function picks it per key (private chats vs groups). */
  constructor(private readonly intervalMs: number | ((key: string) => number)) {}

  get(key: string): Pacer {
    let pacer = this.pacers.get(key);
    if (!pacer) {
      const interval = typeof this.intervalMs === "number" ? this.intervalMs : this.intervalMs(key);
      pacer = createPacer(interval);
      this.pacers.set(key, pacer);
    }
    return pacer;
  }
}
