/**
 * The native side of the embedded provider: node-llama-cpp imported on first
 * use (importing it alone takes half a second and 40 MB), one `Llama` per
 * process, and each model file loaded once however many providers run it,
 * with its chat wrapper resolved once.
 */
import { stat } from "node:fs/promises";
import os from "node:os";
import type { ChatWrapper, Llama, LlamaModel } from "node-llama-cpp";
import type { Logger } from "pino";

export type NodeLlamaCpp = typeof import("node-llama-cpp");

/** A model file loaded into memory, shared by the providers that run it. */
export interface SharedModel {
  readonly lib: NodeLlamaCpp;
  readonly llama: Llama;
  readonly model: LlamaModel;
  /** How the model wants a conversation written (ChatML, Llama 3...), from its chat template. */
  readonly chatWrapper: ChatWrapper;
}

/** Where loading a model failed, for the provider to put into its own words. */
export class ModelLoadFailure extends Error {
  constructor(
    readonly stage: "file" | "not_a_file" | "runtime" | "load",
    override readonly cause: unknown,
    /** node-llama-cpp refused for lack of memory (`InsufficientMemoryError`). */
    readonly outOfMemory = false,
  ) {
    super(`loading the model failed (${stage})`, { cause });
  }
}

let lib: Promise<NodeLlamaCpp> | undefined;
let llama: Promise<Llama> | undefined;
/** llama.cpp's own log lines go to the logger of the provider made last with one; nowhere (not the console) without. */
let nativeLog: Logger | undefined;

/** Sends llama.cpp's log lines to `log` from now on. */
export function routeNativeLogs(log: Logger): void {
  nativeLog = log;
}

function importLib(): Promise<NodeLlamaCpp> {
  lib ??= import("node-llama-cpp").catch((e: unknown) => {
    lib = undefined;
    throw e;
  });
  return lib;
}

/**
 * The process's one binding. node-llama-cpp's defaults, except two: it may
 * use as many threads as the machine really has (its own default is at
 * least 4, which on 2 cores ran 10–50× slower), and it never downloads and
 * builds llama.cpp at run time when no prebuilt binary fits (a bot should
 * fail fast and say so instead).
 */
function theLlama(): Promise<Llama> {
  llama ??= importLib()
    .then(({ getLlama, LlamaLogLevel }) =>
      getLlama({
        build: "never",
        progressLogs: false,
        maxThreads: os.availableParallelism(),
        logLevel: LlamaLogLevel.warn,
        logger: (level, message) => {
          const line = message.trim();
          if (!line) return;
          if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) nativeLog?.warn({ llamaCpp: level }, line);
          else nativeLog?.debug({ llamaCpp: level }, line);
        },
      }),
    )
    .catch((e: unknown) => {
      llama = undefined;
      throw e;
    });
  return llama;
}

/**
 * Lets contexts use `threads` threads: the binding's cap (the machine's
 * cores) is raised when a provider asks for more on purpose.
 */
export function allowThreads(binding: Llama, threads: number): void {
  if (binding.maxThreads !== 0 && threads > binding.maxThreads) binding.maxThreads = threads;
}

interface Entry {
  ready: Promise<SharedModel>;
  users: number;
}

/** By absolute file and GPU layers: the same file with other GPU settings is another model in memory. */
const models = new Map<string, Entry>();

function keyOf(file: string, gpuLayers: GpuLayers | undefined): string {
  return `${file}\0${gpuLayers ?? "default"}`;
}

/** node-llama-cpp's `gpuLayers`: `auto` (its default: what fits, none without a GPU), `max`, or a count. */
export type GpuLayers = "auto" | "max" | number;

async function load(file: string, gpuLayers: GpuLayers | undefined): Promise<SharedModel> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (e) {
    throw new ModelLoadFailure("file", e);
  }
  if (!isFile) throw new ModelLoadFailure("not_a_file", undefined);
  let binding: Llama;
  let nodeLlama: NodeLlamaCpp;
  try {
    nodeLlama = await importLib();
    binding = await theLlama();
  } catch (e) {
    throw new ModelLoadFailure("runtime", e);
  }
  let model: LlamaModel;
  try {
    model = await binding.loadModel({ modelPath: file, ...(gpuLayers !== undefined ? { gpuLayers } : {}) });
  } catch (e) {
    // Removed or made unreadable since the stat: still a file problem.
    if (typeof (e as { code?: unknown } | null)?.code === "string") throw new ModelLoadFailure("file", e);
    throw new ModelLoadFailure("load", e, e instanceof nodeLlama.InsufficientMemoryError);
  }
  // Synchronous, and slow with a Jinja chat template (0.6–0.8 s here: it renders the template
  // against each built-in wrapper to find an equivalent one). LlamaChat and LlamaChatSession
  // do it again on every construction when given "auto": resolved once, here, and passed on.
  const chatWrapper = nodeLlama.resolveChatWrapper(model);
  return { lib: nodeLlama, llama: binding, model, chatWrapper };
}

/**
 * The model in `file` (absolute), loaded on the first call and shared by
 * later ones; each successful call must be matched by one
 * {@link releaseModel}. Throws {@link ModelLoadFailure}; a failed load is
 * forgotten, so the next call tries again (the file may be fixed by then).
 */
export async function acquireModel(file: string, gpuLayers?: GpuLayers): Promise<SharedModel> {
  const key = keyOf(file, gpuLayers);
  let entry = models.get(key);
  if (!entry) {
    const created: Entry = { ready: load(file, gpuLayers), users: 0 };
    created.ready.catch(() => {
      if (models.get(key) === created) models.delete(key);
    });
    models.set(key, created);
    entry = created;
  }
  entry.users++;
  try {
    return await entry.ready;
  } catch (e) {
    entry.users--;
    throw e;
  }
}

/** One user fewer of `file`'s model; the last one disposes of it. */
export async function releaseModel(file: string, gpuLayers?: GpuLayers): Promise<void> {
  const key = keyOf(file, gpuLayers);
  const entry = models.get(key);
  if (!entry || --entry.users > 0) return;
  models.delete(key);
  const shared = await entry.ready.catch(() => undefined);
  await shared?.model.dispose();
}
