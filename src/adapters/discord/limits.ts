/** Discord's limit on a message's content, in UTF-16 code units. */
export const DISCORD_MAX_LENGTH = 2000;

/**
 * Least time between two sends or edits into one channel while streaming,
 * in milliseconds: Discord allows 5 message calls per 5 s per channel, so
 * 1.2 s keeps a stream under it with room for the next answer's first message.
 */
export const DEFAULT_EDIT_INTERVAL_MS = 1200;

/** How long start() waits for the gateway to report ready. */
export const READY_TIMEOUT_MS = 30_000;

/** How long stop() lets answers in flight finish before disconnecting. */
export const STOP_GRACE_MS = 15_000;

/** Autocomplete must answer within Discord's 3 s interaction deadline; leave room for the request. */
export const AUTOCOMPLETE_TIMEOUT_MS = 2000;

/** Discord shows "typing…" for about 10 s; renewing every 8 s keeps it steady. */
export const TYPING_RENEW_MS = 8_000;
