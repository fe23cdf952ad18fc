/**
 * What may be spent on models today: each user's own token budget
 * (`limits.tokensPerDay`) and the caps on the whole bot (`budgets`: all
 * users' tokens and cost, one channel's tokens). Checked before a model is
 * called, against the day's counters plus the prompt about to be sent;
 * crossings of 80% and 100% are seen after each answer, from the counters'
 * new values.
 */
import type { Logger } from "pino";
import type { BudgetsConfig } from "../config/schema.js";
import type { DailyUsage } from "../store/types.js";
import type { Spent, SpentSoFar, UsageLedger } from "../store/usage.js";

/** What one message is about to cost: its prompt, priced for the model that would answer it. */
export interface Estimate {
  tokens: number;
  cost: number;
}

/** The answer of {@link Budgets.check}. */
export type BudgetVerdict =
  | { ok: true }
  /** Refuse the message with this sentence; `spent` names the cap on the bot that is reached (absent: the user's own budget). */
  | { ok: false; message: string; spent?: string }
  /** A cap on the bot is reached and `whenSpent: fallback`: answer with `freeModel`, saying why in `note`. */
  | { ok: "free"; model: string; note: string; spent: string };

export interface BudgetsOptions {
  /** Tokens one user may spend per UTC day; 0 = unlimited (`limits.tokensPerDay`). */
  userTokensPerDay: number;
  caps: BudgetsConfig;
  usage: UsageLedger;
  log: Logger;
  /** Writes an amount of money as `status` shows it. */
  formatCost(amount: number): string;
}

interface Cap {
  /** In the log and in `status`. */
  name: string;
  limit: number;
  /** The counter it caps. */
  of: "total" | "channel";
  measure: keyof SpentSoFar;
  /** The sentence a user gets when it is reached. */
  spent: string;
}

/** The share of a budget after which a log line (and, for a user's own budget, a heads-up) says so. */
const WARN_SHARE = 0.8;

export class Budgets {
  readonly #userTokens: number;
  readonly #caps: Cap[];
  readonly #config: BudgetsConfig;
  readonly #usage: UsageLedger;
  readonly #log: Logger;
  readonly #formatCost: (amount: number) => string;

  constructor(options: BudgetsOptions) {
    const { caps } = options;
    this.#userTokens = options.userTokensPerDay;
    this.#config = caps;
    this.#usage = options.usage;
    this.#log = options.log;
    this.#formatCost = options.formatCost;
    const all: Cap[] = [
      { name: "daily tokens", limit: caps.dailyTokens, of: "total", measure: "tokens", spent: "The bot has used all the tokens it may spend today" },
      { name: "daily cost", limit: caps.dailyCost, of: "total", measure: "cost", spent: "The bot has spent all it may spend on models today" },
      { name: "channel daily tokens", limit: caps.channelDailyTokens, of: "channel", measure: "tokens", spent: "This channel has used all the tokens it may spend today" },
    ];
    this.#caps = all.filter((cap) => cap.limit > 0);
  }

  /** Whether any budget or cap is set: without one there is nothing to read before a message. */
  get active(): boolean {
    return this.#userTokens > 0 || this.#caps.length > 0;
  }

  /** Whether the message may be answered as chosen, by the free model, or not at all. */
  async check(userKey: string, channelKey: string, estimate: Estimate): Promise<BudgetVerdict> {
    if (!this.active) return { ok: true };
    const today = await this.#usage.today(userKey, channelKey);
    if (this.#userTokens > 0) {
      const spent = today.user.promptTokens + today.user.completionTokens;
      if (spent + estimate.tokens > this.#userTokens) return { ok: false, message: overUserBudget(spent, this.#userTokens, estimate.tokens) };
    }
    const reached = this.#caps.find((cap) => spentOn(cap, today[cap.of]) + estimate[cap.measure] > cap.limit);
    if (!reached) return { ok: true };
    if (this.#config.whenSpent === "fallback" && this.#config.freeModel) {
      return { ok: "free", model: this.#config.freeModel, note: `answered by ${this.#config.freeModel}: ${lowerFirst(reached.spent)}`, spent: reached.spent };
    }
    return { ok: false, message: `${reached.spent}; it resets at midnight UTC (in ${untilMidnightUtc()}).`, spent: reached.spent };
  }

  /**
   * After an answer was recorded: logs each cap it took past 80% or 100%,
   * and returns a one-line heads-up when it took the user past 80% of their
   * own daily tokens.
   */
  afterAnswer(spent: Spent, added: Estimate): string | undefined {
    for (const cap of this.#caps) {
      const now = spent[cap.of][cap.measure];
      for (const share of [WARN_SHARE, 1]) {
        if (crossed(now - added[cap.measure], now, share * cap.limit)) {
          this.#log.warn({ cap: cap.name, spent: now, limit: cap.limit }, `${Math.round(share * 100)}% of the ${cap.name} cap is spent`);
        }
      }
    }
    if (this.#userTokens > 0 && crossed(spent.user.tokens - added.tokens, spent.user.tokens, WARN_SHARE * this.#userTokens)) {
      const percent = Math.min(100, Math.floor((100 * spent.user.tokens) / this.#userTokens));
      return `Heads-up: you've used ${percent}% of your ${this.#userTokens.toLocaleString("en")} tokens for today; they reset at midnight UTC (in ${untilMidnightUtc()}).`;
    }
    return undefined;
  }

  /** One line per cap on the bot with what is left today, for `status`; none when no cap is set. */
  async describe(channelKey: string): Promise<string[]> {
    if (this.#caps.length === 0) return [];
    const [total, channel] = await Promise.all([this.#usage.totalToday(), this.#usage.channelToday(channelKey)]);
    const lines = this.#caps.map((cap) => {
      const spent = spentOn(cap, cap.of === "total" ? total : channel);
      const show = cap.measure === "tokens" ? (n: number) => `${n.toLocaleString("en")} tokens` : this.#formatCost;
      const where = cap.of === "channel" ? "this channel" : "the bot";
      return `• ${where}: ${show(Math.max(0, cap.limit - spent))} left of ${show(cap.limit)} today`;
    });
    const then = this.#config.whenSpent === "fallback" ? `then ${this.#config.freeModel} answers` : "then messages are refused";
    return [`Budgets (reset at midnight UTC; ${then}):`, ...lines];
  }
}

/** What a cap measures of a day's counters: tokens, or cost. */
function spentOn(cap: Cap, usage: DailyUsage): number {
  return cap.measure === "tokens" ? usage.promptTokens + usage.completionTokens : usage.cost;
}

function crossed(before: number, after: number, threshold: number): boolean {
  return before < threshold && after >= threshold;
}

/** Why a message does not fit the user's daily token budget. */
function overUserBudget(spent: number, budget: number, needed: number): string {
  const used = `You've used ${spent.toLocaleString("en")} of your ${budget.toLocaleString("en")} tokens for today`;
  const why = spent < budget ? `, and this message needs about ${needed.toLocaleString("en")}` : "";
  return `${used}${why}; the budget resets at midnight UTC (in ${untilMidnightUtc()}).`;
}

/** `5 h 12 min` until the next midnight UTC, when daily budgets reset. */
export function untilMidnightUtc(now = Date.now()): string {
  const midnight = new Date(now);
  midnight.setUTCHours(24, 0, 0, 0);
  const minutes = Math.max(1, Math.ceil((midnight.getTime() - now) / 60_000));
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours} h ${minutes % 60} min` : `${minutes} min`;
}

export function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
