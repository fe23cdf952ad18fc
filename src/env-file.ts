import { existsSync } from "node:fs";

/**
 * Reads `.env` in the working folder into `process.env` when there is one,
 * as `docker compose` does: a variable already set in the environment wins.
 * Skipped on a Node without `process.loadEnvFile` (before 20.12).
 */
export function loadDotEnv(path = ".env"): void {
  if (typeof process.loadEnvFile !== "function" || !existsSync(path)) return;
  try {
    process.loadEnvFile(path);
  } catch (e) {
    // An unreadable .env should not stop a bot whose settings may all be in the environment.
    process.stderr.write(`parley: could not read ${path}: ${(e as Error).message}\n`);
  }
}
