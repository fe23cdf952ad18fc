import { ownedKey } from "./keys.js";
import type { HashSpace, KeyValueStore } from "./kv.js";

/**
 * Notices the bot gives at most once in a while (the "this bot is private"
 * sentence once a day, a rate-limit notice once per wait), claimed in the
 * store so that every process sharing it gives each notice once.
 */
export class NoticeLog {
  readonly #hashes: HashSpace;

  constructor(store: KeyValueStore) {
    this.#hashes = store.hashes("notices");
  }

  /** True the first time `subject` claims `notice` within `forMs`; false until that has passed. */
  claim(notice: string, subject: string, forMs: number): Promise<boolean> {
    return this.#hashes.claim(`${notice}:${ownedKey(subject)}`, forMs);
  }
}
