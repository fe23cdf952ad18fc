/** Being added to a group: the adapter asks the core, and leaves (saying why) when told to. */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { BotStatus } from "../fakes/telegram.js";
import { startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const notice = "This bot is private here; leaving.";

describe("telegram: added to a group", () => {
  it("tells the core who added it where, and stays quietly when the core says stay", async () => {
    rig = await startRig();
    const { tg } = rig;
    const owner = tg.user({ first_name: "Owner" });
    const group = tg.group({ id: -1001111222333, supergroup: true, title: "Welcome", botMember: false });
    tg.addBot(group, owner);
    // Updates of one chat are handled in order: once this message is in, the join was handled.
    tg.groupMessage(group, owner, "hello bot", { mention: true });
    await rig.waitReceived(1);
    expect(rig.joinings).toEqual([{ platform: "telegram", id: "-1001111222333", addedBy: `telegram:${owner.id}` }]);
    expect(tg.callsOf("sendMessage")).toEqual([]);
    expect(tg.callsOf("leaveChat")).toEqual([]);
    expect(tg.botStatus(group.id)).toBe("member");
    expect(rig.logs()).toContain("added to a Telegram group");
  });

  it("says the core's notice once, as plain text, then leaves, when the core says leave", async () => {
    rig = await startRig();
    const { tg } = rig;
    rig.joinVerdict = () => ({ stay: false, notice });
    const stranger = tg.user({ first_name: "Stranger" });
    const group = tg.group({ title: "Somewhere", botMember: false });
    tg.addBot(group, stranger, { admin: true });
    await tg.waitFor(() => tg.callsOf("leaveChat", group.id).length === 1, 8000, "the bot to leave");
    expect(tg.botTexts(group.id)).toEqual([notice]);
    const [send] = tg.callsOf("sendMessage", group.id);
    expect(send!.params.parse_mode).toBeUndefined();
    expect(send!.atMs).toBeLessThanOrEqual(tg.callsOf("leaveChat", group.id)[0]!.atMs);
    expect(tg.botStatus(group.id)).toBe("left");
    // Telegram tells the bot it left: that is no join, so the core is not asked again.
    await tg.waitFor(() => tg.pendingUpdates === 0, 8000, "the leave update to be confirmed");
    const otherUser = tg.user();
    tg.privateMessage(otherUser, "still working?");
    await rig.waitReceived(1);
    expect(rig.joinings).toHaveLength(1);
    expect(tg.callsOf("sendMessage", group.id)).toHaveLength(1);
    expect(rig.logs()).toMatch(/added to a Telegram group it does not serve; leaving/);
    expect(rig.logs()).toContain(String(group.id));
  });

  it("is not a join when the bot is removed, promoted, or a private chat or channel changes", async () => {
    rig = await startRig();
    const { tg } = rig;
    const admin = tg.user({ first_name: "Admin" });
    const group = tg.group({ creator: admin });
    const member = (status: BotStatus) => ({ status, user: tg.bot });
    // Promoted from member to administrator: it was already in.
    tg.pushUpdate({ my_chat_member: { chat: group, from: admin, date: 0, old_chat_member: member("member"), new_chat_member: member("administrator") } });
    // A user blocks and unblocks the bot in their private chat.
    const dm = tg.privateChat(admin);
    tg.pushUpdate({ my_chat_member: { chat: dm, from: admin, date: 0, old_chat_member: member("kicked"), new_chat_member: member("member") } });
    // Added to a channel.
    const channel = { id: -1005555, type: "channel" as const, title: "News" };
    tg.pushUpdate({ my_chat_member: { chat: channel, from: admin, date: 0, old_chat_member: member("left"), new_chat_member: member("administrator") } });
    const removed = tg.removeBot(group, admin);
    await tg.waitDelivered(removed, 8000);
    tg.privateMessage(admin, "marker");
    await rig.waitReceived(1);
    expect(rig.joinings).toEqual([]);
    expect(tg.callsOf("leaveChat")).toEqual([]);
  });

  it("still leaves when the group will not let it speak, and logs what failed without throwing", async () => {
    rig = await startRig();
    const { tg } = rig;
    rig.joinVerdict = () => ({ stay: false, notice });
    const group = tg.group({ supergroup: true, botMember: false });
    tg.injectError(400, "Bad Request: not enough rights to send text messages to the chat", "sendMessage");
    tg.addBot(group, tg.user());
    await tg.waitFor(() => tg.callsOf("leaveChat", group.id).length === 1, 8000, "the bot to leave");
    expect(tg.botStatus(group.id)).toBe("left");
    expect(rig.logs()).toContain("could not say why the bot leaves a Telegram group");

    // Leaving fails too (an admin removed it first): logged, and the bot goes on serving.
    const other = tg.group({ botMember: false });
    tg.injectError(403, "Forbidden: bot was kicked from the group chat", "leaveChat");
    tg.addBot(other, tg.user());
    await tg.waitFor(() => tg.callsOf("leaveChat", other.id).length === 1, 8000, "the attempt to leave");
    await tg.waitFor(() => rig!.logs().includes("could not leave a Telegram group"), 8000, "the failure to be logged");
    const user = tg.user();
    rig.behaviour = async (_m, reply) => reply.send("still here");
    tg.privateMessage(user, "hello?");
    await tg.waitFor(() => tg.botTexts(user.id).length === 1, 8000, "an answer");
    expect(rig.logs()).not.toContain(tg.token);
  });

  it("stays, and logs, when the core cannot decide", async () => {
    rig = await startRig();
    const { tg } = rig;
    rig.joinVerdict = () => {
      throw new Error("policy exploded");
    };
    const group = tg.group({ botMember: false });
    const by = tg.user();
    tg.addBot(group, by);
    tg.groupMessage(group, by, "after", { mention: true });
    await rig.waitReceived(1);
    expect(rig.joinings).toHaveLength(1);
    expect(tg.callsOf("leaveChat")).toEqual([]);
    expect(rig.logs()).toContain("could not decide whether to stay in a Telegram group");
  });

  it("gets joins by webhook too: setWebhook asks for my_chat_member", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    rig = await startRig({ adapter: { webhook: { url, port, host: "127.0.0.1" } } });
    const { tg } = rig;
    rig.joinVerdict = () => ({ stay: false, notice });
    const group = tg.group({ botMember: false });
    tg.addBot(group, tg.user());
    await tg.waitFor(() => tg.callsOf("leaveChat", group.id).length === 1, 8000, "the bot to leave");
    expect(tg.botTexts(group.id)).toEqual([notice]);
    // The join and the leave both reached the bot by webhook, and were answered.
    await tg.waitFor(() => tg.webhookDeliveries.length === 2, 8000, "the leave update to be posted");
    expect(tg.webhookDeliveries.map((d) => d.status)).toEqual([200, 200]);
    expect(tg.droppedUpdates).toEqual([]);
    expect(rig.joinings).toHaveLength(1);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
