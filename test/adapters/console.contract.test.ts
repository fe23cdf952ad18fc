import { PassThrough } from "node:stream";
import { createConsoleAdapter } from "../../src/adapters/console/index.js";
import { runAdapterContract } from "../contract/adapter-contract.js";

runAdapterContract(
  "console",
  async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = "";
    output.on("data", (chunk: Buffer) => (printed += chunk.toString("utf8")));
    return {
      adapter: createConsoleAdapter({ input, output, interactive: false }),
      maxLength: Number.POSITIVE_INFINITY,
      supportsGroups: false,
      async userSays(text) {
        input.write(`${text}\n`);
        await new Promise((r) => setImmediate(r));
      },
      async botMessages() {
        return printed.split("\n").filter((line) => line.length > 0);
      },
      async close() {
        input.end();
      },
    };
  },
  { groups: false },
);
