import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { loadConfig } from "../../src/config/load.js";
import { AccessPolicy } from "../../src/core/access.js";
import type { IncomingMessage } from "../../src/core/types.js";
import { botEnv } from "../support/bot-process.js";

type Where = Pick<IncomingMessage, "platform" | "channel" | "author" | "place">;

function policy(access: unknown): AccessPolicy {
  return new AccessPolicy(configSchema.parse({ access }).access);
}

const telegram = (user: number, chat: number): Where => ({
  platform: "telegram",
  channel: { key: `telegram:${chat}`, private: chat > 0 },
  author: { key: `telegram:${user}`, name: "someone" },
  place: { chat: String(chat) },
});

const discord = (user: string, where: { server?: string; channel: string; parent?: string; roles?: string[] }): Where => ({
  platform: "discord",
  channel: { key: `discord:${where.channel}`, private: where.server === undefined },
  author: { key: `discord:${user}`, name: "someone", roles: where.roles ?? [] },
  place: { chat: where.channel, ...(where.server ? { server: where.server } : {}), ...(where.parent ? { parent: where.parent } : {}) },
});

const allowed = (p: AccessPolicy, m: Where) => p.check(m).allowed;

const GUILD = "111111111111111111";
const OTHER_GUILD = "111111111111111112";
const CHANNEL = "222222222222222222";
const THREAD = "222222222222222299";
const ROLE = "333333333333333333";
const ANN = "444444444444444444";
const BOB = "444444444444444445";

describe("access lists", () => {
  it("lets everyone in when no list is set", () => {
    const open = policy({});
    expect(allowed(open, telegram(5, 5))).toBe(true);
    expect(allowed(open, telegram(5, -100))).toBe(true);
    expect(allowed(open, discord(ANN, { channel: CHANNEL }))).toBe(true);
    expect(allowed(open, discord(ANN, { server: GUILD, channel: CHANNEL }))).toBe(true);
  });

  it("Telegram: private chats for listed users only; groups when listed, or for listed users", () => {
    const p = policy({ telegram: { users: [42], chats: ["-1001"] } });
    expect(allowed(p, telegram(42, 42))).toBe(true);
    expect(p.check(telegram(7, 7))).toEqual({ allowed: false, tell: true });
    expect(allowed(p, telegram(7, -1001))).toBe(true);
    expect(allowed(p, telegram(42, -2002))).toBe(true);
    expect(p.check(telegram(7, -2002))).toEqual({ allowed: false, tell: false });
  });

  it("Telegram: private chats can be turned off, owners excepted", () => {
    const p = policy({ owners: ["telegram:1"], telegram: { private: false } });
    expect(allowed(p, telegram(5, 5))).toBe(false);
    expect(allowed(p, telegram(5, -100))).toBe(true);
    expect(allowed(p, telegram(1, 1))).toBe(true);
  });

  it("Discord: servers and channels (a thread counts as its parent), then roles or users", () => {
    const p = policy({ discord: { guilds: [GUILD], channels: [CHANNEL], roles: [ROLE], users: [BOB] } });
    expect(allowed(p, discord(ANN, { server: GUILD, channel: CHANNEL, roles: [ROLE] }))).toBe(true);
    expect(allowed(p, discord(ANN, { server: GUILD, channel: THREAD, parent: CHANNEL, roles: [ROLE] }))).toBe(true);
    expect(allowed(p, discord(ANN, { server: GUILD, channel: CHANNEL, roles: [] }))).toBe(false);
    expect(allowed(p, discord(BOB, { server: GUILD, channel: CHANNEL }))).toBe(true);
    expect(allowed(p, discord(ANN, { server: GUILD, channel: THREAD, roles: [ROLE] }))).toBe(false);
    expect(allowed(p, discord(BOB, { server: OTHER_GUILD, channel: CHANNEL }))).toBe(false);
    // DMs: listed users only, once a users or roles list is set.
    expect(allowed(p, discord(BOB, { channel: "555555555555555555" }))).toBe(true);
    expect(p.check(discord(ANN, { channel: "555555555555555555" }))).toEqual({ allowed: false, tell: true });
  });

  it("Discord: DMs can be turned off, and are open when no people list is set", () => {
    expect(allowed(policy({ discord: { guilds: [GUILD] } }), discord(ANN, { channel: CHANNEL }))).toBe(true);
    expect(allowed(policy({ discord: { dms: false } }), discord(ANN, { channel: CHANNEL }))).toBe(false);
  });

  it("owners pass every list, on both platforms, and the console is never limited", () => {
    const p = policy({ owners: ["telegram:9", `discord:${ANN}`], telegram: { users: [1] }, discord: { guilds: [GUILD], roles: [ROLE] } });
    expect(allowed(p, telegram(9, -5))).toBe(true);
    expect(allowed(p, discord(ANN, { server: OTHER_GUILD, channel: CHANNEL }))).toBe(true);
    expect(p.isOwner("telegram:9")).toBe(true);
    expect(p.isOwner("discord:9")).toBe(false);
    expect(allowed(p, { platform: "console", channel: { key: "console:local", private: true }, author: { key: "console:local", name: "you" } })).toBe(true);
  });

  it("leaves a group or server nobody allowed, unless told not to", () => {
    const p = policy({ owners: ["telegram:9"], telegram: { users: [42], chats: [-1001] }, discord: { guilds: [GUILD] } });
    expect(p.joined({ platform: "telegram", id: "-1001", addedBy: "telegram:7" })).toEqual({ stay: true });
    expect(p.joined({ platform: "telegram", id: "-2002", addedBy: "telegram:42" })).toEqual({ stay: true });
    expect(p.joined({ platform: "telegram", id: "-2002", addedBy: "telegram:9" })).toEqual({ stay: true });
    expect(p.joined({ platform: "telegram", id: "-2002", addedBy: "telegram:7" })).toMatchObject({ stay: false, notice: expect.stringMatching(/private/) });
    expect(p.joined({ platform: "discord", id: GUILD })).toEqual({ stay: true });
    expect(p.joined({ platform: "discord", id: OTHER_GUILD })).toMatchObject({ stay: false });
    expect(policy({}).joined({ platform: "discord", id: OTHER_GUILD })).toEqual({ stay: true });
    const stays = policy({ leaveUnlisted: false, discord: { guilds: [GUILD] } });
    expect(stays.joined({ platform: "discord", id: OTHER_GUILD })).toEqual({ stay: true });
  });

  it("reads the lists from the environment, and names a bad one", () => {
    const config = loadConfig(
      botEnv({
        PARLEY_OWNERS: "telegram:9, discord:444444444444444444",
        TELEGRAM_ALLOWED_USERS: "42,telegram:43",
        TELEGRAM_ALLOWED_CHATS: "-1001",
        TELEGRAM_ALLOW_PRIVATE: "false",
        DISCORD_ALLOWED_ROLES: ROLE,
        DISCORD_ALLOW_DMS: "no",
        RATE_LIMIT_COMMANDS_PER_MINUTE: "12",
        PARLEY_DAILY_TOKENS: "100000",
        PARLEY_DAILY_COST: "2.5",
      }),
    );
    expect(config.access).toMatchObject({
      owners: ["telegram:9", "discord:444444444444444444"],
      telegram: { users: ["42", "43"], chats: ["-1001"], private: false },
      discord: { roles: [ROLE], dms: false },
      leaveUnlisted: true,
    });
    expect(config.limits.commandsPerMinute).toBe(12);
    expect(config.budgets).toMatchObject({ dailyTokens: 100_000, dailyCost: 2.5, whenSpent: "refuse" });
    expect(() => loadConfig(botEnv({ PARLEY_OWNERS: "42" }))).toThrow(/access\.owners\.0 \(PARLEY_OWNERS\).*telegram:42/);
    expect(() => loadConfig(botEnv({ TELEGRAM_ALLOWED_USERS: "bob" }))).toThrow(/access\.telegram\.users.*Telegram ids/);
    expect(() => loadConfig(botEnv({ DISCORD_ALLOW_DMS: "maybe" }))).toThrow(/DISCORD_ALLOW_DMS must be true or false/);
  });
});
