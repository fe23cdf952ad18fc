/**
 * Parley 0.1.0 kept a channel's history and memories as keyv values: the
 * history as a record (`<channel>#record`: the first and next turn index,
 * the summary) and one value per turn (`<channel>#turn#<n>`), the memories
 * as one list (`<channel>#memories`). Today's stores keep them in Redis
 * lists, hashes and sets, where several processes can change them at once
 * (see history.ts and memories.ts). This moves every channel kept the old
 * way into the new layout, once per Redis database, before the bot answers:
 *
 * - One process moves the data; the others wait for it. The mover holds a
 *   lease (`SET NX PX`, renewed while it works); when it dies, another
 *   process takes the lease over and moves what is left.
 * - Each channel moves in one transaction that writes the new keys and
 *   deletes the old ones, so a channel is in one layout or the other, never
 *   both and never half. Turns and memories already in the new layout (kept
 *   while the store was away at start) stay, after the moved ones.
 * - Old keys are found with SCAN, a batch at a time, not KEYS, which would
 *   stop Redis for every other client on a large database.
 * - When all is moved, the database is marked, so later starts cost one GET.
 *
 * Only Redis needs this: in-memory data does not outlive its process.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { isParleyError } from "../core/errors.js";
import type { ChannelHistory } from "./history.js";
import { ownedKey, ownerOf } from "./keys.js";
import type { KeyValueStore } from "./kv.js";
import type { MemoryBook } from "./memories.js";
import type { HistoryTurn, Memory } from "./types.js";

/** The node-redis calls this needs. */
interface UpgradeClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { condition: "NX"; expiration: { type: "PX"; value: number } }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<{ cursor: string; keys: string[] }>;
}

export interface LegacyLayoutOptions {
  store: KeyValueStore;
  history: ChannelHistory;
  memories: MemoryBook;
  log: Logger;
  /** How long the mover's lease lasts without renewal, in milliseconds. @defaultValue 30_000 */
  leaseMs?: number;
  /** How often a waiting process looks whether the move is done, in milliseconds. @defaultValue 250 */
  pollMs?: number;
}

/** What one run moved. */
export interface LegacyMoveReport {
  histories: number;
  turns: number;
  memoryLists: number;
  memories: number;
}

/** The old history record, as keyv held it. */
interface LegacyRecord {
  head: number;
  tail: number;
  summary?: string;
  summarisedBefore?: number;
}

const markerName = "layout-2";
const done = "done";
/** Keys asked for per SCAN call. */
const scanCount = 500;
/** Turns read per call. */
const readBatch = 1_000;

/** Renews (ARGV[2] given) or, when done, marks the database (ARGV[3]): only while the lease is still ours. */
const keepScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] then redis.call('SET', KEYS[1], ARGV[3]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/**
 * Moves the old layout's data into the new one, or waits while another
 * process does (see the file's comment). Resolves with what this process
 * moved (all zero when there was nothing, or another process moved it).
 * Rejects with `store_unavailable` when Redis does not answer.
 */
export async function moveLegacyLayout(opts: LegacyLayoutOptions): Promise<LegacyMoveReport> {
  const report: LegacyMoveReport = { histories: 0, turns: 0, memoryLists: 0, memories: 0 };
  const redis = opts.store.redis("upgrades");
  if (!redis) return report;
  const client = redis.client as UpgradeClient;
  const marker = `${redis.keyPrefix}${markerName}`;
  const leaseMs = opts.leaseMs ?? 30_000;
  const { store, log } = opts;
  let waiting = false;
  for (;;) {
    if ((await store.guarded("upgradeState", () => client.get(marker))) === done) break;
    const token = randomUUID();
    const leased = await store.guarded("upgradeLease", () =>
      client.set(marker, token, { condition: "NX", expiration: { type: "PX", value: leaseMs } }),
    );
    if (leased === "OK" && (await moveAll(opts, client, { marker, token, leaseMs }, report))) break;
    if (!waiting) log.info("another Parley process is moving stored data to the new layout; waiting for it");
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 250));
  }
  if (report.histories + report.memoryLists > 0) log.info({ ...report }, "moved stored data to the new layout");
  return report;
}

/**
 * Moves every channel while the lease is this process's, adding to
 * `report`; resolves false when the lease was lost to another process
 * (which moves the rest), true when all is moved and the database marked.
 */
async function moveAll(
  opts: LegacyLayoutOptions,
  client: UpgradeClient,
  lease: { marker: string; token: string; leaseMs: number },
  report: LegacyMoveReport,
): Promise<boolean> {
  const { store, log } = opts;
  const keep = (finish: boolean) =>
    store.guarded("upgradeLease", () =>
      client.eval(keepScript, {
        keys: [lease.marker],
        arguments: finish ? [lease.token, String(lease.leaseMs), done] : [lease.token, String(lease.leaseMs)],
      }),
    );
  let lost = false;
  const renewal = setInterval(() => {
    keep(false).then(
      (kept) => (lost ||= kept !== 1),
      // A renewal Redis did not answer: the next one tries again, and the lease outlasts two misses.
      () => undefined,
    );
  }, Math.max(10, Math.floor(lease.leaseMs / 3)));
  renewal.unref();

  const scan = async (namespace: string, suffix: string, move: (owner: string) => Promise<void>) => {
    const prefix = store.redis(namespace)!.keyPrefix;
    let cursor = "0";
    do {
      const page = await store.guarded("upgradeScan", () => client.scan(cursor, { MATCH: `${prefix}*#${suffix}`, COUNT: scanCount }));
      cursor = String(page.cursor);
      for (const key of page.keys) {
        if (lost) return;
        const owner = ownerOf(key.slice(prefix.length), suffix);
        if (owner === undefined) continue;
        try {
          await move(owner);
        } catch (error) {
          if (isParleyError(error)) throw error;
          // A value that cannot be read stays where it is, for an operator to look at; the others move.
          log.error({ key, error: error instanceof Error ? error.message : String(error) }, "could not move a value kept by an older Parley; left as it was");
        }
      }
    } while (cursor !== "0");
  };
  try {
    await scan("history", "record", async (channelKey) => {
      const moved = await moveHistory(opts, channelKey);
      if (moved === undefined) return;
      report.histories++;
      report.turns += moved;
    });
    await scan("memories", "memories", async (channelKey) => {
      const moved = await moveMemories(opts, channelKey);
      if (moved === undefined) return;
      report.memoryLists++;
      report.memories += moved;
    });
    return !lost && (await keep(true)) === 1;
  } finally {
    clearInterval(renewal);
  }
}

/** Moves one channel's old history; resolves with the turns moved, or undefined when its record was gone. */
async function moveHistory(opts: LegacyLayoutOptions, channelKey: string): Promise<number | undefined> {
  const keyv = opts.store.keyv("history");
  const recordKey = ownedKey(channelKey, "record");
  const record = await keyv.get<LegacyRecord>(recordKey);
  // keyv drops a record past its expiry when reading it; its turns expire by themselves.
  if (!record) return undefined;
  const turnKeys = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => ownedKey(channelKey, "turn", from + i));
  // Turns folded into the summary were never shown again: the summary stands for them.
  const from = Math.max(record.head, record.summarisedBefore ?? 0);
  const turns: HistoryTurn[] = [];
  for (let start = from; start < record.tail; start += readBatch) {
    const found = await keyv.getMany<HistoryTurn>(turnKeys(start, Math.min(record.tail, start + readBatch)));
    for (const turn of found) if (turn !== undefined) turns.push(turn);
  }
  await opts.history.adoptLegacy(channelKey, { turns, summary: record.summary }, [recordKey, ...turnKeys(record.head, record.tail)]);
  return turns.length;
}

/** Moves one channel's old memories; resolves with how many, or undefined when the list was gone. */
async function moveMemories(opts: LegacyLayoutOptions, channelKey: string): Promise<number | undefined> {
  const listKey = ownedKey(channelKey, "memories");
  const list = await opts.store.keyv("memories").get<Memory[]>(listKey);
  if (!list) return undefined;
  await opts.memories.adoptLegacy(channelKey, list, [listKey]);
  return list.length;
}

/**
 * Moves the old layout at start (see {@link moveLegacyLayout}). When Redis
 * does not answer, the move is tried again each time the store is back, and
 * whatever was written meanwhile is kept after the moved data. Never rejects.
 */
export async function upgradeLegacyLayout(opts: LegacyLayoutOptions): Promise<void> {
  let moving: Promise<void> | undefined;
  let moved = false;
  const attempt = (): Promise<void> =>
    (moving ??= moveLegacyLayout(opts)
      .then(
        () => {
          moved = true;
        },
        (error: unknown) => {
          if (isParleyError(error) && error.code === "store_unavailable") {
            opts.log.info("the store is away: it is checked for data kept by an older Parley when it is back");
          } else {
            opts.log.error({ error: error instanceof Error ? error.message : String(error) }, "could not move data kept by an older Parley; will try again when the store is back");
          }
        },
      )
      .finally(() => (moving = undefined)));
  opts.store.onBack(() => {
    if (!moved) void attempt();
  });
  await attempt();
}
