/**
 * The names of every metric Parley exports, in one place: the Grafana
 * dashboard in `deploy/monitoring/` and its test refer to these.
 */
export const metricNames = {
  messages: "parley_messages_total",
  errors: "parley_errors_total",
  limitRefusals: "parley_rate_limit_refusals_total",
  platformRateLimited: "parley_platform_rate_limited_total",
  firstToken: "parley_model_first_token_seconds",
  answer: "parley_model_answer_seconds",
  tokens: "parley_model_tokens_total",
  cost: "parley_model_cost_total",
  modelFailures: "parley_model_call_failures_total",
  streaming: "parley_answers_streaming",
} as const;
