import pino from "pino";
import { createStores } from "../../src/store/index.js";
import { runStoreContract } from "./store-contract.js";

// One Map per test: stores reopened within a test find the same data, as after a restart.
let values = new Map<string, string>();

runStoreContract("in-memory", {
  makeStores: (options) => createStores({ log: pino({ level: "silent" }), memory: values, ...options }),
  reset: async () => {
    values = new Map();
  },
});
