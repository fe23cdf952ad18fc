/** Turns token counts into money with the configured prices. */
import type { ModelPrice } from "./setup.js";
import type { TokenUsage } from "./types.js";

const PER = 1_000_000;

/** Cost of one answer; 0 when the model has no price. */
export function costOf(price: ModelPrice | undefined, usage: TokenUsage): number {
  if (!price) return 0;
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / PER;
}

/** `$1.25`, `$0.0027`, `0.75 EUR`: cents, or two significant digits below a cent so a few answers still show. */
export function formatCost(cost: number, currency: string): string {
  const amount = cost === 0 || cost >= 0.01 ? cost.toFixed(2) : cost.toPrecision(2);
  return /^[A-Za-z]{2,}$/.test(currency) ? `${amount} ${currency}` : `${currency}${amount}`;
}
