/** `parley route "text"`: the class, the reasons and the model that would answer. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { printRoute } from "../../src/cli/route.js";
import { botEnv, builtCli } from "../support/bot-process.js";
import { writeConfig, writePersonas } from "../routing/support.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

function route(args: string[], env: Record<string, string | undefined>): { code: number; out: string } {
  let out = "";
  const sink = new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) });
  const code = printRoute(args, env, sink);
  return { code, out };
}

const hybridConfig = () =>
  writeConfig({
    llm: {
      providers: {
        local: { kind: "ollama", baseUrl: "http://127.0.0.1:9", models: ["llama3.2"] },
        hosted: { kind: "openai", baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: "HOSTED_KEY", models: ["gpt-4o-mini"] },
      },
      default: "local/llama3.2",
      routes: [{ pattern: "^translate", model: "hosted/gpt-4o-mini" }],
      hybrid: { simple: "local/llama3.2", complex: "hosted/gpt-4o-mini" },
    },
  });

describe("parley route", () => {
  it("prints the class, why, and the target, without calling any model", () => {
    const env = { PARLEY_CONFIG: hybridConfig(), HOSTED_KEY: "sk-test" };
    expect(route(["hello!"], env)).toEqual({
      code: 0,
      out: expect.stringMatching(/^class: simple\n {2}matches \/.*\/\ntarget: local\/llama3\.2 \(hybrid routing's simple target\)\n$/),
    });
    const complex = route(["please", "explain", "step", "by", "step", "how", "DNS", "works"], env);
    expect(complex.out).toMatch(/^class: complex\n {2}matches \/.*step\[- \]by\[- \]step.*\/\ntarget: hosted\/gpt-4o-mini \(hybrid routing's complex target\)\n$/);
    const deep = route(["and then?", "--history", "4000"], env);
    expect(deep.out).toContain("class: complex\n  ");
    expect(deep.out).toContain("+ 4,000 of history × 0.25");
    expect(route(["translate this"], env).out).toBe("target: hosted/gpt-4o-mini (routing rule 1)\n");
  });

  it("lets a persona's own model win, and refuses a bad command line or an unknown persona", () => {
    const personas = writePersonas([{ name: "pirate", model: "local/llama3.2" }]);
    const env = { PARLEY_CONFIG: hybridConfig(), HOSTED_KEY: "sk-test", PARLEY_PERSONA_DIR: personas };
    expect(route(["write a function", "--persona", "pirate"], env).out).toBe("target: local/llama3.2 (the persona pirate's own model)\n");
    expect(route([], env)).toMatchObject({ code: 2, out: expect.stringMatching(/^Usage: parley route/) });
    expect(route(["hi", "--history", "lots"], env).code).toBe(2);
    expect(route(["hi", "--persona", "nobody"], env)).toMatchObject({ code: 2, out: expect.stringMatching(/^There is no persona named nobody/) });
  });

  it("says the model that would answer without hybrid routing, and names a bad setting", () => {
    expect(route(["hi"], { PARLEY_CONFIG: "", LLM_MODEL: "qwen2.5" }).out).toBe("target: ollama/qwen2.5 (the default model)\n");
    expect(route(["hi"], { PARLEY_CONFIG: "", LLM_HYBRID_SIMPLE: "ollama/a" })).toMatchObject({ code: 1, out: expect.stringMatching(/^configuration: .*llm\.hybrid\.complex/) });
  });

  it("runs as a command of parley", async () => {
    const env = botEnv({ PARLEY_CONFIG: hybridConfig(), HOSTED_KEY: "sk-test" });
    const child = spawn(process.execPath, [builtCli, "route", "good morning"], { cwd: join(root, "test/support"), env });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/^class: simple\n.*\ntarget: local\/llama3\.2/s);
  });
});
