import { ownedKey } from "./keys.js";
import type { HashSpace, KeyValueStore } from "./kv.js";

/** Who blocked whom, when. */
export interface Block {
  /** The blocked user's key, e.g. `telegram:42`. */
  userKey: string;
  /** Their name when they were blocked, for `blocked`. */
  name?: string;
  /** The moderator's (or owner's) name. */
  byName: string;
  /** Epoch milliseconds. */
  at: number;
}

/** One channel (`channel:…` key), or every channel. */
export type BlockScope = { channelKey: string } | "everywhere";

/**
 * Users the bot ignores, blocked by a moderator in one channel or by an
 * owner everywhere. One hash per scope (field = user key), so blocking and
 * unblocking are single atomic writes and checking a message is one read of
 * a field per scope, on every process sharing the store.
 */
export class BlockList {
  readonly #hashes: HashSpace;

  constructor(store: KeyValueStore) {
    this.#hashes = store.hashes("blocks");
  }

  async block(scope: BlockScope, entry: Block): Promise<void> {
    const { userKey, ...rest } = entry;
    await this.#hashes.set(scopeKey(scope), userKey, JSON.stringify(rest));
  }

  /** Whether the user was blocked there. */
  unblock(scope: BlockScope, userKey: string): Promise<boolean> {
    return this.#hashes.delete(scopeKey(scope), userKey);
  }

  /** Whether the user is blocked everywhere or in any of the channels (a thread and its parent, say). */
  async isBlocked(userKey: string, channelKeys: readonly string[]): Promise<boolean> {
    const scopes: BlockScope[] = ["everywhere", ...channelKeys.map((channelKey) => ({ channelKey }))];
    const found = await this.#hashes.get(scopes.map((scope) => ({ key: scopeKey(scope), field: userKey })));
    return found.some((value) => value !== undefined);
  }

  /** The blocks of a channel and those that hold everywhere, oldest first. */
  async list(channelKey: string): Promise<{ here: Block[]; everywhere: Block[] }> {
    const [everywhere = {}, here = {}] = await this.#hashes.getAll([scopeKey("everywhere"), scopeKey({ channelKey })]);
    return { here: entries(here), everywhere: entries(everywhere) };
  }
}

function scopeKey(scope: BlockScope): string {
  return scope === "everywhere" ? "everywhere" : `channel:${ownedKey(scope.channelKey)}`;
}

function entries(hash: Record<string, string>): Block[] {
  return Object.entries(hash)
    .map(([userKey, json]) => ({ userKey, ...(JSON.parse(json) as Omit<Block, "userKey">) }))
    .sort((a, b) => a.at - b.at);
}
