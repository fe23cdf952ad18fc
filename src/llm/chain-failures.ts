/**
 * What the user is told when models of the fallback chain fail: why a
 * provider on cool-down is skipped, the note under an answer a fallback
 * model gave, and the error when no model of the chain could answer.
 */
import { ParleyError } from "../core/errors.js";
import { targetName, type ModelTarget } from "./setup.js";
import type { FallbackNote } from "./types.js";

/** One model of the chain that did not answer, and why. */
export interface Failure {
  target: ModelTarget;
  error: ParleyError;
  /** The fallback note's few words when the error's code does not say it (`cannot see images`). */
  note?: string;
}

/** A provider skipped while on cool-down, told in the words of the failure that put it there. */
export function coolingDown(provider: string, lastProblem: ParleyError | undefined, waitMs: number): ParleyError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const code = lastProblem?.code ?? "provider_unavailable";
  const message =
    code === "provider_rate_limited"
      ? `The ${provider} model server is rate limiting us; try again in ${seconds} s.`
      : `${lastProblem?.userMessage ?? `The ${provider} model server failed repeatedly.`} I'll try it again in ${seconds} s.`;
  return new ParleyError(code, message, {
    retryable: true,
    retryAfterMs: waitMs,
    detail: `${provider}: skipped for ${seconds} s after repeated failures`,
  });
}

/** A model of the chain skipped because the messages carry images it cannot take. */
export function cannotSee(target: ModelTarget): Failure {
  const name = targetName(target);
  return {
    target,
    error: new ParleyError("bad_input", `The model ${name} cannot see images.`, { detail: `${name}: skipped, the messages carry images and it cannot see` }),
    note: "cannot see images",
  };
}

/** Why a model did not answer, in the few words of a fallback note. */
function reasonOf(error: ParleyError): string {
  if (error.busy) return "was busy with other answers";
  switch (error.code) {
    case "model_not_found":
      return "was not found";
    case "provider_auth":
      return "refused our API key";
    case "provider_rate_limited":
      return "was rate limited";
    case "provider_bad_request":
      return "refused the request";
    case "provider_bad_response":
      return "sent an unreadable answer";
    default:
      return "was unavailable";
  }
}

/** The note shown under an answer that a fallback model gave. */
export function noteFor(failure: Failure): FallbackNote {
  return { from: targetName(failure.target), reason: failure.note ?? reasonOf(failure.error) };
}

/** One model: its own error. Several: each model's reason, so the user sees the whole chain failed. */
export function giveUp(failures: Failure[]): ParleyError {
  const last = new Map<string, Failure>();
  for (const f of failures) last.set(targetName(f.target), f);
  const distinct = [...last.values()];
  if (distinct.length === 1) return distinct[0]!.error;
  const lines = distinct.map((f) => `• ${targetName(f.target)}: ${f.error.userMessage}`);
  const first = distinct[0]!.error;
  return new ParleyError(first.code, `No model could answer:\n${lines.join("\n")}`, {
    cause: first,
    retryable: distinct.some((f) => f.error.retryable),
    detail: distinct.map((f) => `${targetName(f.target)}: ${f.error.message}`).join("; "),
  });
}
