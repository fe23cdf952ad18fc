import pino from "pino";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import type { IncomingMessage, Reply } from "../../src/core/types.js";
import { botEnv } from "./bot-process.js";

export interface Said {
  /** Every text the bot showed for this message: sends, and the final text of streams. */
  replies: string[];
}

export interface Speaker {
  channel?: string;
  user?: string;
  name?: string;
  private?: boolean;
  moderator?: boolean;
  platform?: IncomingMessage["platform"];
  /** Discord: the server id. */
  server?: string;
  /** Discord: a thread's parent channel id. */
  parent?: string;
  /** Discord: the author's role ids. */
  roles?: string[];
  mentions?: IncomingMessage["mentions"];
  replyTo?: IncomingMessage["replyTo"];
  attachments?: IncomingMessage["attachments"];
}

/** The whole bot in this process, without a platform: messages go straight to the dispatcher. */
export interface TestApp {
  app: App;
  say(text: string, who?: Speaker): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestApp(env: Record<string, string | undefined>): Promise<TestApp> {
  const config = loadConfig(botEnv(env));
  const app = await startApp({ config, log: pino({ level: "silent" }), adapters: [] });
  return {
    app,
    async say(text, who = {}) {
      const platform = who.platform ?? "telegram";
      const replies: string[] = [];
      const reply: Reply = {
        typing() {},
        async send(t) {
          replies.push(t);
        },
        async stream(deltas) {
          let full = "";
          try {
            for await (const d of deltas) full += d;
          } finally {
            if (full) replies.push(full);
          }
          return full;
        },
      };
      const user = who.user ?? "1001";
      const chat = who.channel ?? "-100500";
      await app.dispatcher.handle(
        {
          platform,
          channel: { key: `${platform}:${chat}`, private: who.private ?? false },
          place: { chat, ...(who.server ? { server: who.server } : {}), ...(who.parent ? { parent: who.parent } : {}) },
          author: { key: `${platform}:${user}`, name: who.name ?? `user${user}`, ...(who.roles ? { roles: who.roles } : {}) },
          ...(who.mentions ? { mentions: who.mentions } : {}),
          ...(who.replyTo ? { replyTo: who.replyTo } : {}),
          ...(who.attachments ? { attachments: who.attachments } : {}),
          text,
          addressed: true,
          isModerator: async () => who.moderator ?? false,
          raw: null,
        },
        reply,
      );
      return replies.join("\n");
    },
    stop: () => app.stop(),
  };
}
