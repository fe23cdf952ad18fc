import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";

function logTo(level: string, secrets: string[], options: { columns?: number; color?: boolean; pretty?: boolean } = {}) {
  const sink = Object.assign(new PassThrough(), options.columns ? { columns: options.columns } : {});
  let written = "";
  sink.on("data", (d: Buffer) => (written += d));
  const log = createLogger(level, secrets, sink, { pretty: options.pretty ?? true, color: options.color ?? false });
  return { log, written: () => written };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("log lines in a terminal", () => {
  it("are one readable line each: time, level, message, the error's first line and the fields", async () => {
    const { log, written } = logTo("info", []);
    const err = Object.assign(new Error("ollama (llama3.2): connection failed (ECONNREFUSED)\nsecond line"), { code: "provider_unavailable" });
    log.warn({ err, channel: "console:local", code: "provider_unavailable" }, "message failed");
    log.info({ provider: "ollama", models: ["a", "b"] }, "adapter started");
    await settle();
    const lines = written().split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d warn message failed: ollama \(llama3\.2\): connection failed \(ECONNREFUSED\) · channel=console:local code=provider_unavailable$/,
    );
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d info adapter started · provider=ollama models=\["a","b"\]$/);
    expect(written()).not.toContain("    at ");
  });

  it("show stacks only at debug", async () => {
    const quiet = logTo("info", []);
    quiet.log.error({ err: new Error("boom") }, "could not start");
    const loud = logTo("debug", []);
    loud.log.error({ err: new Error("boom") }, "could not start");
    await settle();
    expect(quiet.written().trim().split("\n")).toHaveLength(1);
    expect(loud.written()).toMatch(/error could not start: boom\n {4}Error: boom\n {4}(\s+)?at /);
  });

  it("are cut to the terminal's width below error, warnings dim, errors whole", async () => {
    const { log, written } = logTo("info", [], { columns: 40, color: true });
    log.warn({ detail: "x".repeat(100) }, "a long warning");
    log.error({ detail: "y".repeat(100) }, "a long error");
    await settle();
    const [warning, error] = written().split("\n");
    expect(warning).toMatch(/^\x1b\[2m.{38}…\x1b\[22m$/u);
    expect(error).toContain(`detail=${"y".repeat(79)}…`);
    expect(error).toContain("\x1b[31merror\x1b[39m");
  });

  it("never carry a secret, even cut in the middle of one", async () => {
    const secret = "my-discord-token.abc.def.ghi";
    for (let columns = 30; columns < 90; columns += 3) {
      const { log, written } = logTo("info", [secret], { columns });
      log.warn({ url: `https://gw.example/${secret}/x`, apiKey: "sk-proj-abcdefghijklmnopqrstuv" }, `using ${secret} and sk-proj-abcdefghijklmnopqrstuv`);
      await settle();
      expect(written()).not.toMatch(/my-discord|abc\.def|sk-proj-abcdefghij/);
    }
  });

  it("stay JSON, as before, when not in a terminal", async () => {
    const { log, written } = logTo("info", [], { pretty: false });
    log.warn({ code: "x" }, "plain");
    await settle();
    expect(JSON.parse(written())).toMatchObject({ level: 40, msg: "plain", code: "x" });
  });
});
