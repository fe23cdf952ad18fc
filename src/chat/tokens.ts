/**
 * A rough token count for budgeting prompts before the provider tells us the
 * real one: about four characters a token for English text, plus a little
 * per message for the role markers.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}
