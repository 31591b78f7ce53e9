// The svcspec command line. Each subcommand lives in its own module (cmd-*.ts) and registers
// itself on the program; this file only wires them and turns stray exceptions into exit 3
// (an internal error) with a short message instead of a stack trace.

import { Command } from "commander";
import { registerCommands } from "./commands.js";
import { EXIT } from "./exit.js";

const program = new Command();
program
  .name("svcspec")
  .description("Test how Kubernetes Services behave, against a packet-level simulation of a cluster.")
  .version(process.env.SVCSPEC_VERSION ?? "0.1.0")
  .showSuggestionAfterError(true)
  .exitOverride((err) => {
    // commander's own usage errors: exit 2 (input error), help and version: 0.
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") {
      process.exit(EXIT.ok);
    }
    process.exit(EXIT.input);
  });

// A reader that stops early (`svcspec run … | head`) closes the pipe: the rest of the output has
// nowhere to go, which is no error of svcspec's. Stop quietly, with the status of a command that
// SIGPIPE ended, as `cat` or `grep` would; never a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(EXIT.closedOutput);
  process.stderr.write(`svcspec: cannot write the output: ${err.message}\n`);
  process.exit(EXIT.internal);
});

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`svcspec: internal error: ${msg}\n`);
  if (process.env.SVCSPEC_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
  process.exit(EXIT.internal);
});
