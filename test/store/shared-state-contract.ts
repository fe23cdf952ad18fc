/**
 * The part of the store contract about several clients writing one
 * channel at once (three stores, each with its own connection on Redis,
 * sharing one Map in memory), and about the memories' search index giving
 * the same answers as ranking every memory.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Stores } from "../../src/store/index.js";
import { rankMemories } from "../../src/store/memory-search.js";
import type { Memory } from "../../src/store/types.js";
import type { ContractOptions, StoreContractSetup } from "./store-contract.js";
import { turn } from "./store-contract.js";

const author = { authorKey: "telegram:42", authorName: "Ann" };

/** A small vocabulary, so that random facts share words, prefixes (`deploy`/`deployment`) and plurals. */
const vocabulary = (
  "deploy deployment deployed server servers database backup backups nightly staging production port office coffee " +
  "floor team lead mobile release codename walrus narwhal frankfurt region debian kubernetes helm chart wifi password " +
  "lunch noon tuesday thursday holiday holidays red blue sky sunset day days ab ok db ci"
).split(" ");

/** A deterministic random sequence (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function sentence(next: () => number, words: number): string {
  return Array.from({ length: words }, () => vocabulary[Math.floor(next() * vocabulary.length)]).join(" ");
}

export function runSharedStateContract(name: string, setup: StoreContractSetup): void {
  describe(`store contract, shared state: ${name}`, () => {
    const opened: Stores[] = [];
    const open = async (options?: ContractOptions) => {
      const stores = await setup.makeStores(options);
      opened.push(stores);
      return stores;
    };
    const three = (options?: ContractOptions) => Promise.all([open(options), open(options), open(options)]);

    beforeEach(() => setup.reset());
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe("three clients writing one channel at once", () => {
      it("append 100 turns each: all 300 are kept, each client's in its order, the same order for every reader", { timeout: 30_000 }, async () => {
        const clients = await three();
        const ch = "telegram:-100777";
        await Promise.all(
          clients.map(async (client, c) => {
            for (let i = 0; i < 100; i++) await client.history.append(ch, [turn("user", `c${c} t${i}`)]);
          }),
        );
        const seen = await Promise.all(clients.map((client) => client.history.unsummarised(ch, 1_000)));
        const order = seen[0]!.map((t) => t.turn.content);
        expect(order).toHaveLength(300);
        expect(new Set(order).size).toBe(300);
        for (let c = 0; c < 3; c++) {
          expect(order.filter((content) => content.startsWith(`c${c} `))).toEqual(Array.from({ length: 100 }, (_, i) => `c${c} t${i}`));
        }
        for (const other of seen) expect(other.map((t) => t.turn.content)).toEqual(order);
        expect(seen[0]!.map((t) => t.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
        expect(await clients[2]!.history.size(ch)).toBe(300);
      });

      it("append exchanges past maxStoredMessages: the bound holds, exchanges stay whole, indexes go on", { timeout: 30_000 }, async () => {
        const clients = await three({ history: { maxStoredMessages: 50 } });
        const ch = "discord:777777777777777777";
        await Promise.all(
          clients.map(async (client, c) => {
            for (let i = 0; i < 40; i++) await client.history.append(ch, [turn("user", `q c${c} ${i}`), turn("assistant", `a c${c} ${i}`)]);
          }),
        );
        const kept = await clients[1]!.history.unsummarised(ch, 1_000);
        expect(kept).toHaveLength(50);
        expect(kept.map((t) => t.index)).toEqual(Array.from({ length: 50 }, (_, i) => 190 + i));
        // Every question is followed by its own answer: no other client's turn came between them.
        for (let i = 0; i < kept.length; i += 2) expect(kept[i + 1]!.turn.content).toBe(kept[i]!.turn.content.replace(/^q/, "a"));
      });

      it("a summary written while others append hides exactly the turns it covers", { timeout: 30_000 }, async () => {
        const [a, b, c] = await three();
        const ch = "console:shared";
        for (let i = 0; i < 10; i++) await a.history.append(ch, [turn("user", `early ${i}`)]);
        await Promise.all([
          (async () => {
            for (let i = 0; i < 30; i++) await b.history.append(ch, [turn("user", `b ${i}`)]);
          })(),
          c.history.setSummary(ch, "the first ten", 10),
        ]);
        expect(await a.history.getSummary(ch)).toBe("the first ten");
        const rest = await a.history.unsummarised(ch, 100);
        expect(rest.map((t) => t.turn.content)).toEqual(Array.from({ length: 30 }, (_, i) => `b ${i}`));
        expect(await a.history.size(ch)).toBe(40);
      });

      it("add 50 memories each: 150 distinct ids, none lost, each found by search", { timeout: 30_000 }, async () => {
        const clients = await three();
        const ch = "telegram:-100888";
        const added = (
          await Promise.all(clients.map((client, c) => Promise.all(Array.from({ length: 50 }, (_, i) => client.memories.add(ch, { text: `fact c${c}x${i}y about zebras`, ...author })))))
        ).flat();
        expect(new Set(added.map((m) => m.id)).size).toBe(150);
        const listed = await clients[0]!.memories.list(ch);
        expect(listed.map((m) => m.id).sort()).toEqual(added.map((m) => m.id).sort());
        for (const memory of added.filter((_, i) => i % 7 === 0)) {
          expect(await clients[1]!.memories.search(ch, memory.text.split(" ")[1]!, 3)).toEqual([memory]);
        }
        expect(await clients[2]!.memories.search(ch, "zebra", 200)).toHaveLength(150);
      });

      it("forget while others add: only the forgotten memories go, from the list and from search", { timeout: 30_000 }, async () => {
        const [a, b, c] = await three();
        const ch = "discord:888888888888888888";
        const first = [];
        for (let i = 0; i < 30; i++) first.push(await a.memories.add(ch, { text: `old${i}x penguin`, ...author }));
        const forgotten = first.filter((_, i) => i % 2 === 0);
        const [removed, fromB, fromC] = await Promise.all([
          Promise.all(forgotten.map((m) => a.memories.remove(ch, m.id))),
          Promise.all(Array.from({ length: 20 }, (_, i) => b.memories.add(ch, { text: `newb${i}x penguin`, ...author }))),
          Promise.all(Array.from({ length: 20 }, (_, i) => c.memories.add(ch, { text: `newc${i}x penguin`, ...author }))),
        ]);
        expect(removed).toEqual(forgotten);
        const expected = [...first.filter((_, i) => i % 2 === 1), ...fromB, ...fromC];
        expect((await b.memories.list(ch)).map((m) => m.id).sort()).toEqual(expected.map((m) => m.id).sort());
        expect(new Set(expected.map((m) => m.id)).size).toBe(55);
        for (const gone of forgotten) {
          expect(await c.memories.get(ch, gone.id)).toBeUndefined();
          expect(await c.memories.search(ch, gone.text.split(" ")[0]!, 5)).toEqual([]);
        }
        expect(await c.memories.search(ch, "penguins", 100)).toHaveLength(55);
      });

      it("the same memory forgotten by two clients at once is reported forgotten once", async () => {
        const [a, b] = await three();
        const ch = "telegram:5";
        const memory = await a.memories.add(ch, { text: "forget me", ...author });
        const results = await Promise.all([a.memories.remove(ch, memory.id), b.memories.remove(ch, memory.id)]);
        expect(results.filter(Boolean)).toEqual([memory]);
      });
    });

    describe("memory search index", () => {
      it("ranks exactly as a ranking of every memory would, for prompts and for recall", { timeout: 60_000 }, async () => {
        const { memories } = await open();
        const ch = "telegram:-100999";
        const next = random(10);
        const all: Memory[] = [];
        for (let i = 0; i < 200; i++) all.push(await memories.add(ch, { text: sentence(next, 3 + Math.floor(next() * 6)), ...author }));
        for (let q = 0; q < 40; q++) {
          const query = sentence(next, 1 + Math.floor(next() * 4)).replace(/s\b/g, q % 2 ? "s" : "");
          expect((await memories.search(ch, query, 7)).map((m) => m.id)).toEqual(rankMemories(all, query, 7).map((m) => m.id));
          const prompt = await memories.forPrompt(ch, query, 5);
          const best = rankMemories(all, query, 5);
          const newest = [...all].reverse().filter((m) => !best.includes(m));
          expect(prompt.map((m) => m.id)).toEqual([...best, ...newest].slice(0, 5).map((m) => m.id));
        }
      });

      it("finds a memory by a longer or shorter form of its words", async () => {
        const { memories } = await open();
        const ch = "console:local";
        const fact = await memories.add(ch, { text: "Deployments happen on Tuesdays", ...author });
        await memories.add(ch, { text: "lunch is at noon", ...author });
        expect(await memories.search(ch, "deploy", 5)).toEqual([fact]);
        expect(await memories.search(ch, "tuesday", 5)).toEqual([fact]);
        expect(await memories.search(ch, "deploymentsandmore", 5)).toEqual([fact]);
        expect(await memories.search(ch, "dep", 5)).toEqual([fact]);
        expect(await memories.search(ch, "de", 5)).toEqual([]);
      });

      it("matches words longer than the index keeps by their whole length", async () => {
        const { memories } = await open();
        const ch = "console:long";
        const long = await memories.add(ch, { text: "the password is supercalifragilisticexpialidocious", ...author });
        await memories.add(ch, { text: "the password is supercalifragilisticexpiatory", ...author });
        expect(await memories.search(ch, "supercalifragilisticexpialidociousness", 5)).toEqual([long]);
        expect(await memories.search(ch, "supercalifragilisticexpialido", 5)).toEqual([long]);
        // Same first 24 letters, then different: the index finds it, the ranking turns it down.
        expect(await memories.search(ch, "supercalifragilisticexpixyz", 5)).toEqual([]);
      });

      it("gives a prompt the best matches, then the newest; none when there is no room", async () => {
        const { memories } = await open();
        const ch = "telegram:-100555";
        const name = await memories.add(ch, { text: "my name is Bob", ...author });
        const port = await memories.add(ch, { text: "the staging server listens on port 8080", ...author });
        const lunch = await memories.add(ch, { text: "lunch is at noon", ...author });
        expect(await memories.forPrompt(ch, "which port does staging use?", 3)).toEqual([port, lunch, name]);
        expect(await memories.forPrompt(ch, "hello there", 2)).toEqual([lunch, port]);
        expect(await memories.forPrompt(ch, "which port", 0)).toEqual([]);
        expect(await memories.forPrompt("telegram:nobody", "which port", 5)).toEqual([]);
      });

      it("drops the oldest past maxPerChannel from search too, and a clear leaves nothing to find", async () => {
        const { memories } = await open({ memories: { maxPerChannel: 3 } });
        const ch = "discord:444444444444444444";
        const ids = [];
        for (let i = 1; i <= 5; i++) ids.push((await memories.add(ch, { text: `walrus fact ${i}`, ...author })).id);
        expect((await memories.search(ch, "walrus", 10)).map((m) => m.text)).toEqual(["walrus fact 5", "walrus fact 4", "walrus fact 3"]);
        expect(await memories.search(ch, "1", 10)).toEqual([]);
        await memories.clear(ch);
        expect(await memories.search(ch, "walrus", 10)).toEqual([]);
        expect(await memories.forPrompt(ch, "walrus", 5)).toEqual([]);
        // Ids are not reused after a clear: an old `forget 3` cannot hit a new memory.
        expect(ids).not.toContain((await memories.add(ch, { text: "walrus again", ...author })).id);
      });
    });
  });
}
