import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadDotEnv } from "../env-file.js";
import { packageRoot } from "../package-root.js";
// Each command is imported when it runs: `parley --help` or `parley check` need none of the model clients.

const usage = `Usage: parley <command>

  start      start the bot (as npm start)
  check      exit 0 when the bot could start unattended (valid settings, a platform token); for containers
  doctor     check the configuration, platform tokens, model providers and Redis
  models     list the models of every configured provider, and the model files downloaded
  pull       download a model file for the embedded provider ahead of time: parley pull [URL | hf:user/repo:quant]
             (default: EMBEDDED_MODEL, else a small default model), into PARLEY_MODELS_DIR; prints its path
  route      which model would answer a message, and why: parley route "text" [--persona NAME] [--history TOKENS]
  --shards   run every Discord shard of this machine, one bot process each (--shards auto, or a number)
  --version  print the version
  --help     print this

Settings come from the environment and parley.yaml: see the README.
`;

loadDotEnv();
const [command] = process.argv.slice(2);
switch (command) {
  case "check":
    process.exitCode = (await import("./check.js")).checkStart(process.env, process.stderr);
    break;
  case "doctor":
    process.exitCode = await (await import("./doctor.js")).runDoctor(process.env, process.stdout);
    break;
  case "--shards":
    process.exitCode = await (await import("./shards.js")).runShards(process.argv[3], process.env, process.stderr);
    break;
  case "models":
    process.exitCode = await (await import("./models.js")).listModels(process.env, process.stdout);
    break;
  case "pull": {
    // Ctrl-C stops the download cleanly: what arrived is kept and the next pull continues it.
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    const { pullModel } = await import("./pull.js");
    process.exitCode = await pullModel(process.argv.slice(3), process.env, process.stdout, process.stderr, { signal: stop.signal });
    break;
  }
  case "route":
    process.exitCode = (await import("./route.js")).printRoute(process.argv.slice(3), process.env, process.stdout);
    break;
  case "--version":
  case "-v":
  case "version": {
    const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string };
    process.stdout.write(`parley ${version}\n`);
    break;
  }
  case "start":
    process.argv.splice(2, 1);
    await import("../main.js");
    break;
  default:
    process.stdout.write(usage);
    if (command !== undefined && !["help", "--help", "-h"].includes(command)) process.stderr.write(`parley: unknown command ${command}\n`);
    process.exitCode = command === undefined || ["help", "--help", "-h"].includes(command) ? 0 : 2;
}
