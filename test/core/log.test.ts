import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactSecrets } from "../../src/log.js";

describe("logs never carry a token or key", () => {
  it("scrubs configured secrets and token-shaped strings wherever they appear in a line", async () => {
    const sink = new PassThrough();
    let written = "";
    sink.on("data", (d: Buffer) => (written += d));
    const log = createLogger("info", ["my-discord-token.abc.def"], sink);
    log.error(
      { err: new Error("GET https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe failed"), token: "x", apiKey: "y" },
      "call failed with my-discord-token.abc.def and sk-proj-abcdefghijklmnopqrstuv",
    );
    await new Promise((r) => setImmediate(r));
    expect(written).toContain("call failed");
    expect(written).not.toContain("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw");
    expect(written).not.toContain("my-discord-token.abc.def");
    expect(written).not.toContain("sk-proj-abcdefghijklmnopqrstuv");
    expect(JSON.parse(written).token).toBe("[redacted]");
  });

  it("leaves ordinary text alone", () => {
    expect(redactSecrets("user 42 said hello at 12:30", ["secret-value"])).toBe("user 42 said hello at 12:30");
  });
});

describe("the secrets the configuration holds", () => {
  it("include every token and key, and a password in REDIS_URL", async () => {
    const { configSecrets } = await import("../../src/config/secrets.js");
    const { loadConfig } = await import("../../src/config/load.js");
    const { botEnv } = await import("../support/bot-process.js");
    const config = loadConfig(
      botEnv({
        TELEGRAM_BOT_TOKEN: "123456:tg-token-value",
        DISCORD_TOKEN: "discord-token-value",
        LLM_PROVIDER: "openai",
        OPENAI_API_KEY: "sk-test-key-value",
        REDIS_URL: "redis://:redis%21pass@127.0.0.1:6379",
      }),
    );
    expect(configSecrets(config).sort()).toEqual(["123456:tg-token-value", "discord-token-value", "redis!pass", "sk-test-key-value"]);
  });
});
