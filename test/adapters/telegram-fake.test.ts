/** The fake Bot API server enforces the rules the adapter is tested against. */
import { afterEach, describe, expect, it } from "vitest";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.js";

let tg: FakeTelegram;
afterEach(async () => {
  await tg?.close();
});

async function call(method: string, params: Record<string, unknown> = {}, opts: { form?: boolean; token?: string } = {}) {
  const url = `${tg.apiRoot}/bot${opts.token ?? tg.token}/${method}`;
  const res = opts.form
    ? await fetch(url, { method: "POST", body: new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v)])) })
    : await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) });
  return { status: res.status, body: (await res.json()) as { ok: boolean; result?: any; description?: string; error_code?: number; parameters?: { retry_after: number } } };
}

describe("fake Telegram Bot API", () => {
  it("answers getMe, rejects a wrong token and unknown methods", async () => {
    tg = await startFakeTelegram();
    expect((await call("getMe")).body.result).toMatchObject({ id: tg.bot.id, is_bot: true, username: tg.bot.username });
    expect(await call("getMe", {}, { token: "1:wrong" })).toEqual({ status: 401, body: { ok: false, error_code: 401, description: "Unauthorized" } });
    expect((await call("sendTelepathy")).status).toBe(404);
  });

  it("sends and edits with increasing message ids, from JSON and form bodies", async () => {
    tg = await startFakeTelegram({ flood: false });
    const chat = tg.privateChat(tg.user({ id: 7 }));
    const a = await call("sendMessage", { chat_id: chat.id, text: "one" });
    const b = await call("sendMessage", { chat_id: String(chat.id), text: "two" }, { form: true });
    expect(b.body.result.message_id).toBe(a.body.result.message_id + 1);
    const edited = await call("editMessageText", { chat_id: chat.id, message_id: a.body.result.message_id, text: "<b>uno</b>", parse_mode: "HTML" });
    expect(edited.body.result).toMatchObject({ text: "uno", entities: [{ type: "bold", offset: 0, length: 3 }] });
    expect(tg.botTexts(chat.id)).toEqual(["uno", "two"]);
    expect(tg.callsOf("sendMessage")).toHaveLength(2);
  });

  it("refuses too long, empty, unparseable and unmodified texts like Telegram", async () => {
    tg = await startFakeTelegram({ flood: false });
    const chat = tg.privateChat(tg.user());
    const send = (text: string, parse_mode?: string) => call("sendMessage", { chat_id: chat.id, text, parse_mode });
    expect((await send("x".repeat(4097))).body.description).toBe("Bad Request: message is too long");
    expect((await send("x".repeat(4096))).status).toBe(200);
    // The limit counts the text after entity parsing.
    expect((await send(`<b>${"x".repeat(4096)}</b>`, "HTML")).status).toBe(200);
    expect((await send("   ")).body.description).toBe("Bad Request: message text is empty");
    for (const bad of ["a < b", "AT&T", "<script>x</script>", "<b>open", "<b>x</i>", "</b>", "<a>no href</a>", "&nbsp;"]) {
      const res = await send(bad, "HTML");
      expect(res.status, bad).toBe(400);
      expect(res.body.description, bad).toMatch(/^Bad Request: can't parse entities: /);
    }
    expect((await send("a &lt; b &amp;&amp; c &gt; d &#128512;", "HTML")).body.result.text).toBe("a < b && c > d 😀");
    const sent = (await send("<i>same</i>", "HTML")).body.result;
    const again = await call("editMessageText", { chat_id: chat.id, message_id: sent.message_id, text: "<em>same</em>  ", parse_mode: "HTML" });
    expect(again.body.description).toMatch(/^Bad Request: message is not modified/);
  });

  it("enforces flood limits per chat with 429 and retry_after, and lets an error be injected", async () => {
    tg = await startFakeTelegram();
    const dm = tg.privateChat(tg.user());
    const group = tg.group();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call("sendMessage", { chat_id: dm.id, text: `m${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = tg.calls.at(-1)!.response;
    expect(limited).toEqual({ ok: false, error_code: 429, description: "Too Many Requests: retry after 1", parameters: { retry_after: 1 } });
    // Another chat is not affected; a group allows a burst of 5, then one per 3 s.
    const groupStatuses = [];
    for (let i = 0; i < 6; i++) groupStatuses.push((await call("sendMessage", { chat_id: group.id, text: `g${i}` })).status);
    expect(groupStatuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(tg.calls.at(-1)!.response.parameters!.retry_after).toBe(3);
    // Typing does not count.
    expect((await call("sendChatAction", { chat_id: dm.id, action: "typing" })).status).toBe(200);

    tg.inject429(7, "getMe");
    expect((await call("getMe")).body).toMatchObject({ error_code: 429, parameters: { retry_after: 7 } });
    expect((await call("getMe")).status).toBe(200);
  });

  it("long-polls: answers at once when an update is pushed, confirms by offset, and times out empty", async () => {
    tg = await startFakeTelegram();
    const user = tg.user();
    const started = Date.now();
    const polling = call("getUpdates", { offset: 0, timeout: 5 });
    setTimeout(() => tg.privateMessage(user, "hello"), 100);
    const first = await polling;
    // At once, not at the end of the 5 s poll: room for a busy machine.
    expect(Date.now() - started).toBeLessThan(4000);
    expect(first.body.result).toHaveLength(1);
    const id = first.body.result[0].update_id;
    expect(first.body.result[0].message).toMatchObject({ text: "hello", chat: { id: user.id, type: "private" }, from: { id: user.id } });
    // Not confirmed yet: the same update again.
    expect((await call("getUpdates", { offset: 0, timeout: 0 })).body.result[0].update_id).toBe(id);
    const emptyStarted = Date.now();
    expect((await call("getUpdates", { offset: id + 1, timeout: 1 })).body.result).toEqual([]);
    expect(Date.now() - emptyStarted).toBeGreaterThanOrEqual(900);
    expect(tg.pendingUpdates).toBe(0);
  });

  it("marks commands and mentions with entities, and lists a group's admins", async () => {
    tg = await startFakeTelegram();
    const creator = tg.user({ first_name: "C" });
    const admin = tg.user({ first_name: "A" });
    const group = tg.group({ creator, admins: [admin] });
    const m = tg.command(group, admin, "reset", "now", { atBot: true });
    expect(m.text).toBe(`/reset@${tg.bot.username} now`);
    expect(m.entities).toEqual([{ type: "bot_command", offset: 0, length: `/reset@${tg.bot.username}`.length }]);
    const mention = tg.groupMessage(group, admin, "hi", { mention: true });
    expect(mention.entities).toEqual([{ type: "mention", offset: 0, length: tg.bot.username.length + 1 }]);
    const admins = (await call("getChatAdministrators", { chat_id: group.id })).body.result;
    expect(admins.map((a: { status: string; user: { id: number } }) => [a.status, a.user.id])).toEqual([
      ["creator", creator.id],
      ["administrator", admin.id],
    ]);
  });

  it("delivers a reply with the message it answers, and text mentions carrying the user", async () => {
    tg = await startFakeTelegram();
    const ann = tg.user({ first_name: "Ann" });
    const ben = tg.user({ first_name: "Ben" });
    const group = tg.group();
    const first = tg.groupMessage(group, ann, "first");
    tg.groupMessage(group, ben, "thanks Ann", { replyTo: first.message_id, mentionUsers: [ann] });
    const { result } = (await call("getUpdates", { timeout: 0 })).body;
    expect(result[1].message).toMatchObject({
      text: "thanks Ann",
      from: { id: ben.id },
      reply_to_message: { message_id: first.message_id, from: { id: ann.id }, text: "first" },
      entities: [{ type: "text_mention", offset: 7, length: 3, user: { id: ann.id, first_name: "Ann" } }],
    });
    expect(() => tg.groupMessage(group, ben, "nobody named", { mentionUsers: [ann] })).toThrow(/does not appear/);
  });

  it("adds the bot to a group with a my_chat_member update, and keeps the group's messages from it until then", async () => {
    tg = await startFakeTelegram();
    const owner = tg.user({ first_name: "Owner" });
    const group = tg.group({ supergroup: true, botMember: false });
    tg.groupMessage(group, owner, "before the bot came");
    expect((await call("sendMessage", { chat_id: group.id, text: "hi" })).body).toEqual({
      ok: false,
      error_code: 403,
      description: "Forbidden: bot is not a member of the supergroup chat",
    });
    const added = tg.addBot(group, owner, { admin: true });
    expect(() => tg.addBot(group, owner)).toThrow(/already in/);
    tg.groupMessage(group, owner, "now it is here");
    const { result } = (await call("getUpdates", { timeout: 0 })).body;
    expect(result).toHaveLength(2);
    expect(result[0]).toMatchObject({
      update_id: added.update_id,
      my_chat_member: {
        chat: { id: group.id, type: "supergroup" },
        from: { id: owner.id },
        old_chat_member: { status: "left", user: { id: tg.bot.id } },
        new_chat_member: { status: "administrator", user: { id: tg.bot.id } },
      },
    });
    expect(result[1].message.text).toBe("now it is here");
    expect(tg.botStatus(group.id)).toBe("administrator");
    expect((await call("sendMessage", { chat_id: group.id, text: "hi" })).status).toBe(200);
  });

  it("leaveChat takes the bot out of a group: told by an update, then 403 and no more updates from there", async () => {
    tg = await startFakeTelegram();
    const member = tg.user();
    const group = tg.group();
    const dm = tg.privateChat(member);
    expect((await call("leaveChat", { chat_id: group.id })).body).toEqual({ ok: true, result: true });
    expect(tg.callsOf("leaveChat", group.id)).toHaveLength(1);
    expect(tg.botStatus(group.id)).toBe("left");
    for (const [method, params] of [
      ["sendMessage", { text: "still here?" }],
      ["sendChatAction", { action: "typing" }],
      ["getChatAdministrators", {}],
      ["leaveChat", {}],
    ] as const) {
      expect((await call(method, { chat_id: group.id, ...params })).body, method).toEqual({
        ok: false,
        error_code: 403,
        description: "Forbidden: bot is not a member of the group chat",
      });
    }
    tg.groupMessage(group, member, "the bot cannot see this");
    const { result } = (await call("getUpdates", { timeout: 0 })).body;
    expect(result.map((u: { my_chat_member?: unknown; message?: unknown }) => Object.keys(u).filter((k) => k !== "update_id"))).toEqual([["my_chat_member"]]);
    expect(result[0].my_chat_member).toMatchObject({ from: { id: tg.bot.id }, old_chat_member: { status: "member" }, new_chat_member: { status: "left" } });
    expect(tg.messages(group.id).map((m) => m.text)).toEqual(["the bot cannot see this"]);
    expect((await call("leaveChat", { chat_id: dm.id })).status).toBe(400);

    // Removed by an admin: "kicked".
    const other = tg.group({ supergroup: true });
    tg.removeBot(other, member);
    expect((await call("sendMessage", { chat_id: other.id, text: "x" })).body.description).toBe("Forbidden: bot was kicked from the supergroup chat");
  });

  it("keeps only the update types the bot asked for in allowed_updates", async () => {
    tg = await startFakeTelegram();
    const user = tg.user();
    const a = tg.group({ botMember: false });
    const b = tg.group({ botMember: false });
    // By default my_chat_member is sent.
    tg.addBot(a, user);
    expect((await call("getUpdates", { timeout: 0, allowed_updates: ["message"] })).body.result).toHaveLength(1);
    // From then on only messages: the change is not kept.
    tg.addBot(b, user);
    tg.groupMessage(b, user, "hello");
    const { result } = (await call("getUpdates", { offset: 2, timeout: 0 })).body;
    expect(result.map((u: { message?: { text: string } }) => u.message?.text)).toEqual(["hello"]);
    expect(tg.droppedUpdates.map((u) => u.my_chat_member?.chat.id)).toEqual([b.id]);
    // Sent as a form field, an empty list means the default again.
    const next = result[0].update_id + 1;
    await call("getUpdates", { offset: next, timeout: 0, allowed_updates: "[]" }, { form: true });
    tg.removeBot(b, user);
    expect((await call("getUpdates", { offset: next, timeout: 0 })).body.result[0].my_chat_member.new_chat_member.status).toBe("kicked");
  });
});
