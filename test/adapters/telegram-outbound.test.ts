import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { createTelegramAdapter } from "../../src/adapters/telegram/index.js";
import { startFakeTelegram, type FakeTelegram, type RecordedCall } from "../fakes/telegram.js";
import { deltas, sleep, startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** sendMessage and editMessageText calls into one chat that Telegram accepted, in order. */
function writes(tg: FakeTelegram, chatId: number): RecordedCall[] {
  return tg.calls.filter((c) => (c.method === "sendMessage" || c.method === "editMessageText") && Number(c.params.chat_id) === chatId && c.status === 200);
}

function gaps(calls: RecordedCall[]): number[] {
  return calls.slice(1).map((c, i) => c.atMs - calls[i]!.atMs);
}

/** Deltas with the time the first one was yielded. */
function timedDeltas(parts: string[], gapMs: number) {
  const seen: { firstAtMs?: number } = {};
  async function* gen() {
    for (const part of parts) {
      await sleep(gapMs);
      seen.firstAtMs ??= Date.now();
      yield part;
    }
  }
  return { deltas: gen(), seen };
}

describe("telegram streaming", () => {
  it("shows the first tokens within a second, then edits at most once per interval in private and (longer) in a group, per chat", async () => {
    // 0.4 times the defaults (1 s private, 3 s group), Telegram's flood limits scaled alike.
    rig = await startRig({
      adapter: { privateEditIntervalMs: 400, groupEditIntervalMs: 1200 },
      fake: { flood: { private: { burst: 3, perMinute: 150 }, group: { burst: 5, perMinute: 50 }, global: { burst: 30, perMinute: 1800 } } },
    });
    const { tg } = rig;
    const dm = tg.user({ first_name: "Dee" });
    const groupUser = tg.user({ first_name: "Gus" });
    const group = tg.group({ supergroup: true });
    const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i} `);
    const streams = new Map<number, ReturnType<typeof timedDeltas>>();
    const results: string[] = [];
    rig.behaviour = async (m, reply) => {
      const isPrivate = m.channel.private;
      const stream = timedDeltas(isPrivate ? words(36, "p") : words(70, "g"), 40); // ~1.4 s and ~2.8 s
      streams.set(isPrivate ? dm.id : group.id, stream);
      results.push(await reply.stream(stream.deltas));
    };
    tg.privateMessage(dm, "talk to me");
    tg.groupMessage(group, groupUser, "talk to us", { mention: true });
    await tg.waitFor(() => results.length === 2, 15_000, "both answers");

    for (const [chatId, minGapMs, words_] of [
      [dm.id, 400, words(36, "p")],
      [group.id, 1200, words(70, "g")],
    ] as const) {
      const calls = writes(tg, chatId);
      expect(calls[0]!.method).toBe("sendMessage");
      expect(calls[0]!.atMs - streams.get(chatId)!.seen.firstAtMs!).toBeLessThan(1000);
      // The pacer spaces calls as they leave; allow for uneven network time on arrival.
      for (const gap of gaps(calls)) expect(gap).toBeGreaterThanOrEqual(minGapMs - 150);
      expect((calls.at(-1)!.atMs - calls[0]!.atMs) / (calls.length - 1)).toBeGreaterThanOrEqual(minGapMs - 20);
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(calls.length).toBeLessThanOrEqual(6);
      expect(tg.botTexts(chatId)).toEqual([words_.join("").trim()]);
    }
    expect(tg.calls.filter((c) => c.status === 429)).toEqual([]);
  }, 20_000);

  it("sends a fast short answer whole, in one message and no edit", async () => {
    rig = await startRig();
    const { tg } = rig;
    const group = tg.group();
    let done = false;
    rig.behaviour = async (_m, reply) => {
      await reply.stream(deltas(["A ", "quick ", "answer."], 20));
      done = true;
    };
    tg.groupMessage(group, tg.user(), "quick?", { mention: true });
    await tg.waitFor(() => done, 15_000);
    expect(writes(tg, group.id).map((c) => c.method)).toEqual(["sendMessage"]);
    expect(tg.botTexts(group.id)).toEqual(["A quick answer."]);
  });

  it("skips edits that would change nothing", async () => {
    rig = await startRig({ fake: { flood: false }, adapter: { privateEditIntervalMs: 50 } });
    const { tg } = rig;
    const u = tg.user();
    let done = false;
    rig.behaviour = async (_m, reply) => {
      // Whitespace, then a code fence that has no code yet: nothing new to see.
      // ("Hello" goes out alone after the 400 ms hold; each later delta gets its own chance to edit.)
      async function* parts() {
        yield "Hello";
        await sleep(600);
        for (const part of [" ", "\n", "\n", "world", "\n\n", "\n```", "py\n"]) {
          await sleep(120);
          yield part;
        }
      }
      await reply.stream(parts());
      done = true;
    };
    tg.privateMessage(u, "hi");
    await tg.waitFor(() => done, 15_000);
    const edits = tg.callsOf("editMessageText", u.id);
    expect(edits.every((c) => c.status === 200)).toBe(true);
    expect(writes(tg, u.id).map((c) => String(c.params.text).trim())).toEqual(["Hello", "Hello \n\nworld"]);
    expect(tg.botTexts(u.id)).toEqual(["Hello \n\nworld"]);
  });

  it("gives 20 chats streaming at once their whole answers without a single 429", async () => {
    rig = await startRig();
    const { tg } = rig;
    const users = Array.from({ length: 20 }, (_, i) => tg.user({ first_name: `U${i}` }));
    const expected = (name: string) => Array.from({ length: 30 }, (_, i) => `${name}-${i}`).join(" ");
    let done = 0;
    rig.behaviour = async (m, reply) => {
      const parts = expected(m.author.name).split(" ").map((w, i) => (i === 0 ? w : ` ${w}`));
      await reply.stream(deltas(parts, 100)); // ~3 s at the default 1 s pacing: a few edits each, even when the first send is slow
      done++;
    };
    for (const u of users) tg.privateMessage(u, "go");
    await tg.waitFor(() => done === 20, 20_000, "20 answers");
    expect(tg.calls.filter((c) => c.status === 429)).toEqual([]);
    for (const u of users) expect(tg.botTexts(u.id)).toEqual([expected(u.first_name)]);
    // Each chat was still edited as it grew, not just sent once at the end.
    for (const u of users) expect(tg.callsOf("editMessageText", u.id).length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it("waits exactly retry_after when Telegram answers 429, and still delivers the final text", async () => {
    rig = await startRig();
    const { tg } = rig;
    const u = tg.user();
    let finished = false;
    rig.behaviour = async (_m, reply) => {
      tg.inject429(2, "editMessageText");
      await reply.stream(deltas(["The answer ", "is ", "forty-two."], 300));
      finished = true;
    };
    tg.privateMessage(u, "question");
    await tg.waitFor(() => finished, 10_000, "the answer");
    const edits = tg.callsOf("editMessageText", u.id);
    const limited = edits.findIndex((c) => c.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    expect(edits[limited]!.response.parameters).toEqual({ retry_after: 2 });
    const retried = edits[limited + 1]!;
    expect(retried.atMs - edits[limited]!.atMs).toBeGreaterThanOrEqual(2000);
    expect(retried.atMs - edits[limited]!.atMs).toBeLessThan(3500);
    expect(tg.botTexts(u.id)).toEqual(["The answer is forty-two."]);
  }, 15_000);

  it("waits out a 429 whose retry_after is only in the description", async () => {
    rig = await startRig({ fake: { flood: false } });
    const { tg } = rig;
    const u = tg.user();
    rig.behaviour = async (_m, reply) => {
      tg.injectError(429, "Too Many Requests: retry after 1", "sendMessage");
      await reply.send("patience");
    };
    tg.privateMessage(u, "hi");
    await tg.waitFor(() => tg.botMessages(u.id).length === 1, 15_000);
    const sends = tg.callsOf("sendMessage", u.id);
    expect(sends.map((c) => c.status)).toEqual([429, 200]);
    expect(sends[1]!.atMs - sends[0]!.atMs).toBeGreaterThanOrEqual(1000);
  });

  it("survives editing faster than Telegram allows: 429s are waited out and the final text arrives", async () => {
    rig = await startRig({ adapter: { privateEditIntervalMs: 50 } });
    const { tg } = rig;
    const u = tg.user();
    let text = "";
    rig.behaviour = async (_m, reply) => {
      text = await reply.stream(deltas(Array.from({ length: 40 }, (_, i) => `w${i} `), 25));
    };
    tg.privateMessage(u, "go");
    await tg.waitFor(() => text !== "", 20_000, "the answer");
    expect(tg.calls.some((c) => c.status === 429)).toBe(true);
    expect(tg.botTexts(u.id)).toEqual([text.trim()]);
  }, 25_000);
});

describe("telegram formatting", () => {
  const nasty = [
    "# Title with *stars*",
    "**bold** and *italic* and `code` and [a \"quoted\" link](https://example.com/?a=1&b=\"2\")",
    "unbalanced **bold and *italic and _under and `tick",
    "<script>alert('x')</script> & a < b && c > d",
    "**bold *nested* bold** ~~gone~~ snake_case_name 2*3*4",
    "- item one\n- item two\n1. first",
    "```js\nif (a < b && c > d) { return \"<b>\"; }\n```",
    "[bad](javascript:alert(1)) &amp; &#x1F600; &nbsp;",
  ].join("\n\n");

  it("sends the model's Markdown as Telegram HTML that always parses", async () => {
    rig = await startRig({ fake: { flood: false }, adapter: { privateEditIntervalMs: 30 } });
    const { tg } = rig;
    const u = tg.user();
    let done = false;
    rig.behaviour = async (_m, reply) => {
      await reply.stream(deltas(nasty.match(/[\s\S]{1,7}/g)!, 5));
      done = true;
    };
    tg.privateMessage(u, "format please");
    await tg.waitFor(() => done, 10_000);
    // Every call, including the edits of half-written Markdown, was accepted.
    expect(writes(tg, u.id).length).toBe(tg.calls.filter((c) => c.method === "sendMessage" || c.method === "editMessageText").length);
    const [message] = tg.botMessages(u.id);
    const text = message!.text!;
    expect(text).toContain("Title with stars");
    expect(text).toContain("<script>alert('x')</script> & a < b && c > d");
    expect(text).toContain('if (a < b && c > d) { return "<b>"; }');
    expect(text).toContain("unbalanced **bold and *italic and _under and `tick");
    expect(text).toContain("[bad](javascript:alert(1)) &amp; &#x1F600; &nbsp;");
    const types = (message!.entities ?? []).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(["bold", "italic", "code", "text_link", "strikethrough", "pre"]));
    const link = message!.entities!.find((e) => e.type === "text_link")!;
    expect(link.url).toBe('https://example.com/?a=1&b="2"');
    expect(message!.entities!.find((e) => e.type === "pre")!.language).toBe("js");
  });

  it("sends the same text plain when Telegram refuses the entities", async () => {
    rig = await startRig({ fake: { flood: false }, adapter: { privateEditIntervalMs: 30 } });
    const { tg } = rig;
    const u = tg.user();
    let done = false;
    rig.behaviour = async (_m, reply) => {
      tg.injectError(400, "Bad Request: can't parse entities: Unsupported start tag \"b\" at byte offset 0", "sendMessage");
      tg.injectError(400, "Bad Request: can't parse entities: Unsupported start tag \"b\" at byte offset 0", "editMessageText");
      await reply.stream(deltas(["**Plain** ", "fallback"], 100));
      done = true;
    };
    tg.privateMessage(u, "go");
    await tg.waitFor(() => done, 15_000);
    expect(tg.botTexts(u.id)).toEqual(["**Plain** fallback"]);
    const accepted = writes(tg, u.id);
    expect(accepted.every((c) => c.params.parse_mode === undefined)).toBe(true);
    expect(rig.logs()).toContain("sent as plain text");
  });

  it("sends the text plain when Telegram refuses the formatted text in other words", async () => {
    rig = await startRig({ fake: { flood: false } });
    const { tg } = rig;
    const u = tg.user();
    rig.behaviour = async (_m, reply) => {
      tg.injectError(400, "Bad Request: wrong HTTP URL specified", "sendMessage");
      await reply.stream(deltas(["see [the docs](https://example.com)"], 1));
    };
    tg.privateMessage(u, "link?");
    await tg.waitFor(() => tg.botMessages(u.id).length === 1, 15_000);
    expect(tg.botTexts(u.id)).toEqual(["see [the docs](https://example.com)"]);
  });

  it("delivers a 10,000-character answer in parts of at most 4,096, code blocks closed and reopened", async () => {
    // Pacing is not the point here: a tenth of the group interval, flood limits scaled alike.
    rig = await startRig({ adapter: { groupEditIntervalMs: 300 }, fake: { flood: { group: { burst: 5, perMinute: 200 } } } });
    const { tg } = rig;
    const alice = tg.user({ first_name: "Alice" });
    const group = tg.group({ supergroup: true });
    const codeLines = Array.from({ length: 160 }, (_, i) => `    total += values[${i}] * ${i}  # step ${i}`);
    const prose = (n: number) => Array.from({ length: n }, (_, i) => `Paragraph ${i}: **the** details of step ${i}, explained at some length so that it reads like a real answer.`).join("\n\n");
    const answer = `${prose(24)}\n\n\`\`\`python\ndef total(values):\n    total = 0\n${codeLines.join("\n")}\n    return total\n\`\`\`\n\n${prose(12)}`;
    expect(answer.length).toBeGreaterThan(10_000);
    let result = "";
    rig.behaviour = async (_m, reply) => {
      result = await reply.stream(deltas(answer.match(/[\s\S]{1,400}/g)!, 10));
    };
    const asked = tg.groupMessage(group, alice, "explain", { mention: true });
    await tg.waitFor(() => result !== "", 40_000, "the long answer");
    expect(result).toBe(answer);
    const messages = tg.botMessages(group.id);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) expect(m.text!.length).toBeLessThanOrEqual(4096);
    // Only the first part is a reply to the question.
    expect(messages[0]!.reply_to_message?.message_id).toBe(asked.message_id);
    expect(messages.slice(1).every((m) => m.reply_to_message === undefined)).toBe(true);
    // The code block spans parts: each part with code shows it as a python block.
    const withCode = messages.filter((m) => m.text!.includes("total += values["));
    expect(withCode.length).toBeGreaterThanOrEqual(2);
    for (const m of withCode) expect(m.entities!.some((e) => e.type === "pre" && e.language === "python")).toBe(true);
    // Nothing lost, in order.
    const shown = messages.map((m) => m.text).join("\n");
    let at = 0;
    for (const line of codeLines) {
      const found = shown.indexOf(line.trim(), at);
      expect(found).toBeGreaterThan(at - 1);
      at = found;
    }
    expect(shown).toContain("Paragraph 11: the details of step 11");
    expect(tg.calls.filter((c) => c.status !== 200 && c.method !== "getUpdates")).toEqual([]);
  }, 45_000);

  it("splits a long plain send() as well", async () => {
    rig = await startRig({ fake: { flood: false }, adapter: { privateEditIntervalMs: 10 } });
    const { tg } = rig;
    const u = tg.user();
    const text = Array.from({ length: 300 }, (_, i) => `Line ${i} of a long list with a < b & c.`).join("\n");
    rig.behaviour = async (_m, reply) => reply.send(text);
    tg.privateMessage(u, "list");
    await tg.waitFor(() => tg.botTexts(u.id).join("\n") === text, 5000, "the whole list");
    expect(tg.botTexts(u.id).length).toBe(Math.ceil(text.length / 4096));
    expect(tg.callsOf("sendMessage", u.id).every((c) => c.params.parse_mode === undefined)).toBe(true);
  });
});

describe("telegram refusals", () => {
  it("turns a refused send into a platform_error for the core", async () => {
    rig = await startRig();
    const { tg } = rig;
    const u = tg.user();
    let failure: unknown;
    rig.behaviour = async (_m, reply) => {
      tg.injectError(403, "Forbidden: bot was blocked by the user", "sendMessage");
      failure = await reply.stream(deltas(["hi"], 5)).catch((e: unknown) => e);
    };
    tg.privateMessage(u, "hello");
    await tg.waitFor(() => failure !== undefined, 15_000);
    expect(failure).toMatchObject({ name: "ParleyError", code: "platform_error" });
    expect((failure as Error).message).toContain("Forbidden: bot was blocked by the user");
  });
});

describe("telegram typing and replies", () => {
  it("shows typing every typingEveryMs while the model thinks, and stops at the first message", async () => {
    // The default 4 s is checked on fake timers in shared/typing.test.ts.
    rig = await startRig({ adapter: { typingEveryMs: 800 } });
    const { tg } = rig;
    const u = tg.user();
    let done = false;
    rig.behaviour = async (_m, reply) => {
      reply.typing();
      reply.typing(); // a second call does not double the actions
      await sleep(900); // the answer starts ~0.7 s before a third action would be due
      await reply.stream(deltas(["thought ", "about it"], 50));
      await sleep(1000);
      done = true;
    };
    tg.privateMessage(u, "think hard");
    await tg.waitFor(() => done, 15_000);
    const actions = tg.callsOf("sendChatAction", u.id);
    const firstSend = tg.callsOf("sendMessage", u.id)[0]!;
    expect(actions.map((a) => a.params.action)).toEqual(["typing", "typing"]);
    expect(actions[1]!.atMs - actions[0]!.atMs).toBeGreaterThanOrEqual(700);
    expect(actions.every((a) => a.atMs < firstSend.atMs)).toBe(true);
  }, 20_000);

  it("stops typing when the core is done with the message, even without an answer", async () => {
    rig = await startRig({ adapter: { typingEveryMs: 400 } });
    const { tg } = rig;
    const u = tg.user();
    rig.behaviour = async (_m, reply) => {
      reply.typing();
      await sleep(100);
    };
    tg.privateMessage(u, "nothing to say");
    await rig.waitReceived(1);
    await sleep(1200); // three intervals
    expect(tg.callsOf("sendChatAction", u.id)).toHaveLength(1);
  }, 10_000);

  it("answers a group command as a reply to it, in the same chat", async () => {
    rig = await startRig();
    const { tg } = rig;
    const alice = tg.user();
    const group = tg.group();
    rig.behaviour = async (m, reply) => reply.send(`ok: ${m.text}`);
    const asked = tg.command(group, alice, "chat", "hello there", { atBot: true });
    await tg.waitFor(() => tg.botMessages(group.id).length === 1);
    const [answer] = tg.botMessages(group.id);
    expect(answer!.text).toBe("ok: /chat hello there");
    expect(answer!.reply_to_message?.message_id).toBe(asked.message_id);
    // reply_parameters for today's Bot API, reply_to_message_id for servers that predate it.
    const [send] = tg.callsOf("sendMessage", group.id);
    expect(send!.params.reply_parameters).toMatchObject({ message_id: asked.message_id });
    expect(send!.params.reply_to_message_id).toBe(asked.message_id);
  });

  it("spaces answers that follow each other in a group, so several quick questions draw no 429", async () => {
    rig = await startRig({ adapter: { groupEditIntervalMs: 300 }, fake: { flood: { group: { burst: 1, perMinute: 60_000 / 300 } } } });
    const { tg } = rig;
    const alice = tg.user();
    const group = tg.group({ id: -1001234567890123 });
    rig.behaviour = async (m, reply) => reply.send(`ok: ${m.text}`);
    for (let i = 0; i < 4; i++) tg.command(group, alice, "chat", `q${i}`);
    await tg.waitFor(() => tg.botMessages(group.id).length === 4, 10_000);
    expect(tg.botTexts(group.id)).toEqual(["ok: /chat q0", "ok: /chat q1", "ok: /chat q2", "ok: /chat q3"]);
    expect(tg.calls.filter((c) => c.status === 429)).toEqual([]);
    for (const gap of gaps(writes(tg, group.id))) expect(gap).toBeGreaterThanOrEqual(200);
  }, 15_000);

  it("reaches a Bot API root given with a trailing slash", async () => {
    const tg = await startFakeTelegram();
    const adapter = createTelegramAdapter({ token: tg.token, apiRoot: `${tg.apiRoot}/`, conflictCheckSec: 0 });
    try {
      await adapter.start({ dispatch: async () => {}, commands: [], complete: async () => [], joined: () => ({ stay: true }), log: pino({ level: "silent" }) });
      expect(tg.callsOf("getMe").map((c) => c.status)).toEqual([200]);
      expect(tg.calls.filter((c) => c.status === 404)).toEqual([]);
    } finally {
      await adapter.stop();
      await tg.close();
    }
  });
});
