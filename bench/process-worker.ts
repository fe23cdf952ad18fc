/**
 * One bot process of the processes benchmark: the whole bot minus the
 * adapters, on the Redis and fake Ollama its parent names. Says `ready`,
 * waits for `go` on stdin, answers its messages (its channels side by side,
 * each channel's messages in order), then says `done`.
 */
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startApp } from "../src/app.js";
import { loadConfig } from "../src/config/load.js";
import { createLogger } from "../src/log.js";
import { benchMessage, CollectingReply, promptText } from "./harness.js";

const worker = process.env.BENCH_WORKER_ID ?? "0";
const channels = Number(process.env.BENCH_WORKER_CHANNELS);
const messages = Number(process.env.BENCH_WORKER_MESSAGES);

const config = loadConfig({
  PARLEY_CONFIG: fileURLToPath(new URL("./bench.yaml", import.meta.url)),
  LLM_PROVIDER: "ollama",
  OLLAMA_HOST: process.env.BENCH_OLLAMA_URL,
  REDIS_URL: process.env.BENCH_REDIS_URL,
});
const app = await startApp({ config, log: createLogger("silent", []), adapters: [] });

async function channel(c: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const text = promptText(i);
    const reply = new CollectingReply();
    await app.dispatcher.handle(benchMessage(`bench:w${worker}:c${c}`, text), reply);
    if (reply.answer !== `Echo: ${text}`) throw new Error(`worker ${worker}: unexpected answer ${JSON.stringify(reply.sent[0] ?? reply.answer).slice(0, 200)}`);
  }
}

process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== "go") continue;
  const perChannel = Math.ceil(messages / channels);
  await Promise.all(Array.from({ length: channels }, (_, c) => channel(c, Math.min(perChannel, messages - c * perChannel))));
  process.stdout.write("done\n");
  break;
}
lines.close();
await app.stop();
process.exit(0);
