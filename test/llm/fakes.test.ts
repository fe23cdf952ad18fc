/** The model-server fakes themselves: what other suites and benchmarks rely on. */
import { describe, expect, it } from "vitest";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { startFakeOllama } from "../fakes/ollama.js";
import { startFakeOpenAi } from "../fakes/openai.js";

describe("fake Ollama", () => {
  it("close() ends a hanging request instead of waiting for it", async () => {
    const fake = await startFakeOllama();
    fake.setFault("hang");
    const pending = fetch(`${fake.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", messages: [] }),
    }).then(
      () => "answered",
      () => "failed",
    );
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await fake.close();
    expect(await pending).toBe("failed");
  });

  it("answers the real client: non-streaming chat, generate, unload, ps, version, show", async () => {
    const fake = await startFakeOllama({ models: ["llama3.2:latest"], version: "0.9.9" });
    try {
      const client = new Ollama({ host: fake.url });
      const reply = await client.chat({ model: "llama3.2", messages: [{ role: "user", content: "hi there" }] });
      expect(reply.message).toEqual({ role: "assistant", content: "Echo: hi there" });
      expect(reply.done).toBe(true);
      expect(reply.prompt_eval_count).toBe(2);
      expect(reply.eval_count).toBe(fake.requests[0]!.answer!.chunks.length);
      expect((await client.ps()).models.map((m) => m.name)).toEqual(["llama3.2:latest"]);

      const generated = await client.generate({ model: "llama3.2", prompt: "ping" });
      expect(generated.response).toBe("Echo: ping");

      const unloaded = await client.generate({ model: "llama3.2", prompt: "", keep_alive: 0 });
      expect(unloaded.done_reason).toBe("unload");
      expect((await client.ps()).models).toEqual([]);

      expect((await client.version()).version).toBe("0.9.9");
      expect((await client.show({ model: "llama3.2" })).details.family).toBe("llama");
      await expect(client.show({ model: "nope" })).rejects.toMatchObject({ status_code: 404 });
    } finally {
      await fake.close();
    }
  });

  it("streams NDJSON lines in Ollama's shape, ending with done and the counts", async () => {
    const fake = await startFakeOllama();
    try {
      const response = await fetch(`${fake.url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "a b c" }] }),
      });
      expect(response.headers.get("content-type")).toBe("application/x-ndjson");
      const lines = (await response.text())
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const last = lines.at(-1)!;
      expect(lines.slice(0, -1).every((l) => l.done === false)).toBe(true);
      expect(last).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 3, eval_count: lines.length - 1 });
    } finally {
      await fake.close();
    }
  });
});

describe("fake OpenAI", () => {
  it("answers the real client without streaming, with usage", async () => {
    const fake = await startFakeOpenAi();
    try {
      const client = new OpenAI({ baseURL: fake.baseURL, apiKey: "x", maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "one two" }],
      });
      expect(completion.choices[0]!.message.content).toBe("Echo: one two");
      const sent = fake.requests[0]!.answer!;
      expect(completion.usage).toEqual({
        prompt_tokens: 2,
        completion_tokens: sent.chunks.length,
        total_tokens: 2 + sent.chunks.length,
      });
    } finally {
      await fake.close();
    }
  });

  it("streams SSE: role first, then content, finish_reason, a usage chunk, [DONE]", async () => {
    const fake = await startFakeOpenAi();
    try {
      const response = await fetch(`${fake.baseURL}/chat/completions`, {
        method: "POST",
        body: JSON.stringify({
          model: "gpt-4o-mini",
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: "user", content: "x" }],
        }),
      });
      const events = (await response.text()).trim().split("\n\n");
      expect(events.at(-1)).toBe("data: [DONE]");
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
      expect(chunks[0].choices[0].delta.role).toBe("assistant");
      expect(chunks.at(-2).choices[0].finish_reason).toBe("stop");
      expect(chunks.at(-1).choices).toEqual([]);
      expect(chunks.at(-1).usage.prompt_tokens).toBe(1);
    } finally {
      await fake.close();
    }
  });

  it("close() ends a hanging request", async () => {
    const fake = await startFakeOpenAi();
    fake.setFault({ kind: "hang", scope: "all" });
    const pending = fetch(`${fake.baseURL}/models`).then(
      () => "answered",
      () => "failed",
    );
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await fake.close();
    expect(await pending).toBe("failed");
  });
});
