import { ConfigError, loadConfig } from "../config/load.js";
import { noInputExitCode } from "../no-input.js";

type Env = Record<string, string | undefined>;

/**
 * `parley check`: whether the bot could start unattended (in a container,
 * where nobody types): the settings are valid and a platform token is set.
 * Reads nothing from the network. Returns the exit code: 0, 2 for a bad
 * setting, 78 (EX_CONFIG) for no token.
 */
export function checkStart(env: Env, err: NodeJS.WritableStream): number {
  try {
    const config = loadConfig(env, []);
    if (config.telegram.token || config.discord.token) return 0;
    err.write(
      "parley: no TELEGRAM_BOT_TOKEN or DISCORD_TOKEN is set, and a container has no terminal to chat in; set one of them in .env (see .env.example)\n",
    );
    return noInputExitCode;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`parley: ${e.message}\n`);
    return 2;
  }
}
