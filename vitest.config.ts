import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores, but much of a file's time is spent waiting (on child processes,
    // pacing, fake servers): more workers fill it. Measured on this machine with
    // 866 tests: three workers 132 s, four 113 s. Tests that are not about time
    // have generous timeouts, so the extra contention does not fail them.
    maxWorkers: 4,
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
