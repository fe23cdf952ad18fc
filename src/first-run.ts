/**
 * A start with nothing to answer with: no model provider configured, no
 * key, and no Ollama answering at its default address. In a terminal the
 * bot asks once whether to download the default small model and then chats
 * with it inside the bot; a model downloaded before (`npx parley pull`) is
 * used without asking. Not in a terminal, it says how to get a model and the
 * bot exits non-zero, rather than answering every message with an error.
 */
import { createInterface } from "node:readline/promises";
import { Writable } from "node:stream";
import { pullModel } from "./cli/pull.js";
import type { Config } from "./config/schema.js";
import { DEFAULT_EMBEDDED_MODEL, DEFAULT_EMBEDDED_MODEL_BYTES, DEFAULT_EMBEDDED_MODEL_NAME, formatBytes, listDownloaded, modelsDir } from "./llm/model-files.js";

/** What the start goes on with. */
export type FirstRunChoice =
  /** Something is configured, or Ollama answers: start as configured. */
  | { use: "configured" }
  /** The default model, downloaded now or before: run it inside the bot. */
  | { use: "embedded"; model: string }
  /** No model, and none wanted: say so and exit. */
  | { use: "none"; message: string };

/** Variables that say which model server, model or key to use: any of them means the user chose. */
const MODEL_VARIABLES = [
  "LLM_PROVIDER",
  // Pointing at an Ollama is a choice: when it is down, the bot says so rather than offering a download.
  "OLLAMA_HOST",
  "LLM_MODEL",
  "EMBEDDED_MODEL",
  "OPENAI_API_KEY",
  "OPENROUTER_API_KEY",
  "GROQ_API_KEY",
  "ANTHROPIC_API_KEY",
  "OPENAI_BASE_URL",
  "ANTHROPIC_BASE_URL",
  "LLM_HYBRID_SIMPLE",
  "LLM_HYBRID_COMPLEX",
] as const;

/** Whether the environment or the config file names a model provider, a model or a key. */
export function modelConfigured(env: Record<string, string | undefined>, config: Config): boolean {
  if (MODEL_VARIABLES.some((name) => env[name]?.trim())) return true;
  const llm = config.llm;
  return llm.providers !== undefined || llm.provider !== "ollama" || llm.model !== undefined || llm.embeddedModel !== undefined || llm.hybrid !== undefined;
}

/** The three ways to get a model, in one paragraph (`host`: the Ollama address tried). */
export function noModelMessage(host: string): string {
  return (
    `parley: there is no model to answer with: nothing answers at ${host} and no provider or key is set. ` +
    "Start Ollama (https://ollama.com, then `ollama pull llama3.2`) or set OLLAMA_HOST to yours; " +
    "or set a key, e.g. LLM_PROVIDER=openai with OPENAI_API_KEY (also groq, openrouter, anthropic); " +
    `or run \`npx parley pull\` once to download ${DEFAULT_EMBEDDED_MODEL_NAME} (about ${formatBytes(DEFAULT_EMBEDDED_MODEL_BYTES)}), ` +
    "a small model the bot then runs by itself. See the README's quick start.\n"
  );
}

export interface FirstRunIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where the question and the download's progress go (stderr). */
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** Asks Ollama whether it is there. @defaultValue GET `/api/tags` within 1.5 s */
  ollamaAnswers?: (host: string) => Promise<boolean>;
  signal?: AbortSignal;
}

/** Decides how this start gets its model (see the file's comment). */
export async function chooseFirstRunModel(env: Record<string, string | undefined>, config: Config, io: FirstRunIo): Promise<FirstRunChoice> {
  if (modelConfigured(env, config)) return { use: "configured" };
  const host = config.llm.ollamaHost;
  if (await (io.ollamaAnswers ?? ollamaAnswers)(host)) return { use: "configured" };

  const downloaded = await listDownloaded(modelsDir(env));
  if (downloaded.some((m) => m.ref === DEFAULT_EMBEDDED_MODEL)) return { use: "embedded", model: DEFAULT_EMBEDDED_MODEL };

  if (!io.input.isTTY || !io.output.isTTY) return { use: "none", message: noModelMessage(host) };
  const question =
    `No model to answer with: nothing answers at ${host} (Ollama) and no API key is set.\n` +
    `Download ${DEFAULT_EMBEDDED_MODEL_NAME}, about ${formatBytes(DEFAULT_EMBEDDED_MODEL_BYTES)}, to run inside Parley? [Y/n] `;
  const prompt = createInterface({ input: io.input, output: io.output, terminal: true });
  let answer: string;
  try {
    answer = await prompt.question(question, io.signal ? { signal: io.signal } : {});
  } catch {
    // Ctrl-C or Ctrl-D at the question.
    return { use: "none", message: noModelMessage(host) };
  } finally {
    prompt.close();
  }
  if (!/^\s*(y|yes)?\s*$/i.test(answer)) return { use: "none", message: noModelMessage(host) };

  // The file's path, which `parley pull` prints for scripts, is not wanted here.
  const code = await pullModel([DEFAULT_EMBEDDED_MODEL], env, new Writable({ write: (_chunk, _enc, done) => done() }), io.output, { signal: io.signal });
  if (code !== 0) return { use: "none", message: "parley: the model could not be downloaded (see above); run `npx parley pull` to try again.\n" };
  return { use: "embedded", model: DEFAULT_EMBEDDED_MODEL };
}

async function ollamaAnswers(host: string): Promise<boolean> {
  try {
    const response = await fetch(new URL("/api/tags", host), { signal: AbortSignal.timeout(1_500) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
