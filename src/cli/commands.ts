// The list of subcommands. Each cmd-*.ts exports a register function.
import type { Command } from "commander";

export function registerCommands(program: Command): void {
  void program;
}
