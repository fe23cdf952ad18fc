import type { Logger } from "pino";
import { BlockList } from "./blocks.js";
import { ChannelHistory, type ChannelHistoryOptions } from "./history.js";
import { createKeyValueStore, type KeyValueStore } from "./kv.js";
import { MemoryBook, type MemoryBookOptions } from "./memories.js";
import { NoticeLog } from "./notices.js";
import { ChannelSettings } from "./settings.js";
import { UsageLedger, type UsageLedgerOptions } from "./usage.js";

export { BlockList, type Block, type BlockScope } from "./blocks.js";
export { ChannelHistory, type ChannelHistoryOptions } from "./history.js";
export { createKeyValueStore, type KeyValueStore, type KeyValueStoreOptions } from "./kv.js";
export { MemoryBook, type MemoryBookOptions, type NewMemory } from "./memories.js";
export { NoticeLog } from "./notices.js";
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
  /** Closes the connection; later calls fail with `store_unavailable`. */
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
}

/** Opens the key-value store (Redis when `redisUrl` is set) and the stores on it. */
export async function createStores(opts: StoresOptions): Promise<Stores> {
  const kv = await createKeyValueStore(opts);
  return {
    kv,
    history: new ChannelHistory(kv, opts.history),
    memories: new MemoryBook(kv, opts.memories),
    settings: new ChannelSettings(kv),
    usage: new UsageLedger(kv, opts.usage),
    blocks: new BlockList(kv),
    notices: new NoticeLog(kv),
    close: () => kv.close(),
  };
}
