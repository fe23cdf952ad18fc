/** `parley --shards`: settings and arguments it refuses before spawning anything, with exit code 2 and the reason. */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runShards } from "../../src/cli/shards.js";

const base = { PARLEY_CONFIG: fileURLToPath(new URL("../support/empty-config.yaml", import.meta.url)), DISCORD_TOKEN: "x" };

async function refusal(arg: string | undefined, env: Record<string, string>): Promise<{ code: number; said: string }> {
  let said = "";
  const err = { write: (text: string) => ((said += text), true) } as unknown as NodeJS.WritableStream;
  const code = await runShards(arg, env, err);
  return { code, said };
}

describe("parley --shards refuses", () => {
  it.each([
    ["a count that is not one", "many", base, '--shards takes a number of shards or auto, got "many"'],
    ["zero shards", "0", base, '--shards takes a number of shards or auto, got "0"'],
    ["no Discord token", "auto", { PARLEY_CONFIG: base.PARLEY_CONFIG }, "--shards runs Discord shards and needs DISCORD_TOKEN"],
    ["DISCORD_SHARDS beside it", "2", { ...base, DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "0" }, "DISCORD_SHARDS chooses them per process instead"],
    ["a bad setting", "2", { ...base, DISCORD_SHARD_COUNT: "lots" }, 'DISCORD_SHARD_COUNT must be a number of shards or auto, got "lots"'],
  ])("%s", async (_case, arg, env, message) => {
    const { code, said } = await refusal(arg, env);
    expect(code).toBe(2);
    expect(said).toContain(message);
  });
});
