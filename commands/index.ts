import type { Command } from "../src/core/types.js";
import { chat } from "./chat.js";
import { forget } from "./forget.js";
import { help } from "./help.js";
import { persona } from "./persona.js";
import { recall } from "./recall.js";
import { remember } from "./remember.js";
import { reset } from "./reset.js";
import { status } from "./status.js";
import { usage } from "./usage.js";

/** Every command, in the order `help` lists them. Adding a command is adding a file and a line here. */
export const commands: readonly Command[] = [chat, persona, remember, recall, forget, reset, help, status, usage];
