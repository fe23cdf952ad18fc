import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/load.js";
import type { IncomingMessage, Reply } from "../../src/core/types.js";
import { botEnv } from "../support/bot-process.js";

describe("the moderator check of one message", () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });

  it("asks the platform once, though the permission check, the limit exemption and forget all need it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-mod-"));
    const file = join(dir, "parley.yaml");
    writeFileSync(file, "limits:\n  exemptModerators: true\n");
    const config = loadConfig(botEnv({ PARLEY_CONFIG: file, RATE_LIMIT_PER_MINUTE: "100", OLLAMA_HOST: "http://127.0.0.1:9" }));
    app = await startApp({ config, log: pino({ level: "silent" }), adapters: [] });

    const say = async (text: string, user: string, moderator: boolean) => {
      let asked = 0;
      const replies: string[] = [];
      const reply: Reply = {
        typing() {},
        async send(t) {
          replies.push(t);
        },
        async stream() {
          throw new Error("no model call expected");
        },
      };
      const message: IncomingMessage = {
        platform: "discord",
        channel: { key: "discord:123456789012345678", private: false },
        author: { key: `discord:${user}`, name: `user${user}` },
        text,
        addressed: true,
        isModerator: async () => {
          asked++;
          return moderator;
        },
        raw: null,
      };
      await app!.dispatcher.handle(message, reply);
      return { asked, text: replies.join("\n") };
    };

    const reset = await say("/reset", "1", true);
    expect(reset.text).toContain("Conversation cleared");
    expect(reset.asked).toBe(1);

    const added = await say("/remember the wiki moved", "2", false);
    const id = /#(\w+)/.exec(added.text)![1]!;
    const forgot = await say(`/forget ${id}`, "1", true);
    expect(forgot.text).toContain(`Forgot #${id}`);
    expect(forgot.asked).toBe(1);
  });
});
