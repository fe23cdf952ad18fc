/** Writes a config file for one test and starts the whole bot on it (in process). */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { RecordedRequest } from "../fakes/http.js";
import { startTestApp, type TestApp } from "../support/app-harness.js";

const dir = mkdtempSync(join(tmpdir(), "parley-routing-"));
let files = 0;

/** A YAML config file holding `settings`; its path, for `PARLEY_CONFIG`. */
export function writeConfig(settings: Record<string, unknown>): string {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, stringify(settings));
  return path;
}

/** A folder with persona files, for `PARLEY_PERSONA_DIR`. */
export function writePersonas(personas: Array<{ name: string; model?: string; prompt?: string }>): string {
  const folder = join(dir, `personas-${++files}`);
  mkdirSync(folder);
  for (const p of personas) {
    const model = p.model ? `model: ${p.model}\n` : "";
    writeFileSync(join(folder, `${p.name}.md`), `---\nname: ${p.name}\ndescription: "test persona"\n${model}---\n${p.prompt ?? `You are ${p.name}.`}\n`);
  }
  return folder;
}

/** Quick retries and no cool-down unless a test asks: failures show in milliseconds, not minutes. */
export const fastLlm = {
  timeoutMs: 400,
  retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 1000 },
  cooldown: { failures: 100, ms: 60_000 },
};

/** The bot on `llm` settings (merged over {@link fastLlm}), rate limits off. */
export function startRouted(llm: Record<string, unknown>, env: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<TestApp> {
  const config = writeConfig({ llm: { ...fastLlm, ...llm }, ...extra });
  return startTestApp({ PARLEY_CONFIG: config, ...env });
}

/** Chat calls of a fake, whichever wire format: `/api/chat` or `/v1/chat/completions`. */
export function chatCalls(requests: readonly RecordedRequest[]): RecordedRequest[] {
  return requests.filter((r) => r.path === "/api/chat" || r.path === "/v1/chat/completions");
}

/** The model each chat call asked for. */
export function modelsAsked(requests: readonly RecordedRequest[]): string[] {
  return chatCalls(requests).map((r) => (r.body as { model: string }).model);
}

/** Runs `fn` and returns its result with the milliseconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}
