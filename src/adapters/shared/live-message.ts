/**
 * The platform-neutral engine behind `Reply.stream`: collects the model's
 * deltas, shows them as a message that grows by throttled edits, continues
 * in further messages past the length limit, skips edits that would change
 * nothing, and always delivers the final text.
 */
import { createPacer, type Pacer } from "./pacer.js";
import { splitMessage } from "./split.js";

/**
 * How long a chat reply holds its first message once the first text has
 * arrived, in milliseconds: a fast short answer then goes out whole in one
 * message instead of a fragment completed by an edit a pacer interval
 * later. Short enough that a slow answer still shows at once. Every
 * platform's streamed answers use it (`firstMessageDelayMs`).
 */
export const FIRST_MESSAGE_DELAY_MS = 400;

/** Where a live message is shown: one platform, one chat. */
export interface LiveMessageTarget<H> {
  /** The platform's message length limit, in UTF-16 code units (Telegram 4096, Discord 2000). */
  maxLength: number;
  /**
   * Shared spacing for every reply into the same chat; the first message of
   * a reply goes at once (see `paceFirstMessage`), every later call waits
   * its turn. Default: a pacer of `minEditIntervalMs` for this reply alone.
   */
  pacer?: Pacer;
  /**
   * Without a `pacer`: least time between two calls (send or edit) of this
   * reply, in milliseconds. @defaultValue 1_000
   */
  minEditIntervalMs?: number;
  /**
   * After the first visible text arrives, wait this long (milliseconds) for
   * more before the first message, so a short fast answer goes out whole in
   * one call instead of a fragment plus an edit. Keep it well under a
   * second; chat replies use {@link FIRST_MESSAGE_DELAY_MS}. @defaultValue 0
   */
  firstMessageDelayMs?: number;
  /**
   * Let the first message of this reply wait for the pacer's slot too, so
   * that answers following each other into one chat stay an interval apart
   * (Telegram's per-chat flood limit counts messages as well as edits). The
   * first reply into a quiet chat still goes at once. @defaultValue false
   */
  paceFirstMessage?: boolean;
  /** Sends a new message with this part's text; returns what `edit` needs. */
  send(text: string): Promise<H>;
  /** Replaces the text of a message this reply sent. */
  edit(handle: H, text: string): Promise<void>;
}

/**
 * Streams `deltas` into `target`. Resolves with the full text once every
 * part is shown as it finally reads. If `deltas` throws, what arrived so far
 * is shown and the same error is rethrown; if the platform refuses a call,
 * the stream stops and that error is thrown. Blank text sends nothing.
 */
export async function streamLiveMessage<H>(deltas: AsyncIterable<string>, target: LiveMessageTarget<H>): Promise<string> {
  const pacer = target.pacer ?? createPacer(target.minEditIntervalMs ?? 1_000);
  const shown: Array<{ handle: H; text: string }> = [];
  let text = "";
  let ended = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };

  const reading = (async () => {
    try {
      for await (const delta of deltas) {
        if (stopped) break;
        text += delta;
        signal();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      signal();
    }
  })();

  /** The first part that differs from what is shown, or -1 when all is shown. */
  const firstStale = () =>
    splitMessage(text, target.maxLength).findIndex((part, i) => shown[i] === undefined || !sameOnScreen(shown[i].text, part));

  /** Brings the shown messages up to date with `text`, one paced call at a time. */
  const catchUp = async () => {
    for (;;) {
      const index = firstStale();
      if (index < 0) return;
      if (shown.length === 0 && !target.paceFirstMessage) pacer.mark();
      else await pacer.wait();
      // Waiting may have brought more text: show the newest version of this part.
      const part = splitMessage(text, target.maxLength)[index];
      if (part === undefined) continue;
      const existing = shown[index];
      if (existing) {
        if (sameOnScreen(existing.text, part)) continue;
        await target.edit(existing.handle, part);
        existing.text = part;
      } else {
        shown.push({ handle: await target.send(part), text: part });
      }
      // A call can take long (a rate limit waited out inside it): the next slot counts from its end.
      pacer.mark();
    }
  };

  /** Waits up to `firstMessageDelayMs` (or the end of the stream) before the first message. */
  const holdFirstMessage = async () => {
    const until = Date.now() + (target.firstMessageDelayMs ?? 0);
    while (!ended && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, until - Date.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  try {
    let held = false;
    for (;;) {
      if (!held && shown.length === 0 && firstStale() >= 0) {
        held = true;
        await holdFirstMessage();
      }
      await catchUp();
      if (ended) break;
      // Checked and armed in one synchronous step, so no delta slips between.
      if (firstStale() < 0) await new Promise<void>((resolve) => (wake = resolve));
    }
    await reading;
    await catchUp();
  } catch (error) {
    stopped = true;
    throw error;
  }
  if (failure) throw failure.error;
  return text;
}

/** Platforms trim surrounding whitespace, so such a change is invisible. */
function sameOnScreen(a: string, b: string): boolean {
  return a.trim() === b.trim();
}
