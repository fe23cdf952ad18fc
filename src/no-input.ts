import type { Adapter } from "./core/adapter.js";

/**
 * What a bot with no platform token says when its input ended without a
 * message: in a container stdin is empty, and exiting 0 at once would only
 * have the restart policy start it again, forever.
 */
export const noInputNotice =
  "parley: no TELEGRAM_BOT_TOKEN or DISCORD_TOKEN is set and there was no input to chat with; set one of them (see .env.example)\n";

/** EX_CONFIG from sysexits.h: the configuration, not the run, is wrong. */
export const noInputExitCode = 78;

/** Counts the messages `adapter` hands to the core from now on (wraps its `start`). */
export function countMessages(adapter: Adapter): () => number {
  let count = 0;
  const start = adapter.start.bind(adapter);
  adapter.start = (ctx) =>
    start({
      ...ctx,
      dispatch: (message, reply) => {
        count++;
        return ctx.dispatch(message, reply);
      },
    });
  return () => count;
}
