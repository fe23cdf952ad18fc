import type { Logger } from "pino";
import { commands } from "../commands/index.js";
import type { Config } from "./config/schema.js";
import type { Adapter, AdapterContext } from "./core/adapter.js";
import { Budgets } from "./chat/budgets.js";
import { AccessPolicy } from "./core/access.js";
import { createDispatcher, type Dispatcher } from "./core/dispatcher.js";
import type { Services } from "./core/services.js";
import { startHealthServer, type HealthServer } from "./http/health.js";
import { appReadiness } from "./http/readiness.js";
import { formatCost } from "./llm/prices.js";
import { BotMetrics } from "./metrics/bot-metrics.js";
import { createRouter } from "./llm/providers.js";
import { personaCatalogFor } from "./personas/catalog.js";
import { UserLimits } from "./ratelimit/user-limits.js";
import { createStores } from "./store/index.js";

export interface AppOptions {
  config: Config;
  log: Logger;
  adapters: readonly Adapter[];
}

export interface App {
  services: Services;
  dispatcher: Dispatcher;
  /** Resolves when an adapter that can finish (console at end of input) has finished. */
  done: Promise<void>;
  /** The health server, when `httpPort` is set; `/readyz` answers 503 from the moment `stop` is called. */
  health?: HealthServer;
  /** Stops the adapters, waits for answers in flight, closes the stores. */
  stop(): Promise<void>;
}

/** The end of the grace period kept for marking stopped answers in the chat: a quarter, at most 5 s. */
function markingMs(graceMs: number): number {
  return Math.min(5_000, Math.floor(graceMs / 4));
}

/** Builds the services, the dispatcher and starts every adapter. */
export async function startApp({ config, log, adapters }: AppOptions): Promise<App> {
  const personas = personaCatalogFor(config);
  if (!personas.get(config.defaultPersona)) {
    throw new Error(`defaultPersona: there is no persona named "${config.defaultPersona}" (have: ${personas.names().join(", ")}).`);
  }
  const stores = await createStores({
    redisUrl: config.redisUrl,
    log,
    history: { maxStoredMessages: config.history.maxStoredMessages, ttlMs: config.history.ttlHours * 3_600_000 },
    memories: { maxPerChannel: config.memories.maxPerChannel },
  });
  const limits = new UserLimits({ ...config.limits, store: stores.kv });
  const metrics = new BotMetrics();
  const llm = createRouter(config, log, { metrics });
  const services: Services = {
    config,
    log,
    history: stores.history,
    memories: stores.memories,
    settings: stores.settings,
    usage: stores.usage,
    blocks: stores.blocks,
    notices: stores.notices,
    budgets: new Budgets({
      userTokensPerDay: config.limits.tokensPerDay,
      caps: config.budgets,
      usage: stores.usage,
      log,
      formatCost: (amount) => formatCost(amount, llm.currency),
    }),
    personas,
    limits,
    access: new AccessPolicy(config.access),
    llm,
    commands,
    metrics,
    startedAt: Date.now(),
  };
  const dispatcher = createDispatcher(services);
  const byName = new Map(commands.map((c) => [c.name, c]));
  const context: AdapterContext = {
    dispatch: dispatcher.handle,
    commands,
    log,
    joined: (joining) => services.access.joined(joining),
    store: stores.kv,
    platformRateLimited: (platform) => metrics.platformRateLimited(platform),
    async complete(command, option, prefix) {
      return (await byName.get(command)?.complete?.(services, option, prefix)) ?? [];
    },
  };

  const started: Adapter[] = [];
  let health: HealthServer | undefined;
  try {
    // Up before the adapters connect: /healthz answers from the start, /readyz says what is still missing.
    if (config.httpPort !== undefined) {
      const checks = appReadiness({ kv: stores.kv, llm, adapters, started });
      health = await startHealthServer({ port: config.httpPort, host: config.httpHost, checks, log, metrics });
    }
    for (const adapter of adapters) {
      await adapter.start(context);
      started.push(adapter);
      log.info({ platform: adapter.platform }, "adapter started");
    }
  } catch (e) {
    await Promise.allSettled(started.map((a) => a.stop()));
    await health?.close();
    await stores.close();
    await llm.close();
    throw e;
  }

  const finishing = adapters.map((a) => a.done).filter((d): d is Promise<void> => d !== undefined);
  const done = finishing.length > 0 ? Promise.race(finishing).then(() => dispatcher.idle()) : new Promise<void>(() => {});
  let stopping: Promise<void> | undefined;
  return {
    services,
    dispatcher,
    done,
    health,
    stop() {
      stopping ??= (async () => {
        health?.stopping();
        // Answers still running when the grace period nears its end are ended and marked, so they reach the chat.
        const graceMs = config.shutdownGraceMs;
        const cutoff = setTimeout(() => {
          log.warn({ graceMs }, "shutdown grace period ending: stopping the answers in flight");
          dispatcher.stopAnswers();
        }, graceMs - markingMs(graceMs));
        try {
          await Promise.allSettled(started.map((a) => a.stop()));
          await dispatcher.idle();
        } finally {
          clearTimeout(cutoff);
        }
        await stores.close();
        await health?.close();
        // An embedded model's memory is freed, so a test or host that started the app in-process can start another.
        await llm.close();
      })();
      return stopping;
    },
  };
}
