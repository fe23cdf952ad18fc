/**
 * Runs before every test file. Files share a worker's module cache
 * (`isolate: false`), so nothing one file changes globally may reach the next.
 */
import { afterAll, afterEach, vi } from "vitest";

afterEach(() => {
  // A test that failed before its own cleanup must not leave fake timers to the next test.
  vi.useRealTimers();
});
afterAll(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});
