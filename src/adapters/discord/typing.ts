import type { Logger } from "pino";

/** Discord shows "typing…" for about 10 s; renewing every 8 s keeps it steady. */
export const TYPING_RENEW_MS = 8_000;

/**
 * A typing indicator for one reply: shown at once, renewed until `stop()`
 * (the reply's first message, the end of a stream, or the end of handling).
 * Failures only reach the debug log: a missing indicator is no reason to fail
 * an answer.
 */
export class TypingIndicator {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sendTyping: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly renewMs = TYPING_RENEW_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.show();
    this.timer = setInterval(() => this.show(), this.renewMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private show(): void {
    this.sendTyping().catch((error: unknown) => {
      this.log.debug({ reason: error instanceof Error ? error.message : String(error) }, "discord: typing indicator failed");
    });
  }
}
