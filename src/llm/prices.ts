/** Turns token counts into money with the configured prices. */
import type { ModelPrice } from "./setup.js";
import type { TokenUsage } from "./types.js";

const PER = 1_000_000;

/** Cost of one answer; 0 when the model has no price. */
export function costOf(price: ModelPrice | undefined, usage: TokenUsage): number {
  if (!price) return 0;
  return (usage.promptTokens * price.input + usage.completionTokens * price.output) / PER;
}

/** `$0.0123`, `$1.25`: enough digits to see the cost of a few answers. */
export function formatCost(cost: number, currency: string): string {
  const digits = cost === 0 ? 2 : cost < 0.01 ? 4 : cost < 1 ? 3 : 2;
  const amount = cost.toFixed(digits);
  return /^[A-Za-z]{2,}$/.test(currency) ? `${amount} ${currency}` : `${currency}${amount}`;
}
