/** What the bot keeps, per channel and per user. */

/** One stored turn of a channel's conversation. */
export interface HistoryTurn {
  role: "user" | "assistant";
  content: string;
  /** Display name of the user who said it (shared channels show who said what). */
  author?: string;
  /** Epoch milliseconds. */
  at: number;
}

/** A fact taught to one channel with `remember`. */
export interface Memory {
  /** Short id shown to users, e.g. `k3f9a`. */
  id: string;
  text: string;
  authorKey: string;
  authorName: string;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** Counters of one user (or channel) for one UTC day. */
export interface DailyUsage {
  /** Messages that called a model (for a model's counters: its answers). */
  requests: number;
  /** Commands that called no model. */
  commands: number;
  promptTokens: number;
  completionTokens: number;
  /** In the currency of the configured prices; 0 without prices. */
  cost: number;
}
