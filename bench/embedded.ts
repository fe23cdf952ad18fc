/**
 * The embedded provider on the tiny model the tests write
 * (test/support/tiny-gguf.ts): time to first token, tokens per second, and
 * what the provider adds around an answer (loading checks, the line for a
 * sequence, the silence timer, the text pipe, the usage count) as a ratio to
 * calling node-llama-cpp directly with the same prompt and token cap, in the
 * same run, on the same loaded model.
 *
 * The direct call does the same work the provider does per answer: a new
 * sequence of the context, a `LlamaChat` given the chat wrapper resolved
 * once, `generateResponse` with the cap, the sequence disposed. Provider and
 * direct answers alternate, and the order inside a pair flips each time.
 * Random weights write nonsense, but the tokens cost what tokens cost: with
 * a 64-wide, 2-block model the figures show the per-token overhead of the
 * binding and the provider, not a real model's speed.
 *
 * `npx tsx bench/embedded.ts` prints the table; `measureEmbedded` and
 * `embeddedTable` are for `bench/run.ts`.
 */
import { count } from "./settings.js";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ChatHistoryItem } from "node-llama-cpp";
import { createEmbeddedProvider } from "../src/llm/embedded.js";
import { acquireModel, releaseModel } from "../src/llm/embedded-model.js";
import type { ChatRequest } from "../src/llm/types.js";
import { writeTinyGguf } from "../test/support/tiny-gguf.js";
import { ms, ratio, summarise, table, type Summary } from "./stats.js";

type Env = Record<string, string | undefined>;

export interface EmbeddedBenchSettings {
  /** Timed answers per side. @defaultValue 100 (`BENCH_EMBEDDED_ANSWERS`) */
  answers: number;
  /** Untimed answer pairs first. @defaultValue 10 (`BENCH_EMBEDDED_WARMUP`) */
  warmup: number;
  /** Tokens per answer (the cap; the tiny model never stops before it). @defaultValue 64 (`BENCH_EMBEDDED_TOKENS`) */
  tokens: number;
}

export function readEmbeddedBenchSettings(env: Env = process.env): EmbeddedBenchSettings {
  return {
    answers: count(env, "BENCH_EMBEDDED_ANSWERS", 100, 1),
    warmup: count(env, "BENCH_EMBEDDED_WARMUP", 10, 0),
    tokens: count(env, "BENCH_EMBEDDED_TOKENS", 64, 2),
  };
}

/** One side's timings per answer. */
export interface AnswerTimes {
  /** From the call to the first text. */
  firstToken: Summary;
  /** From the call to the end of the answer. */
  total: Summary;
  /** Tokens after the first, per second of the time after it (median of the answers'). */
  tokensPerSecond: number;
}

export interface EmbeddedResult {
  settings: EmbeddedBenchSettings;
  threads: number;
  promptTokens: number;
  provider: AnswerTimes;
  direct: AnswerTimes;
}

const request: ChatRequest = {
  model: "tiny",
  messages: [
    { role: "system", content: "You are a helpful assistant. Answer in one short paragraph." },
    { role: "user", content: "What is the capital of France, and why is it famous?" },
  ],
};

const history: ChatHistoryItem[] = [
  { type: "system", text: request.messages[0]!.content },
  { type: "user", text: request.messages[1]!.content },
  { type: "model", response: [] },
];

interface Sample {
  firstTokenMs: number;
  totalMs: number;
  tokens: number;
}

function summariseSide(samples: Sample[]): AnswerTimes {
  const rates = samples.map((s) => ((s.tokens - 1) * 1000) / Math.max(1e-6, s.totalMs - s.firstTokenMs));
  return {
    firstToken: summarise(samples.map((s) => s.firstTokenMs)),
    total: summarise(samples.map((s) => s.totalMs)),
    tokensPerSecond: summarise(rates).medianMs,
  };
}

export async function measureEmbedded(settings: EmbeddedBenchSettings, progress: (text: string) => void): Promise<EmbeddedResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "parley-bench-embedded-"));
  const file = path.join(dir, "tiny.gguf");
  await writeTinyGguf(file);
  const threads = os.availableParallelism();
  const provider = createEmbeddedProvider({ name: "bench", file, timeoutMs: 60_000, maxTokens: settings.tokens, threads });
  try {
    progress(`embedded: loading the tiny model, then ${settings.warmup} warm-up + ${settings.answers} timed pairs of ${settings.tokens}-token answers`);
    // The provider loads the model; the direct side shares it, with a context of its own like the provider's.
    let promptTokens = 0;
    for await (const delta of provider.chat(request)) if (delta.type === "done") promptTokens = delta.usage?.promptTokens ?? 0;
    const shared = await acquireModel(file);
    const context = await shared.model.createContext({ threads });
    try {
      const viaProvider = async (): Promise<Sample> => {
        const started = performance.now();
        let firstTokenMs: number | undefined;
        let tokens = 0;
        for await (const delta of provider.chat(request)) {
          if (delta.type === "text") firstTokenMs ??= performance.now() - started;
          else tokens = delta.usage?.completionTokens ?? 0;
        }
        return { firstTokenMs: firstTokenMs!, totalMs: performance.now() - started, tokens };
      };
      const direct = async (): Promise<Sample> => {
        const started = performance.now();
        let firstTokenMs: number | undefined;
        let tokens = 0;
        const sequence = context.getSequence();
        const session = new shared.lib.LlamaChat({ contextSequence: sequence, chatWrapper: shared.chatWrapper });
        try {
          await session.generateResponse(history, {
            maxTokens: settings.tokens,
            onTextChunk: () => void (firstTokenMs ??= performance.now() - started),
            onToken: (t) => void (tokens += t.length),
          });
        } finally {
          session.dispose();
          sequence.dispose();
        }
        return { firstTokenMs: firstTokenMs!, totalMs: performance.now() - started, tokens };
      };

      const providerSamples: Sample[] = [];
      const directSamples: Sample[] = [];
      for (let i = 0; i < settings.warmup + settings.answers; i++) {
        let p: Sample;
        let d: Sample;
        if (i % 2 === 0) {
          p = await viaProvider();
          d = await direct();
        } else {
          d = await direct();
          p = await viaProvider();
        }
        if (p.tokens !== settings.tokens || d.tokens !== settings.tokens) {
          throw new Error(`expected ${settings.tokens} tokens per answer, got ${p.tokens} (provider) and ${d.tokens} (direct)`);
        }
        if (i >= settings.warmup) {
          providerSamples.push(p);
          directSamples.push(d);
        }
      }
      return { settings, threads, promptTokens, provider: summariseSide(providerSamples), direct: summariseSide(directSamples) };
    } finally {
      await context.dispose();
      await releaseModel(file);
    }
  } finally {
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function embeddedTable(result: EmbeddedResult): string {
  const row = (name: string, t: AnswerTimes) => [
    name,
    `${ms(t.firstToken.medianMs)} ms`,
    `${ms(t.firstToken.p95Ms)} ms`,
    `${ms(t.total.medianMs)} ms`,
    `${ms(t.total.p95Ms)} ms`,
    t.tokensPerSecond.toFixed(0),
  ];
  const { provider: p, direct: d } = result;
  return [
    table(["side", "first token med", "first token p95", "answer med", "answer p95", "tokens/s"], [row("node-llama-cpp direct", d), row("embedded provider", p)]),
    "",
    table(
      ["provider / direct", "first token med", "answer med", "answer p95", "extra per answer"],
      [
        [
          "ratio",
          ratio(p.firstToken.medianMs / d.firstToken.medianMs),
          ratio(p.total.medianMs / d.total.medianMs),
          ratio(p.total.p95Ms / d.total.p95Ms),
          `${ms(p.total.medianMs - d.total.medianMs)} ms`,
        ],
      ],
    ),
  ].join("\n");
}

/** The heading `bench/run.ts` and the standalone run print over the table. */
export function embeddedHeading(result: EmbeddedResult): string {
  const { settings } = result;
  return (
    `The embedded provider on the tiny test model (64 wide, 2 blocks, random weights; ${result.threads} threads, ` +
    `${result.promptTokens}-token prompt, ${settings.tokens}-token answers)` +
    `\n   vs node-llama-cpp called directly on the same loaded model (${settings.answers} answers per side after ${settings.warmup} warm-up, alternating)`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await measureEmbedded(readEmbeddedBenchSettings(), (text) => process.stderr.write(`bench: ${text}\n`));
  process.stdout.write(`${embeddedHeading(result)}\n\n${embeddedTable(result)}\n`);
}
