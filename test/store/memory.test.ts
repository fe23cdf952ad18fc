import pino from "pino";
import { createStores } from "../../src/store/index.js";
import { runSharedStateContract } from "./shared-state-contract.js";
import { runStoreContract, type StoreContractSetup } from "./store-contract.js";

// One Map per test: stores reopened within a test find the same data, as after a restart.
let values = new Map<string, string>();

const setup: StoreContractSetup = {
  makeStores: (options) => createStores({ log: pino({ level: "silent" }), memory: values, ...options }),
  reset: async () => {
    values = new Map();
  },
};

runStoreContract("in-memory", setup);
// Clients of one process sharing the Map: the in-memory store is for one process, and must be atomic there.
runSharedStateContract("in-memory", setup);
