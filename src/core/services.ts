import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import type { ChannelHistory } from "../store/history.js";
import type { BlockList } from "../store/blocks.js";
import type { MemoryBook } from "../store/memories.js";
import type { NoticeLog } from "../store/notices.js";
import type { Budgets } from "../chat/budgets.js";
import type { ChannelSettings } from "../store/settings.js";
import type { UsageLedger } from "../store/usage.js";
import type { PersonaCatalog } from "../personas/catalog.js";
import type { UserLimits } from "../ratelimit/user-limits.js";
import type { ModelRouter } from "../llm/router.js";
import type { BotMetrics } from "../metrics/bot-metrics.js";
import type { AccessPolicy } from "./access.js";
import type { Command } from "./types.js";

/** Everything a command may use; built once in `src/app.ts`. */
export interface Services {
  config: Config;
  log: Logger;
  history: ChannelHistory;
  memories: MemoryBook;
  settings: ChannelSettings;
  usage: UsageLedger;
  /** Users the bot ignores, per channel or everywhere. */
  blocks: BlockList;
  /** Notices given at most once in a while, across processes. */
  notices: NoticeLog;
  /** Each user's daily tokens and the caps on the whole bot. */
  budgets: Budgets;
  personas: PersonaCatalog;
  limits: UserLimits;
  /** Who may use the bot (the access lists and owners). */
  access: AccessPolicy;
  llm: ModelRouter;
  /** The registered commands, for `help`. */
  commands: readonly Command[];
  /** What `/metrics` shows. */
  metrics: BotMetrics;
  /** Epoch milliseconds the process started. */
  startedAt: number;
}
