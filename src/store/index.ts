import type { Logger } from "pino";
import { BlockList } from "./blocks.js";
import { ChannelHistory, type ChannelHistoryOptions } from "./history.js";
import { createKeyValueStore, type KeyValueStore } from "./kv.js";
import { upgradeLegacyLayout } from "./legacy-layout.js";
import { MemoryBook, type MemoryBookOptions } from "./memories.js";
import { NoticeLog } from "./notices.js";
import { PendingWrites } from "./pending-writes.js";
import { ChannelSettings } from "./settings.js";
import { UsageLedger, type UsageLedgerOptions } from "./usage.js";

export { BlockList, type Block, type BlockScope } from "./blocks.js";
export { ChannelHistory, type ChannelHistoryOptions } from "./history.js";
export { createKeyValueStore, type KeyValueStore, type KeyValueStoreOptions } from "./kv.js";
export { MemoryBook, type MemoryBookOptions, type NewMemory } from "./memories.js";
export { NoticeLog } from "./notices.js";
export { PendingWrites, type WriteOutcome } from "./pending-writes.js";
export { ChannelSettings } from "./settings.js";
export { UsageLedger, type UsageLedgerOptions, type UsageRecord } from "./usage.js";

/** Everything the bot keeps, on one key-value store. */
export interface Stores {
  kv: KeyValueStore;
  history: ChannelHistory;
  memories: MemoryBook;
  settings: ChannelSettings;
  usage: UsageLedger;
  blocks: BlockList;
  notices: NoticeLog;
  /** Turns and counts kept while the store is away, written when it is back. */
  pending: PendingWrites;
  /**
   * Writes what is kept (if the store answers within a second), then closes
   * the connection; later calls fail with `store_unavailable`.
   */
  close(): Promise<void>;
}

export interface StoresOptions {
  /** Keep state in Redis at this URL; without it, in this process only. */
  redisUrl?: string;
  log: Logger;
  /** Longest wait for one Redis connection attempt, in milliseconds. @defaultValue 2_000 */
  connectTimeoutMs?: number;
  /** Longest wait for any one store operation, in milliseconds. @defaultValue 2_000 */
  operationTimeoutMs?: number;
  /** In-memory mode only: the Map to keep values in (see {@link KeyValueStoreOptions.memory}). */
  memory?: Map<string, string>;
  history?: ChannelHistoryOptions;
  memories?: MemoryBookOptions;
  usage?: UsageLedgerOptions;
  /** Most writes kept in memory while the store is away; past it the oldest are dropped. @defaultValue 1_000 */
  maxPendingWrites?: number;
  /** While the store is away, how often it is asked whether it is back, in milliseconds. @defaultValue 1_000 */
  probeIntervalMs?: number;
}

/** How long shutdown waits for an away store before giving up what is kept, in milliseconds. */
const lastFlushWaitMs = 1_000;

/** Opens the key-value store (Redis when `redisUrl` is set) and the stores on it. */
export async function createStores(opts: StoresOptions): Promise<Stores> {
  const kv = await createKeyValueStore(opts);
  const { log } = opts;
  const pending = new PendingWrites({ log, reachable: () => kv.reachable, maxEntries: opts.maxPendingWrites });
  kv.onBack(() => void pending.flush());
  const history = new ChannelHistory(kv, opts.history, pending);
  const memories = new MemoryBook(kv, opts.memories);
  // Before the bot answers: history and memories kept by Parley 0.1.0 move to today's layout.
  if (kv.kind === "redis") await upgradeLegacyLayout({ store: kv, history, memories, log });
  let closing: Promise<void> | undefined;
  return {
    kv,
    history,
    memories,
    settings: new ChannelSettings(kv),
    usage: new UsageLedger(kv, opts.usage, pending),
    blocks: new BlockList(kv),
    notices: new NoticeLog(kv),
    pending,
    close() {
      closing ??= (async () => {
        if (pending.size > 0 && (await kv.checkReachable(lastFlushWaitMs))) await pending.flush();
        pending.stop();
        if (pending.size > 0) log.error({ lost: pending.size }, "the store is still away: writes kept in memory are lost");
        await kv.close();
      })();
      return closing;
    },
  };
}
