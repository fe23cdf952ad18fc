/**
 * The few errors the core knows. Each outside error (provider, store,
 * platform) is converted into one of these where it enters, so the
 * dispatcher can answer with `userMessage` and log the rest.
 */
export type ErrorCode =
  | "provider_unavailable" // refused, DNS, reset: nobody answered
  | "provider_timeout" // no answer within the timeout
  | "provider_error" // 5xx
  | "provider_rate_limited" // 429 from the provider
  | "provider_auth" // 401/403: key missing or wrong
  | "model_not_found" // the model is not installed / does not exist
  | "provider_bad_request" // 400: the provider refused the request
  | "provider_bad_response" // a body that is not what the protocol says
  | "stream_cut" // the answer stopped before its end
  | "store_unavailable" // Redis (or another store) did not answer
  | "stopped" // the person asking stopped the answer, or the bot is shutting down
  | "platform_error" // Discord or Telegram refused or failed a call
  | "rate_limited" // the user is over a rate limit
  | "budget_exceeded" // the user's daily token budget is spent
  | "not_allowed" // moderator-only command
  | "bad_input" // wrong arguments, unknown persona, wrong id
  | "internal";

/** An error the dispatcher can answer: `code` for callers, `userMessage` for the user, `message` (the detail) for logs. */
export class ParleyError extends Error {
  override readonly name = "ParleyError";
  /** One short sentence, safe to show to users: no URL, no key, no stack. */
  readonly userMessage: string;
  /** Worth retrying the same call later (timeouts, 5xx, 429, refused). */
  readonly retryable: boolean;
  /** How long the other side asked us to wait, when it said. */
  readonly retryAfterMs?: number;
  /**
   * The model works but is occupied with other answers (an embedded model's
   * line is full): the next model of the chain answers at once, and the
   * provider is not counted as failing.
   */
  readonly busy: boolean;

  constructor(
    readonly code: ErrorCode,
    userMessage: string,
    options: { cause?: unknown; retryable?: boolean; retryAfterMs?: number; detail?: string; busy?: boolean } = {},
  ) {
    super(options.detail ?? userMessage, { cause: options.cause });
    this.userMessage = userMessage;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.busy = options.busy ?? false;
  }
}

/** Why an answer was stopped before its end: the reason an answer's abort signal carries. */
export const stoppedBy = {
  /** The person asking stopped it (Ctrl-C in the terminal). */
  user: () => new ParleyError("stopped", "stopped"),
  /** The bot is shutting down and the grace period is running out. */
  restart: () => new ParleyError("stopped", "stopped: the bot is restarting"),
};

/** Narrows an unknown caught value to a `ParleyError`. */
export function isParleyError(e: unknown): e is ParleyError {
  return e instanceof ParleyError;
}
