import { describe, expect, it } from "vitest";
import { shownAddress, unavailableError, type CallContext } from "../../src/llm/convert-error.js";

const cause = new TypeError("fetch failed");
const said = (ctx: CallContext) => unavailableError(ctx, cause, "ECONNREFUSED").userMessage;

describe("could not reach: the address tried, and where it is set", () => {
  it("the single Ollama of OLLAMA_HOST", () => {
    expect(said({ provider: "ollama", kind: "ollama", address: "http://127.0.0.1:11434" })).toBe(
      "Could not reach Ollama at http://127.0.0.1:11434 — is it running? Start it with `ollama serve`, or set OLLAMA_HOST.",
    );
  });

  it("an OpenAI-compatible server of LLM_PROVIDER and OPENAI_BASE_URL", () => {
    expect(said({ provider: "openai", kind: "openai", address: "http://localhost:1234/v1" })).toBe(
      "Could not reach openai at http://localhost:1234/v1 — is the server running? Check OPENAI_BASE_URL and your network.",
    );
  });

  it("a provider of the config file, by its entry", () => {
    expect(said({ provider: "gpu-box", kind: "ollama", address: "http://10.0.0.5:11434" })).toBe(
      "Could not reach Ollama (gpu-box) at http://10.0.0.5:11434 — is it running? Start it with `ollama serve`, or set llm.providers.gpu-box.baseUrl.",
    );
    expect(said({ provider: "lmstudio", kind: "openai", address: "http://127.0.0.1:1234/v1" })).toContain("Check llm.providers.lmstudio.baseUrl");
    // A config-file provider of kind openai named after Ollama is not the OLLAMA_HOST one.
    expect(said({ provider: "ollama", kind: "openai", address: "http://127.0.0.1:11434/v1" })).toContain("llm.providers.ollama.baseUrl");
  });

  it("never shows a user name, password, query, fragment or token-shaped part of the address", () => {
    expect(shownAddress("https://bob:s3cret@proxy.example:8443/v1?api_key=abc#frag")).toBe("https://proxy.example:8443/v1");
    expect(shownAddress("https://gw.example/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/v1")).toBe("https://gw.example/bot[redacted]/v1");
    expect(shownAddress("https://gw.example/keys/sk-proj-abcdefghijklmnopqrstuv/v1")).toBe("https://gw.example/keys/[redacted]/v1");
    expect(shownAddress("not a url")).toBe("its configured address");
  });

  it("without an address, the provider's name alone", () => {
    expect(said({ provider: "ollama", kind: "ollama" })).toBe("Could not reach the ollama model server; is it running?");
  });
});
