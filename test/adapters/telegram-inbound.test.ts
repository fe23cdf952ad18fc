import { afterEach, describe, expect, it } from "vitest";
import { command, sleep, startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const texts = (r: TelegramRig) => r.received.map((x) => ({ text: x.message.text, addressed: x.message.addressed }));

/** Group pacing at a tenth of the default 3 s (flood limits scaled alike), where pacing is not the subject. */
const quickGroups = { adapter: { groupEditIntervalMs: 300 }, fake: { flood: { group: { burst: 5, perMinute: 200 } } } };

describe("telegram inbound: private chats", () => {
  it("hands every private message over as addressed, with keys, display name and the owner as moderator", async () => {
    rig = await startRig();
    const { tg } = rig;
    const ada = tg.user({ id: 501, first_name: "Ada", last_name: "Lovelace", username: "ada" });
    tg.privateMessage(ada, "what is a closure?");
    await rig.waitReceived(1);
    const { message } = rig.received[0]!;
    expect(message.platform).toBe("telegram");
    expect(message.channel).toEqual({ key: "telegram:501", private: true, title: "Ada Lovelace" });
    expect(message.author).toEqual({ key: "telegram:501", name: "Ada Lovelace" });
    expect(message.text).toBe("what is a closure?");
    expect(message.addressed).toBe(true);
    expect(await message.isModerator()).toBe(true);
    // The owner of a private chat is its moderator without asking Telegram.
    expect(tg.callsOf("getChatAdministrators")).toHaveLength(0);
  });

  it("uses the username when there is no last name... and the first name alone when that is all", async () => {
    rig = await startRig();
    const { tg } = rig;
    tg.privateMessage(tg.user({ first_name: "Grace" }), "hi");
    tg.privateMessage(tg.user({ first_name: "", username: "turing" }), "hi");
    await rig.waitReceived(2);
    expect(rig.received.map((r) => r.message.author.name).sort()).toEqual(["Grace", "turing"]);
  });

  it("turns /cmd@botname into /cmd, and leaves a command for another bot unaddressed", async () => {
    rig = await startRig();
    const { tg } = rig;
    const u = tg.user();
    const chat = tg.privateChat(u);
    tg.command(chat, u, "remember", "the sky is blue", { atBot: true });
    tg.say("/help@some_other_bot", { chatId: chat.id, from: u });
    await rig.waitReceived(2);
    expect(texts(rig)).toEqual([
      { text: "/remember the sky is blue", addressed: true },
      { text: "/help@some_other_bot", addressed: false },
    ]);
  });
});

describe("telegram inbound: /start", () => {
  it("turns the /start Telegram sends on first contact into /help, unless a start command exists", async () => {
    rig = await startRig();
    const u = rig.tg.user();
    rig.tg.privateMessage(u, "/start");
    await rig.waitReceived(1);
    expect(rig.received[0]!.message.text).toBe("/help");
    await rig.stop();
    rig = await startRig({ commands: [command("start", "Say hello")] });
    rig.tg.privateMessage(rig.tg.user(), "/start");
    await rig.waitReceived(1);
    expect(rig.received[0]!.message.text).toBe("/start");
  });
});

describe("telegram inbound: groups", () => {
  it("is addressed by commands, @mentions and replies to its own messages, and not by chatter", async () => {
    rig = await startRig();
    const { tg } = rig;
    const alice = tg.user({ first_name: "Alice" });
    const group = tg.group({ title: "Rustaceans", supergroup: true, creator: alice });
    rig.behaviour = async (m, reply) => {
      if (m.text === "say something") await reply.send("something");
    };
    tg.groupMessage(group, alice, "anyone here tried the new release?");
    tg.groupMessage(group, alice, "say something", { mention: true });
    await tg.waitFor(() => tg.botMessages(group.id).length === 1);
    const botMessage = tg.botMessages(group.id)[0]!;
    tg.groupMessage(group, alice, "and another thing", { replyTo: botMessage.message_id });
    const human = tg.messages(group.id).find((m) => m.text === "anyone here tried the new release?")!;
    tg.groupMessage(group, alice, "replying to a human", { replyTo: human.message_id });
    tg.command(group, alice, "chat", "hello", { atBot: true });
    tg.command(group, alice, "chat", "plain command");
    tg.say("/chat@another_bot hi", { chatId: group.id, from: alice });
    tg.say(`hey @${tg.bot.username}, what's new?`, { chatId: group.id, from: alice });
    tg.say(`@${tg.bot.username.toUpperCase()} shouting`, { chatId: group.id, from: alice });
    tg.say("@someone_else look", { chatId: group.id, from: alice });
    await rig.waitReceived(10);
    expect(texts(rig)).toEqual([
      { text: "anyone here tried the new release?", addressed: false },
      { text: "say something", addressed: true },
      { text: "and another thing", addressed: true },
      { text: "replying to a human", addressed: false },
      { text: "/chat hello", addressed: true },
      { text: "/chat plain command", addressed: true },
      { text: "/chat@another_bot hi", addressed: false },
      { text: "hey, what's new?", addressed: true },
      { text: "shouting", addressed: true },
      { text: "@someone_else look", addressed: false },
    ]);
    const first = rig.received[1]!.message;
    expect(first.channel).toEqual({ key: `telegram:${group.id}`, private: false, title: "Rustaceans" });
    expect(first.author.name).toBe("Alice");
  });

  it("reads a photo's caption as its text, and finds @mentions in a message that comes without entities", async () => {
    rig = await startRig();
    const { tg } = rig;
    const dan = tg.user({ first_name: "Dan" });
    const group = tg.group({ id: -1009876543210123, supergroup: true });
    tg.say(`@${tg.bot.username} what is in this picture?`, { chatId: group.id, from: dan, asCaption: true });
    tg.say("a holiday photo, not for the bot", { chatId: group.id, from: dan, asCaption: true });
    tg.say(`/chat@${tg.bot.username} caption command`, { chatId: group.id, from: dan, asCaption: true });
    tg.say(`hi @${tg.bot.username}, no entities here`, { chatId: group.id, from: dan, withoutEntities: true });
    tg.say(`write to me@${tg.bot.username}.com or @${tg.bot.username}s`, { chatId: group.id, from: dan, withoutEntities: true });
    tg.say("describe it", { chatId: tg.privateChat(dan).id, from: dan, asCaption: true });
    await rig.waitReceived(6);
    const inGroup = rig.received.filter((r) => r.message.channel.key === `telegram:${group.id}`);
    expect(inGroup.map((r) => ({ text: r.message.text, addressed: r.message.addressed }))).toEqual([
      { text: "what is in this picture?", addressed: true },
      { text: "a holiday photo, not for the bot", addressed: false },
      { text: "/chat caption command", addressed: true },
      { text: "hi, no entities here", addressed: true },
      { text: `write to me@${tg.bot.username}.com or @${tg.bot.username}s`, addressed: false },
    ]);
    const inPrivate = rig.received.find((r) => r.message.channel.private)!;
    expect(inPrivate.message).toMatchObject({ text: "describe it", addressed: true });
  });

  it("treats each forum topic as its own channel and answers inside the topic", async () => {
    rig = await startRig(quickGroups);
    const { tg } = rig;
    const bob = tg.user({ first_name: "Bob" });
    const forum = tg.group({ forum: true, title: "Forum" });
    rig.behaviour = async (m, reply) => reply.send(`in ${m.channel.key}`);
    tg.groupMessage(forum, bob, "topic one", { mention: true, threadId: 11 });
    tg.groupMessage(forum, bob, "topic two", { mention: true, threadId: 22 });
    tg.groupMessage(forum, bob, "general", { mention: true });
    await rig.waitReceived(3);
    expect(rig.received.map((r) => r.message.channel.key)).toEqual([`telegram:${forum.id}:11`, `telegram:${forum.id}:22`, `telegram:${forum.id}`]);
    await tg.waitFor(() => tg.botMessages(forum.id).length === 3, 15_000);
    expect(tg.botTexts(forum.id, 11)).toEqual([`in telegram:${forum.id}:11`]);
    expect(tg.botTexts(forum.id, 22)).toEqual([`in telegram:${forum.id}:22`]);
    const sends = tg.callsOf("sendMessage", forum.id).map((c) => c.params.message_thread_id);
    expect(sends.sort()).toEqual([11, 22, undefined].sort());
  });

  it("does not take a topic's first message for a reply to the bot", async () => {
    rig = await startRig(quickGroups);
    const { tg } = rig;
    const bob = tg.user({ first_name: "Bob" });
    const forum = tg.group({ forum: true });
    // The bot created the topic: Telegram marks later topic messages as replies to its first message.
    rig.behaviour = async (_m, reply) => reply.send("topic opened");
    tg.groupMessage(forum, bob, "open", { mention: true, threadId: 1 });
    await tg.waitFor(() => tg.botMessages(forum.id).length === 1);
    const root = tg.botMessages(forum.id)[0]!;
    tg.pushUpdate({
      message: {
        message_id: 900,
        date: 0,
        chat: forum,
        from: bob,
        text: "chatting in the topic",
        message_thread_id: root.message_id,
        is_topic_message: true,
        reply_to_message: root,
      },
    });
    await rig.waitReceived(2);
    expect(rig.received[1]!.message.addressed).toBe(false);
  });

  it("ignores other bots, edited messages and channel posts", async () => {
    rig = await startRig();
    const { tg } = rig;
    const carol = tg.user({ first_name: "Carol" });
    const group = tg.group();
    const original = tg.groupMessage(group, carol, "first", { mention: true });
    await rig.waitReceived(1);
    tg.botMessage(group, `@${tg.bot.username} hello fellow bot`);
    tg.editedMessage(group.id, original.message_id, `@${tg.bot.username} edited`);
    tg.channelPost(`@${tg.bot.username} channel news`);
    // The same post, forwarded by Telegram into the channel's discussion group.
    const channel = { id: -1009999999999, type: "channel" as const, title: "A channel" };
    tg.pushUpdate({
      message: {
        message_id: 990,
        date: 0,
        chat: group,
        from: { id: 777000, is_bot: false, first_name: "Telegram" },
        sender_chat: channel,
        text: `@${tg.bot.username} channel news`,
        entities: [{ type: "mention", offset: 0, length: tg.bot.username.length + 1 }],
        is_automatic_forward: true,
      },
    });
    const last = tg.groupMessage(group, carol, "last", { mention: true });
    await tg.waitDelivered(last);
    await rig.waitReceived(2);
    await sleep(100);
    expect(rig.received.map((r) => r.message.text)).toEqual(["first", "last"]);
  });

  it("accepts a group's anonymous admin as a moderator", async () => {
    rig = await startRig();
    const { tg } = rig;
    const group = tg.group({ supergroup: true, title: "Ops" });
    tg.pushUpdate({
      message: {
        message_id: 1,
        date: 0,
        chat: group,
        from: { id: 1087968824, is_bot: true, first_name: "Group", username: "GroupAnonymousBot" },
        sender_chat: group,
        text: "/reset",
        entities: [{ type: "bot_command", offset: 0, length: 6 }],
      },
    });
    await rig.waitReceived(1);
    const { message } = rig.received[0]!;
    expect(message.addressed).toBe(true);
    expect(message.author.name).toBe("Ops");
    expect(await message.isModerator()).toBe(true);
  });
});

describe("telegram inbound: where and whom (for the access lists and /block)", () => {
  it("gives the chat id as the place, in private chats and groups", async () => {
    rig = await startRig();
    const { tg } = rig;
    const ada = tg.user({ id: 501, first_name: "Ada" });
    const group = tg.group({ id: -1001234567890, supergroup: true });
    const forum = tg.group({ id: -1009876, forum: true });
    tg.privateMessage(ada, "hi");
    tg.groupMessage(group, ada, "hi", { mention: true });
    tg.groupMessage(forum, ada, "in a topic", { mention: true, threadId: 5 });
    await rig.waitReceived(3);
    const places = Object.fromEntries(rig.received.map((r) => [r.message.channel.key, r.message.place]));
    // Exactly these: Telegram has no server; a forum topic is still its group, which is its parent (blocks made there hold in every topic).
    expect(places).toEqual({
      "telegram:501": { chat: "501" },
      "telegram:-1001234567890": { chat: "-1001234567890" },
      "telegram:-1009876:5": { chat: "-1009876", parent: "-1009876" },
    });
  });

  it("lists the people a message mentions by text mention, once each, without the bot or bare @usernames", async () => {
    rig = await startRig();
    const { tg } = rig;
    const mod = tg.user({ first_name: "Mod" });
    const ann = tg.user({ first_name: "Ann", last_name: "Smith" });
    const ben = tg.user({ first_name: "Ben" });
    const group = tg.group({ creator: mod });
    const botAsUser = { ...tg.bot };
    const text = "/block Ann and Ben, not Parley or @someone_else; Ann again";
    tg.say(text, {
      chatId: group.id,
      from: mod,
      mentionUsers: [ann, ben, botAsUser],
      entities: [{ type: "text_mention", offset: text.lastIndexOf("Ann"), length: 3, user: ann }],
    });
    tg.groupMessage(group, mod, "no one named here", { mention: true });
    await rig.waitReceived(2);
    const [block, plain] = rig.received.map((r) => r.message);
    expect(block!.mentions).toEqual([
      { key: `telegram:${ann.id}`, name: "Ann Smith" },
      { key: `telegram:${ben.id}`, name: "Ben" },
    ]);
    // Mentioning the bot by text mention still addresses it, and is not someone to act on.
    expect(block!.addressed).toBe(true);
    expect(plain!.mentions).toEqual([]);
  });

  it("names the message a reply answers: its author and its text or caption, the bot's own included", async () => {
    rig = await startRig();
    const { tg } = rig;
    const mod = tg.user({ first_name: "Mod" });
    const troll = tg.user({ first_name: "Troll", username: "troll99" });
    const group = tg.group({ creator: mod });
    rig.behaviour = async (m, reply) => {
      if (m.text === "speak") await reply.send("I spoke");
    };
    const rude = tg.groupMessage(group, troll, "something rude");
    const photo = tg.say("a rude picture", { chatId: group.id, from: troll, asCaption: true });
    tg.groupMessage(group, mod, "speak", { mention: true });
    await tg.waitFor(() => tg.botMessages(group.id).length === 1);
    const botMessage = tg.botMessages(group.id)[0]!;
    tg.command(group, mod, "block", "", { replyTo: rude.message_id });
    tg.command(group, mod, "block", "", { replyTo: photo.message_id });
    tg.groupMessage(group, mod, "about what you said", { replyTo: botMessage.message_id });
    tg.groupMessage(group, mod, "not a reply", { mention: true });
    await rig.waitReceived(7);
    const replies = rig.received.slice(3).map((r) => r.message.replyTo);
    expect(replies).toEqual([
      { author: { key: `telegram:${troll.id}`, name: "Troll" }, text: "something rude" },
      {
        author: { key: `telegram:${troll.id}`, name: "Troll" },
        text: "a rude picture",
        attachments: [expect.objectContaining({ kind: "image", name: "photo.jpg", mimeType: "image/jpeg" })],
      },
      { author: { key: `telegram:${tg.bot.id}`, name: "Parley", bot: true }, text: "I spoke" },
      undefined,
    ]);
    expect(rig.received.at(-1)!.message).not.toHaveProperty("replyTo");
  });

  it("does not take a forum topic's first message for what a message replies to, but sees a real reply in a topic", async () => {
    rig = await startRig();
    const { tg } = rig;
    const bob = tg.user({ first_name: "Bob" });
    const cy = tg.user({ first_name: "Cy" });
    const forum = tg.group({ forum: true });
    const root = tg.groupMessage(forum, cy, "topic opener", { threadId: 1 });
    const inTopic = (id: number, text: string, replyTo: typeof root) =>
      tg.pushUpdate({
        message: { message_id: id, date: 0, chat: forum, from: bob, text, message_thread_id: root.message_id, is_topic_message: true, reply_to_message: replyTo },
      });
    // Telegram shows every message of a topic as a reply to its first message.
    inTopic(900, `@${tg.bot.username} hello topic`, root);
    const answered = { ...tg.groupMessage(forum, cy, "a real message", { threadId: root.message_id }) };
    delete answered.reply_to_message;
    inTopic(901, `@${tg.bot.username} replying to Cy`, answered);
    await rig.waitReceived(4);
    const byText = Object.fromEntries(rig.received.map((r) => [r.message.text, r.message.replyTo]));
    expect(byText["hello topic"]).toBeUndefined();
    expect(byText["replying to Cy"]).toEqual({ author: { key: `telegram:${cy.id}`, name: "Cy" }, text: "a real message" });
  });
});

describe("telegram moderators", () => {
  it("reads admins and the creator from Telegram, caches them, and refreshes after adminCacheMs", async () => {
    rig = await startRig({ adapter: { adminCacheMs: 300 } });
    const { tg } = rig;
    const creator = tg.user({ first_name: "Creator" });
    const admin = tg.user({ first_name: "Admin" });
    const member = tg.user({ first_name: "Member" });
    const group = tg.group({ creator, admins: [admin] });
    for (const u of [creator, admin, member]) tg.command(group, u, "reset");
    await rig.waitReceived(3);
    const [c, a, m] = rig.received.map((r) => r.message);
    expect(await Promise.all([c!.isModerator(), a!.isModerator(), m!.isModerator()])).toEqual([true, true, false]);
    expect(tg.callsOf("getChatAdministrators", group.id)).toHaveLength(1);

    // Promote the member: the cached list still says no until the cache expires.
    tg.setAdmins(group.id, [admin, member]);
    expect(await m!.isModerator()).toBe(false);
    await sleep(350);
    expect(await m!.isModerator()).toBe(true);
    expect(tg.callsOf("getChatAdministrators", group.id)).toHaveLength(2);
  });

  it("caches for five minutes by default", async () => {
    rig = await startRig();
    const { tg } = rig;
    const member = tg.user();
    const group = tg.group({ admins: [] });
    tg.command(group, member, "reset");
    await rig.waitReceived(1);
    const message = rig.received[0]!.message;
    expect(await message.isModerator()).toBe(false);
    tg.setAdmins(group.id, [member]);
    expect(await message.isModerator()).toBe(false);
    expect(tg.callsOf("getChatAdministrators", group.id)).toHaveLength(1);
  });

  it("turns a failed admin lookup into a ParleyError without the token", async () => {
    rig = await startRig();
    const { tg } = rig;
    const group = tg.group();
    tg.command(group, tg.user(), "reset");
    await rig.waitReceived(1);
    tg.injectError(400, "Bad Request: CHAT_ADMIN_REQUIRED", "getChatAdministrators");
    const error = await rig.received[0]!.message.isModerator().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "ParleyError", code: "platform_error" });
    expect(JSON.stringify(error)).not.toContain(tg.token);
    expect(String((error as Error).cause)).not.toContain(tg.token);
  });
});

describe("telegram start", () => {
  it("registers the command menu with descriptions, leaving out names Telegram refuses", async () => {
    rig = await startRig({ commands: [command("chat", "Talk to the model"), command("persona", "Switch persona"), command("Bad-Name", "nope")] });
    expect(rig.tg.commands).toEqual([
      { command: "chat", description: "Talk to the model" },
      { command: "persona", description: "Switch persona" },
    ]);
  });

  it("asks getMe when not given botInfo, and polls without a webhook", async () => {
    rig = await startRig({ askGetMe: true });
    expect(rig.tg.callsOf("getMe")).toHaveLength(1);
    expect(rig.tg.callsOf("deleteWebhook")).toHaveLength(1);
    await rig.tg.waitDelivered(rig.tg.privateMessage(rig.tg.user(), "hi"));
    expect(rig.tg.callsOf("getUpdates")[0]!.params).toMatchObject({ timeout: 30, allowed_updates: ["message", "my_chat_member"] });
  });

  it("handles one chat's messages in order while other chats go ahead", async () => {
    rig = await startRig();
    const { tg } = rig;
    const slow = tg.user({ first_name: "Slow" });
    const fast = tg.user({ first_name: "Fast" });
    const log: string[] = [];
    rig.behaviour = async (m) => {
      log.push(`start ${m.text}`);
      if (m.text === "slow 1") await sleep(400);
      log.push(`end ${m.text}`);
    };
    tg.privateMessage(slow, "slow 1");
    await rig.waitReceived(1);
    tg.privateMessage(slow, "slow 2");
    tg.privateMessage(fast, "fast 1");
    await rig.waitReceived(3, 3000);
    await tg.waitFor(() => log.length === 6);
    // "fast 1" ran while "slow 1" was still busy; "slow 2" waited for "slow 1".
    expect(log.indexOf("end fast 1")).toBeLessThan(log.indexOf("end slow 1"));
    expect(log.indexOf("start slow 2")).toBeGreaterThan(log.indexOf("end slow 1"));
  });
});
