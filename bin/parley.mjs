#!/usr/bin/env node
// `npx parley doctor` / `npx parley models` / `npx parley start`: runs the
// TypeScript sources through tsx, as `npm start` does.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
