// `svcspec lab clean`: removes what a crashed or killed kernel-engine run left on this machine —
// network namespaces named `svs<6 hex>-…` (and everything in them: veths, bridges, rules) after
// killing the agent processes still inside them. Namespaces without svcspec's prefix are never
// touched. Missing prerequisites (not Linux, not root, no ip/iptables) exit 2 with what is missing.

import type { Command } from "commander";
import { cleanStaleLabs } from "../lab/cleanup.js";
import { checkPrerequisites, LabPrerequisiteError } from "../lab/exec.js";
import { EXIT } from "./exit.js";

export function registerLab(program: Command): void {
  const lab = program.command("lab").description("manage the kernel engine's network-namespace labs on this machine");
  lab
    .command("clean")
    .description("Remove network namespaces and agent processes left by interrupted kernel-engine runs (only svcspec's own, named svs<hex>-…).")
    .option("--force", "also remove labs a running svcspec process still owns")
    .action((opts: { force?: boolean }) => {
      try {
        checkPrerequisites();
      } catch (err) {
        if (err instanceof LabPrerequisiteError) {
          process.stderr.write(`svcspec lab clean: ${err.message}\n`);
          process.exit(EXIT.input);
        }
        throw err;
      }
      const report = cleanStaleLabs({ force: opts.force });
      if (report.active.length > 0) {
        process.stdout.write(`kept ${report.active.length} namespace(s) of a running svcspec (use --force to remove them too):\n${report.active.map((n) => `  ${n}\n`).join("")}`);
      }
      if (report.namespaces.length === 0) {
        process.stdout.write("nothing to clean: no abandoned svcspec lab namespaces on this machine\n");
        return;
      }
      const killed = report.killed.length > 0 ? ` and killed ${report.killed.length} process(es) inside them` : "";
      process.stdout.write(`removed ${report.namespaces.length} lab namespace(s)${killed}:\n${report.namespaces.map((n) => `  ${n}\n`).join("")}`);
    });
}
