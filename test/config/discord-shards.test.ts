/** DISCORD_SHARD_COUNT and DISCORD_SHARDS: read, checked against each other, refused with the variable named. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { fileURLToPath } from "node:url";

const base = { PARLEY_CONFIG: fileURLToPath(new URL("../support/empty-config.yaml", import.meta.url)), DISCORD_TOKEN: "x" };
const discord = (env: Record<string, string>) => loadConfig({ ...base, ...env }).discord;

describe("discord shard settings", () => {
  it("are unset by default", () => {
    expect(discord({})).not.toHaveProperty("shardCount");
    expect(discord({}).shards).toBeUndefined();
  });

  it("read a count, auto, and a list of ids", () => {
    expect(discord({ DISCORD_SHARD_COUNT: "4" }).shardCount).toBe(4);
    expect(discord({ DISCORD_SHARD_COUNT: "Auto" }).shardCount).toBe("auto");
    expect(discord({ DISCORD_SHARD_COUNT: "4", DISCORD_SHARDS: "2, 3" })).toMatchObject({ shardCount: 4, shards: [2, 3] });
    expect(discord({ DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "0" }).shards).toEqual([0]);
  });

  it.each([
    [{ DISCORD_SHARD_COUNT: "many" }, /DISCORD_SHARD_COUNT must be a number of shards or auto, got "many"/],
    [{ DISCORD_SHARD_COUNT: "0" }, /discord\.shardCount \(DISCORD_SHARD_COUNT\)/],
    [{ DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "0,x" }, /DISCORD_SHARDS must list shard ids such as 0,1, got "0,x"/],
    [{ DISCORD_SHARDS: "0,1" }, /discord\.shards \(DISCORD_SHARDS\): needs the total shard count in discord\.shardCount \(DISCORD_SHARD_COUNT\)/],
    [{ DISCORD_SHARD_COUNT: "auto", DISCORD_SHARDS: "0" }, /DISCORD_SHARDS\): needs a fixed shard count, not auto/],
    [{ DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "1,2" }, /DISCORD_SHARDS\): shard 2 is not below the shard count 2 \(ids run from 0 to 1\)/],
    [{ DISCORD_SHARD_COUNT: "4", DISCORD_SHARDS: "1,3,1" }, /DISCORD_SHARDS\): lists shard 1 twice/],
  ])("refuse %o", (env, message) => {
    expect(() => discord(env)).toThrow(message);
  });
});
