// The list of subcommands. Each cmd-*.ts exports a register function.
import type { Command } from "commander";
import { registerRules } from "./cmd-rules.js";
import { registerRun } from "./cmd-run.js";
import { registerCheck } from "./cmd-check.js";
import { registerTrace } from "./cmd-trace.js";
import { registerLab } from "./cmd-lab.js";

export function registerCommands(program: Command): void {
  void program;
  registerRules(program);
  registerRun(program);
  registerCheck(program);
  registerTrace(program);
  registerLab(program);
}
