/**
 * Discord's failures, converted where they enter: the REST errors of
 * discord.js become a `ParleyError` whose detail names the Discord error code
 * and status, never the URL (an interaction's URL carries its token) nor the
 * request body.
 */
import { DiscordAPIError, HTTPError } from "discord.js";
import { ParleyError } from "../../core/errors.js";

/** `action` says what we tried, for the log: "send a message", "edit the answer". */
export function fromDiscordError(error: unknown, action: string): ParleyError {
  if (error instanceof ParleyError) return error;
  if (error instanceof DiscordAPIError) {
    return new ParleyError("platform_error", "Discord did not accept my answer.", {
      retryable: error.status >= 500,
      detail: `Discord refused to ${action}: error ${String(error.code)} (HTTP ${error.status}, ${error.method.toUpperCase()}): ${error.message}`,
    });
  }
  if (error instanceof HTTPError) {
    return new ParleyError("platform_error", "Discord is not answering right now.", {
      retryable: true,
      detail: `Discord failed to ${action}: HTTP ${error.status} ${error.method.toUpperCase()}`,
    });
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new ParleyError("platform_error", "I could not reach Discord.", {
    retryable: true,
    detail: `Could not ${action} on Discord: ${name}: ${reasonOf(error)}`,
  });
}

/**
 * An error's message for a log line. Logged instead of the error itself,
 * whose fields (a REST error's `url`) may hold an interaction's token.
 */
export function reasonOf(error: unknown): string {
  return stripUrls(error instanceof Error ? error.message : String(error));
}

/** Network errors may quote the request URL, which for interactions contains a token. */
function stripUrls(text: string): string {
  return text.replace(/https?:\/\/\S+/g, "<url>");
}
