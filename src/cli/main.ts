import { runDoctor } from "./doctor.js";
import { listModels } from "./models.js";

const usage = `Usage: parley <command>

  start    start the bot (as npm start)
  doctor   check the configuration, platform tokens, model providers and Redis
  models   list the models of every configured provider
`;

const [command] = process.argv.slice(2);
switch (command) {
  case "doctor":
    process.exitCode = await runDoctor(process.env, process.stdout);
    break;
  case "models":
    process.exitCode = await listModels(process.env, process.stdout);
    break;
  case "start":
    process.argv.splice(2, 1);
    await import("../main.js");
    break;
  default:
    process.stdout.write(usage);
    process.exitCode = command === undefined || command === "help" || command === "--help" ? 0 : 2;
}
