import { createDiscordAdapter } from "../../src/adapters/discord/index.js";
import { runAdapterContract } from "../contract/adapter-contract.js";
import { startScenario } from "../fakes/discord/scenario.js";

runAdapterContract("discord", async () => {
  // Pacing is the outbound tests' subject: here a quarter of the default 1.2 s, the fake's buckets scaled alike.
  const { fake, general, random, member, dmUser } = await startScenario({ messageBucket: { limit: 5, windowMs: 1250 }, webhookBucket: { limit: 5, windowMs: 1250 } });
  const users = new Map<string, string>();
  /** The user a `userName` stands for; the DM user by default, renamed as asked. */
  const userFor = (where: { chat: "private" | "group"; userId?: string; userName?: string }) => {
    if (where.userId) return where.userId;
    const base = where.chat === "private" ? dmUser : member;
    if (where.userName && !users.has(where.userName)) {
      base.globalName = where.userName;
      users.set(where.userName, base.id);
    }
    return base.id;
  };
  return {
    // A trailing slash, as people often write DISCORD_API_URL, must not matter.
    adapter: createDiscordAdapter({ token: fake.token, apiUrl: `${fake.apiUrl}/`, editIntervalMs: 300 }),
    maxLength: 2000,
    supportsGroups: true,
    groupChatIds: [general, random],
    async userSays(text, where) {
      const authorId = userFor(where);
      if (where.chat === "private") await fake.sendDm(authorId, text);
      else await fake.sendGuildMessage({ channelId: where.chatId ?? general, authorId, content: text, mentionBot: where.mention ?? false });
    },
    async botMessages(where) {
      const channelId = where.chat === "private" ? fake.dmChannelId(where.chatId ?? dmUser.id) : (where.chatId ?? general);
      return fake.botMessages(channelId).map((m) => m.content);
    },
    close: () => fake.close(),
  };
});
