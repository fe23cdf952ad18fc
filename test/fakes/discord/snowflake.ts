/** Discord's epoch (2015-01-01T00:00:00Z) in Unix milliseconds. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

let increment = 0n;

/**
 * A snowflake shaped like Discord's: milliseconds since the Discord epoch in
 * the top bits, then worker, process and a counter. Today that is 19 digits,
 * which is what discord.js and our adapter must cope with (never a small
 * number that happens to fit in a double).
 */
export function nextSnowflake(): string {
  const sinceEpochMs = BigInt(Date.now()) - DISCORD_EPOCH_MS;
  increment = (increment + 1n) & 0xfffn;
  const workerId = 1n;
  const processId = 0n;
  return ((sinceEpochMs << 22n) | (workerId << 17n) | (processId << 12n) | increment).toString();
}

/** The shard that gets a guild's events, as Discord routes them: `(guild_id >> 22) % shard_count`. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A fresh snowflake whose guild would be on shard `shardId` of `shardCount`: its timestamp moved back by at most `shardCount - 1` ms. */
export function snowflakeOnShard(shardId: number, shardCount: number): string {
  const id = BigInt(nextSnowflake());
  const offset = (BigInt(shardOf(id.toString(), shardCount)) - BigInt(shardId) + BigInt(shardCount)) % BigInt(shardCount);
  return (id - (offset << 22n)).toString();
}

/** A random token of the given length, like an interaction token. */
export function randomToken(length = 64): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  let token = "";
  for (let i = 0; i < length; i++) token += alphabet[Math.floor(Math.random() * alphabet.length)];
  return token;
}
