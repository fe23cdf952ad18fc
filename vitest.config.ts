import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores, but much of a file's time is spent waiting (on child processes,
    // pacing, fake servers): a third worker fills it. Measured on this machine:
    // two workers 139 s, three 93 s, four 88 s, with more timing slack needed.
    maxWorkers: 3,
    // Each worker keeps its imported modules from one file to the next: importing
    // discord.js, grammY and the rest again for every file took about as long as
    // the tests themselves. Files clean up after themselves (servers closed,
    // real timers back: see support/setup.ts), so sharing a module cache is safe.
    isolate: false,
    setupFiles: ["./test/support/setup.ts"],
    // The bot transpiled once for the bot processes tests start (see the file).
    globalSetup: ["./test/support/build-bot.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
