/**
 * The one contract every store implementation passes (in-memory and Redis):
 * history, memories, settings and usage, channel isolation, and data that
 * survives closing and reopening the stores.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isParleyError } from "../../src/core/errors.js";
import type { Stores, StoresOptions } from "../../src/store/index.js";
import type { HistoryTurn } from "../../src/store/types.js";

/** Options a test may give; the suite's runner adds the log and the connection. */
export type ContractOptions = Pick<StoresOptions, "history" | "memories" | "usage">;

export interface StoreContractSetup {
  /** Opens stores on the data space of the current test (a second call sees the first one's data). */
  makeStores(options?: ContractOptions): Promise<Stores>;
  /** Empties the data space before each test. */
  reset(): Promise<void>;
}

const day = 24 * 60 * 60 * 1000;

export function turn(role: HistoryTurn["role"], content: string, at = Date.now()): HistoryTurn {
  return role === "user" ? { role, content, author: "Ann", at } : { role, content, at };
}

function exchange(n: number): HistoryTurn[] {
  return [turn("user", `question ${n}`), turn("assistant", `answer ${n}`)];
}

const contents = (turns: readonly HistoryTurn[]) => turns.map((t) => t.content);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runStoreContract(name: string, setup: StoreContractSetup): void {
  describe(`store contract: ${name}`, () => {
    const opened: Stores[] = [];
    const open = async (options?: ContractOptions) => {
      const stores = await setup.makeStores(options);
      opened.push(stores);
      return stores;
    };

    beforeEach(() => setup.reset());
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe("history", () => {
      it("returns the last turns oldest first, both turns of an exchange together", async () => {
        const { history } = await open();
        const ch = "telegram:-100123";
        expect(await history.recent(ch, 10)).toEqual([]);
        expect(await history.size(ch)).toBe(0);

        await history.append(ch, exchange(1));
        await history.append(ch, exchange(2));

        expect(contents(await history.recent(ch, 10))).toEqual(["question 1", "answer 1", "question 2", "answer 2"]);
        expect(contents(await history.recent(ch, 3))).toEqual(["answer 1", "question 2", "answer 2"]);
        expect(await history.recent(ch, 0)).toEqual([]);
        expect(await history.size(ch)).toBe(4);
        const [first] = await history.recent(ch, 4);
        expect(first).toMatchObject({ role: "user", author: "Ann", content: "question 1" });
        expect(typeof first?.at).toBe("number");
      });

      it("keeps at most maxStoredMessages, dropping the oldest", async () => {
        const { history } = await open({ history: { maxStoredMessages: 5 } });
        const ch = "discord:123456789012345678";
        for (let n = 1; n <= 4; n++) await history.append(ch, exchange(n));

        expect(await history.size(ch)).toBe(5);
        expect(contents(await history.recent(ch, 100))).toEqual(["answer 2", "question 3", "answer 3", "question 4", "answer 4"]);

        // One append larger than the bound keeps only its own newest turns.
        const burst = Array.from({ length: 7 }, (_, i) => turn("user", `burst ${i}`));
        await history.append(ch, burst);
        expect(await history.size(ch)).toBe(5);
        expect(contents(await history.recent(ch, 100))).toEqual(["burst 2", "burst 3", "burst 4", "burst 5", "burst 6"]);
      });

      it("clears turns and summary, and starts again cleanly", async () => {
        const { history } = await open();
        const ch = "console:local";
        for (let n = 1; n <= 3; n++) await history.append(ch, exchange(n));
        await history.setSummary(ch, "they talked about numbers");

        await history.clear(ch);
        expect(await history.size(ch)).toBe(0);
        expect(await history.recent(ch, 10)).toEqual([]);
        expect(await history.getSummary(ch)).toBeUndefined();

        await history.append(ch, exchange(9));
        expect(contents(await history.recent(ch, 10))).toEqual(["question 9", "answer 9"]);
        await history.clear("console:never-used"); // clearing an empty channel is fine
      });

      it("keeps a running summary beside the turns", async () => {
        const { history } = await open();
        const ch = "telegram:42";
        expect(await history.getSummary(ch)).toBeUndefined();
        await history.setSummary(ch, "first summary");
        await history.append(ch, exchange(1));
        expect(await history.getSummary(ch)).toBe("first summary");
        await history.setSummary(ch, "second summary");
        expect(await history.getSummary(ch)).toBe("second summary");
        expect(contents(await history.recent(ch, 10))).toEqual(["question 1", "answer 1"]);
      });

      it("forgets a channel idle for ttlMs, and each append restarts the wait", async () => {
        const { history } = await open({ history: { ttlMs: 600 } });
        const ch = "telegram:7";
        await history.append(ch, exchange(1));
        await history.setSummary(ch, "short-lived");
        await sleep(350);
        await history.append(ch, exchange(2));
        await sleep(350);
        // 700 ms after the first append but only 350 ms after the last: the channel is alive.
        expect(await history.getSummary(ch)).toBe("short-lived");
        expect(contents(await history.recent(ch, 10))).toContain("question 2");
        await sleep(700);
        expect(await history.recent(ch, 10)).toEqual([]);
        expect(await history.size(ch)).toBe(0);
        expect(await history.getSummary(ch)).toBeUndefined();
      });

      it("serialises concurrent appends to one channel without losing a turn", async () => {
        const { history } = await open();
        const ch = "discord:555555555555555555";
        await Promise.all(Array.from({ length: 20 }, (_, n) => history.append(ch, exchange(n))));
        const turns = await history.recent(ch, 100);
        expect(turns).toHaveLength(40);
        expect(new Set(contents(turns)).size).toBe(40);
      });
    });

    describe("channel isolation", () => {
      // Similar keys, other platforms, and a key that contains the store's own separator.
      const channels = ["telegram:1", "telegram:12", "telegram:-1", "discord:1", "console:1", "telegram:1#record"];

      it("never shows one channel's history, summary, memories or persona in another", async () => {
        const { history, memories, settings } = await open();
        for (const ch of channels) {
          await history.append(ch, [turn("user", `said in ${ch}`), turn("assistant", `answered in ${ch}`)]);
          await history.setSummary(ch, `summary of ${ch}`);
          await memories.add(ch, { text: `secret fact of ${ch}`, authorKey: "telegram:42", authorName: "Ann" });
          await settings.setPersona(ch, `persona-${ch}`);
        }
        for (const ch of channels) {
          expect(contents(await history.recent(ch, 100))).toEqual([`said in ${ch}`, `answered in ${ch}`]);
          expect(await history.size(ch)).toBe(2);
          expect(await history.getSummary(ch)).toBe(`summary of ${ch}`);
          expect((await memories.list(ch)).map((m) => m.text)).toEqual([`secret fact of ${ch}`]);
          expect((await memories.search(ch, "secret fact", 10)).map((m) => m.text)).toEqual([`secret fact of ${ch}`]);
          expect(await settings.getPersona(ch)).toBe(`persona-${ch}`);
        }
      });

      it("does not let a memory id of one channel be read or removed through another", async () => {
        const { memories } = await open();
        const mine = await memories.add("telegram:1", { text: "the wifi password is hunter2", authorKey: "telegram:42", authorName: "Ann" });
        for (const other of ["telegram:12", "discord:1", "telegram:-1"]) {
          expect(await memories.get(other, mine.id)).toBeUndefined();
          expect(await memories.remove(other, mine.id)).toBeUndefined();
          expect(await memories.search(other, "wifi password", 5)).toEqual([]);
        }
        expect(await memories.get("telegram:1", mine.id)).toEqual(mine);
      });

      it("clears and resets one channel only", async () => {
        const { history, settings, memories } = await open();
        for (const ch of ["telegram:1", "telegram:12"]) {
          await history.append(ch, exchange(1));
          await settings.setPersona(ch, "concise");
          await memories.add(ch, { text: "a fact", authorKey: "telegram:42", authorName: "Ann" });
        }
        await history.clear("telegram:1");
        await settings.clear("telegram:1");
        await memories.clear("telegram:1");
        expect(await history.size("telegram:1")).toBe(0);
        expect(await history.size("telegram:12")).toBe(2);
        expect(await settings.getPersona("telegram:1")).toBeUndefined();
        expect(await settings.getPersona("telegram:12")).toBe("concise");
        expect(await memories.list("telegram:1")).toEqual([]);
        expect(await memories.list("telegram:12")).toHaveLength(1);
      });
    });

    describe("memories", () => {
      const author = { authorKey: "discord:111111111111111111", authorName: "Bo" };

      it("gives each memory a short id, unique in the channel, found however it is typed", async () => {
        const { memories } = await open();
        const ch = "discord:222222222222222222";
        const added = [];
        for (let i = 0; i < 60; i++) added.push(await memories.add(ch, { text: `fact number ${i}`, ...author }));
        for (const memory of added) expect(memory.id).toMatch(/^[a-z0-9]{5,6}$/);
        expect(new Set(added.map((m) => m.id)).size).toBe(60);
        expect((await memories.list(ch)).map((m) => m.text)).toEqual(added.map((m) => m.text));

        const one = added[17]!;
        expect(one).toMatchObject({ text: "fact number 17", ...author });
        expect(one.createdAt).toBeGreaterThan(Date.now() - 60_000);
        for (const typed of [one.id, `#${one.id}`, ` ${one.id.toUpperCase()} `, `# ${one.id}`]) {
          expect(await memories.get(ch, typed)).toEqual(one);
        }
      });

      it("ranks the most relevant fact first", async () => {
        const { memories } = await open();
        const ch = "telegram:-100555";
        const facts = [
          "Our office is closed on public holidays.",
          "The staging server listens on port 8080.",
          "Marta is the lead of the mobile team.",
          "The production database is backed up every night at 02:00 UTC.",
          "Deployments to production happen on Tuesdays and Thursdays.",
          "The office coffee machine is on the third floor.",
          "Servers in the Frankfurt region run Debian 12.",
        ];
        for (const text of facts) await memories.add(ch, { text, ...author });

        const top = async (query: string) => (await memories.search(ch, query, 3))[0]?.text;
        expect(await top("which port does the staging server use?")).toBe(facts[1]);
        expect(await top("Who leads the mobile team")).toBe(facts[2]);
        expect(await top("when are database backups")).toBe(facts[3]);
        expect(await top("When do we deploy to production?")).toBe(facts[4]);
        expect(await top("COFFEE!!")).toBe(facts[5]);
        expect(await top("what OS do the servers in frankfurt run")).toBe(facts[6]);
        expect(await memories.search(ch, "kubernetes helm chart", 5)).toEqual([]);
        expect(await memories.search(ch, "office", 1)).toHaveLength(1);
      });

      it("prefers the newer of two equally relevant facts, and lists the newest for an empty query", async () => {
        const { memories } = await open();
        const ch = "console:local";
        await memories.add(ch, { text: "the release codename is Walrus", ...author });
        await memories.add(ch, { text: "unrelated: lunch is at noon", ...author });
        await memories.add(ch, { text: "the release codename is Narwhal", ...author });

        expect((await memories.search(ch, "release codename", 5)).map((m) => m.text)).toEqual([
          "the release codename is Narwhal",
          "the release codename is Walrus",
        ]);
        expect((await memories.search(ch, "", 2)).map((m) => m.text)).toEqual([
          "the release codename is Narwhal",
          "unrelated: lunch is at noon",
        ]);
        expect((await memories.search(ch, "   the of  ", 1)).map((m) => m.text)).toEqual(["the release codename is Narwhal"]);
      });

      it("removes by id, and a wrong id removes nothing", async () => {
        const { memories } = await open();
        const ch = "telegram:42";
        const keep = await memories.add(ch, { text: "keep me", ...author });
        const drop = await memories.add(ch, { text: "drop me", ...author });

        expect(await memories.remove(ch, "zzzzz")).toBeUndefined();
        expect(await memories.remove(ch, "")).toBeUndefined();
        expect(await memories.list(ch)).toHaveLength(2);

        expect(await memories.remove(ch, `#${drop.id.toUpperCase()}`)).toEqual(drop);
        expect(await memories.list(ch)).toEqual([keep]);
        expect(await memories.remove(ch, drop.id)).toBeUndefined();
        expect(await memories.get(ch, drop.id)).toBeUndefined();
      });

      it("keeps at most maxPerChannel, dropping the oldest", async () => {
        const { memories } = await open({ memories: { maxPerChannel: 3 } });
        const ch = "discord:333333333333333333";
        for (let i = 1; i <= 5; i++) await memories.add(ch, { text: `fact ${i}`, ...author });
        expect((await memories.list(ch)).map((m) => m.text)).toEqual(["fact 3", "fact 4", "fact 5"]);
      });

      it("adds concurrently without losing a memory", async () => {
        const { memories } = await open();
        const ch = "telegram:-100999";
        const added = await Promise.all(Array.from({ length: 15 }, (_, i) => memories.add(ch, { text: `parallel ${i}`, ...author })));
        expect(await memories.list(ch)).toHaveLength(15);
        expect(new Set(added.map((m) => m.id)).size).toBe(15);
      });
    });

    describe("settings", () => {
      it("sets, replaces, unsets and clears the persona", async () => {
        const { settings } = await open();
        const ch = "telegram:-100123";
        expect(await settings.getPersona(ch)).toBeUndefined();
        await settings.setPersona(ch, "concise");
        expect(await settings.getPersona(ch)).toBe("concise");
        await settings.setPersona(ch, "creative");
        expect(await settings.getPersona(ch)).toBe("creative");
        await settings.setPersona(ch, undefined);
        expect(await settings.getPersona(ch)).toBeUndefined();
        await settings.setPersona(ch, "technical");
        await settings.clear(ch);
        expect(await settings.getPersona(ch)).toBeUndefined();
      });
    });

    describe("usage", () => {
      it("counts per user, per channel and in total, per UTC day", async () => {
        const { usage } = await open();
        const now = Date.now();
        await usage.count("telegram:42", "telegram:-100123", "model");
        const spent = await usage.record({ userKey: "telegram:42", channelKey: "telegram:-100123", promptTokens: 100, completionTokens: 20, cost: 0.5 });
        expect(spent).toEqual({ user: { tokens: 120, cost: 0.5 }, channel: { tokens: 120, cost: 0.5 }, total: { tokens: 120, cost: 0.5 } });
        await usage.count("telegram:42", "telegram:42", "model");
        await usage.count("telegram:42", "telegram:42", "command");
        await usage.record({ userKey: "telegram:42", channelKey: "telegram:42", promptTokens: 10, completionTokens: 2 });
        await usage.count("telegram:7", "telegram:-100123", "model");
        const later = await usage.record({ userKey: "telegram:7", channelKey: "telegram:-100123", promptTokens: 1, completionTokens: 1, cost: 0.25 });
        expect(later).toEqual({ user: { tokens: 2, cost: 0.25 }, channel: { tokens: 122, cost: 0.75 }, total: { tokens: 134, cost: 0.75 } });
        // Yesterday's usage counts for yesterday only.
        await usage.count("telegram:42", "telegram:-100123", "model", now - day);
        await usage.record({ userKey: "telegram:42", channelKey: "telegram:-100123", promptTokens: 1000, completionTokens: 1000, at: now - day });

        const none = { requests: 0, commands: 0, promptTokens: 0, completionTokens: 0, cost: 0 };
        expect(await usage.userToday("telegram:42")).toEqual({ requests: 2, commands: 1, promptTokens: 110, completionTokens: 22, cost: 0.5 });
        expect(await usage.userToday("telegram:7")).toEqual({ ...none, requests: 1, promptTokens: 1, completionTokens: 1, cost: 0.25 });
        expect(await usage.channelToday("telegram:-100123")).toEqual({ ...none, requests: 2, promptTokens: 101, completionTokens: 21, cost: 0.75 });
        expect(await usage.channelToday("telegram:42")).toEqual({ ...none, requests: 1, commands: 1, promptTokens: 10, completionTokens: 2 });
        expect(await usage.totalToday()).toEqual({ requests: 3, commands: 1, promptTokens: 111, completionTokens: 23, cost: 0.75 });
        expect(await usage.today("telegram:7", "telegram:42")).toEqual({
          user: await usage.userToday("telegram:7"),
          channel: await usage.channelToday("telegram:42"),
          total: await usage.totalToday(),
        });
        expect(await usage.userToday("telegram:42", now - day)).toEqual({ ...none, requests: 1, promptTokens: 1000, completionTokens: 1000 });
        expect(await usage.userToday("telegram:1")).toEqual(none);
        expect(await usage.userToday("discord:42")).toEqual(none);
      });

      it("keeps a user's and a channel's counters apart when they share a key", async () => {
        const { usage } = await open();
        await usage.count("console:local", "console:other", "model");
        await usage.count("console:someone", "console:local", "model");
        await usage.count("console:someone", "console:local", "model");
        expect((await usage.userToday("console:local")).requests).toBe(1);
        expect((await usage.channelToday("console:local")).requests).toBe(2);
      });

      it("loses no count when many requests land at once", async () => {
        const { usage } = await open();
        const users = ["discord:1", "discord:2", "telegram:3"];
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            usage.record({ userKey: users[i % 3]!, channelKey: `discord:${100 + (i % 2)}`, promptTokens: 10, completionTokens: 1 }),
          ),
        );
        expect((await usage.totalToday()).promptTokens).toBe(300);
        expect((await usage.userToday("discord:1")).promptTokens).toBe(100);
        expect((await usage.channelToday("discord:100")).completionTokens).toBe(15);
      });
    });

    describe("several clients at once", () => {
      it("three clients counting one channel's usage at once lose nothing", async () => {
        const clients = await Promise.all([open(), open(), open()]);
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            clients[i % 3]!.usage.record({ userKey: `telegram:${i % 4}`, channelKey: "telegram:-100", promptTokens: 3, completionTokens: 1, cost: 0.5 }),
          ),
        );
        await Promise.all(Array.from({ length: 30 }, (_, i) => clients[i % 3]!.usage.count("telegram:1", "telegram:-100", i % 2 ? "model" : "command")));
        expect(await clients[0]!.usage.channelToday("telegram:-100")).toEqual({ requests: 15, commands: 15, promptTokens: 180, completionTokens: 60, cost: 30 });
        expect((await clients[1]!.usage.userToday("telegram:1")).promptTokens).toBe(45);
      });
    });

    describe("blocks", () => {
      const entry = (userKey: string) => ({ userKey, name: "Mallory", byName: "Ann", at: Date.now() });

      it("blocks in one channel, or everywhere, and lifts a block", async () => {
        const { blocks } = await open();
        await blocks.block({ channelKey: "discord:100" }, entry("discord:7"));
        expect(await blocks.isBlocked("discord:7", ["discord:100"])).toBe(true);
        // A thread of a blocked channel: the check names both.
        expect(await blocks.isBlocked("discord:7", ["discord:555", "discord:100"])).toBe(true);
        expect(await blocks.isBlocked("discord:7", ["discord:101"])).toBe(false);
        expect(await blocks.isBlocked("discord:70", ["discord:100"])).toBe(false);

        await blocks.block("everywhere", entry("telegram:9"));
        expect(await blocks.isBlocked("telegram:9", ["telegram:-1"])).toBe(true);
        expect(await blocks.list("discord:100")).toEqual({
          here: [expect.objectContaining({ userKey: "discord:7", name: "Mallory", byName: "Ann" })],
          everywhere: [expect.objectContaining({ userKey: "telegram:9" })],
        });
        expect((await blocks.list("discord:101")).here).toEqual([]);

        expect(await blocks.unblock({ channelKey: "discord:100" }, "discord:7")).toBe(true);
        expect(await blocks.unblock({ channelKey: "discord:100" }, "discord:7")).toBe(false);
        expect(await blocks.isBlocked("discord:7", ["discord:100"])).toBe(false);
      });

      it("keeps blocks across closing and reopening the stores", async () => {
        const before = await open();
        await before.blocks.block({ channelKey: "telegram:-5" }, entry("telegram:8"));
        await before.close();
        const after = await open();
        expect(await after.blocks.isBlocked("telegram:8", ["telegram:-5"])).toBe(true);
      });
    });

    describe("notices", () => {
      it("lets one of several clients claim a notice, once", async () => {
        const clients = await Promise.all([open(), open(), open()]);
        const claims = await Promise.all(clients.flatMap((c) => [c.notices.claim("private-bot", "telegram:5", 60_000), c.notices.claim("private-bot", "telegram:5", 60_000)]));
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await clients[0]!.notices.claim("private-bot", "telegram:6", 60_000)).toBe(true);
        expect(await clients[0]!.notices.claim("rate-limit", "telegram:5", 60_000)).toBe(true);
      });
    });

    describe("restart", () => {
      it("keeps everything across closing and reopening the stores", async () => {
        const before = await open({ history: { maxStoredMessages: 50 } });
        const ch = "telegram:-100123";
        for (let n = 1; n <= 3; n++) await before.history.append(ch, exchange(n));
        await before.history.setSummary(ch, "the story so far");
        const fact = await before.memories.add(ch, { text: "the deploy key lives in the vault", authorKey: "telegram:42", authorName: "Ann" });
        await before.settings.setPersona(ch, "technical");
        await before.usage.record({ userKey: "telegram:42", channelKey: ch, promptTokens: 5, completionTokens: 6 });
        await before.close();

        const error = await before.history.recent(ch, 1).catch((e: unknown) => e);
        expect(isParleyError(error) && error.code).toBe("store_unavailable");

        const after = await open({ history: { maxStoredMessages: 50 } });
        expect(contents(await after.history.recent(ch, 100))).toEqual(["question 1", "answer 1", "question 2", "answer 2", "question 3", "answer 3"]);
        expect(await after.history.getSummary(ch)).toBe("the story so far");
        expect(await after.memories.get(ch, fact.id)).toEqual(fact);
        expect(await after.settings.getPersona(ch)).toBe("technical");
        expect(await after.usage.userToday("telegram:42")).toMatchObject({ promptTokens: 5, completionTokens: 6 });

        // Appending after the restart continues the same conversation.
        await after.history.append(ch, exchange(4));
        expect(contents(await after.history.recent(ch, 2))).toEqual(["question 4", "answer 4"]);
        expect(await after.history.size(ch)).toBe(8);
      });
    });
  });
}
