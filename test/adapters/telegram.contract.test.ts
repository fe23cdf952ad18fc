import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { runAdapterContract, type AdapterHarness } from "../contract/adapter-contract.js";
import { startFakeTelegram, type FakeChat, type FakeUser } from "../fakes/telegram.js";

runAdapterContract("telegram", async (): Promise<AdapterHarness> => {
  // Pacing is the outbound tests' subject: here a tenth of the defaults, flood limits scaled alike.
  const tg = await startFakeTelegram({
    flood: { private: { burst: 3, perMinute: 600 }, group: { burst: 5, perMinute: 200 }, global: { burst: 30, perMinute: 1800 } },
  });
  const adapter = createTelegramAdapter({ token: tg.token, apiRoot: tg.apiRoot, conflictCheckSec: 0, botInfo: tg.botInfo, privateEditIntervalMs: 100, groupEditIntervalMs: 300 });
  const owner = tg.user({ first_name: "Owner" });
  const groups: [FakeChat, FakeChat] = [tg.group({ title: "Group A", creator: owner }), tg.group({ title: "Group B", creator: owner })];
  const users = new Map<string, FakeUser>();
  const userFor = (id: string | undefined, name: string | undefined): FakeUser => {
    const key = id ?? "42";
    let user = users.get(key);
    if (!user) {
      user = tg.user({ id: Number(key), first_name: name ?? "Ada" });
      users.set(key, user);
    }
    return user;
  };
  const groupFor = (chatId: string | undefined) => groups.find((g) => String(g.id) === chatId) ?? groups[0];

  return {
    adapter,
    maxLength: 4096,
    supportsGroups: true,
    groupChatIds: [String(groups[0].id), String(groups[1].id)],
    async userSays(text, where) {
      const user = userFor(where.userId, where.userName);
      const message =
        where.chat === "private"
          ? tg.say(text, { chatId: tg.privateChat(user).id, from: user })
          : tg.groupMessage(groupFor(where.chatId), user, text, { mention: where.mention });
      await tg.waitDelivered(message);
    },
    async botMessages(where) {
      const chatId = where.chat === "private" ? Number(where.chatId ?? userFor(undefined, undefined).id) : groupFor(where.chatId).id;
      return tg.botTexts(chatId);
    },
    close: () => tg.close(),
  };
});
