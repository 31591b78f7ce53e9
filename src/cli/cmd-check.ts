// `svcspec check [paths...]`: reports every problem in spec files without running a scenario.
// Files, directories (recursively, *.svcspec) and globs, default `scenarios/`. Exit 0 when no
// file has an error, 2 otherwise (input errors, the CLI contract in exit.ts). The per-file
// work is checkFile (check.ts): parsing, then the world's validation.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { Diagnostic } from "../lang/diagnostic.js";
import { formatDiagnostic } from "../lang/format.js";
import { sourceLineAt } from "../lang/parse.js";
import { resolveSpecPaths } from "../run/paths.js";
import { checkFile } from "./check.js";
import { EXIT } from "./exit.js";

export interface CheckCommandDeps {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
  color: boolean;
}

/** Fills in the source line of a diagnostic that has none (world and YAML positions). */
function withSourceLine(d: Diagnostic, texts: Map<string, string | null>): Diagnostic {
  if (d.sourceLine !== undefined) return d;
  let text = texts.get(d.pos.file);
  if (text === undefined) {
    try {
      text = readFileSync(d.pos.file, "utf8");
    } catch {
      text = null;
    }
    texts.set(d.pos.file, text);
  }
  return text === null ? d : { ...d, sourceLine: sourceLineAt(text, d.pos.line) };
}

export async function runCheck(paths: string[], deps: CheckCommandDeps): Promise<number> {
  const resolved = await resolveSpecPaths(paths.length ? paths : ["scenarios/"], deps.cwd);
  for (const e of resolved.errors) deps.stderr(`svcspec check: ${e}\n`);
  let errors = 0;
  let warnings = 0;
  let badFiles = 0;
  const texts = new Map<string, string | null>();
  for (const file of resolved.files) {
    const { diagnostics } = checkFile(file);
    const fileErrors = diagnostics.filter((d) => d.severity === "error").length;
    errors += fileErrors;
    warnings += diagnostics.length - fileErrors;
    if (fileErrors) badFiles++;
    for (const d of diagnostics) deps.stderr(formatDiagnostic(withSourceLine(d, texts), { color: deps.color }) + "\n\n");
  }
  const files = `${resolved.files.length} file${resolved.files.length === 1 ? "" : "s"}`;
  const warn = warnings ? `, ${warnings} warning${warnings === 1 ? "" : "s"}` : "";
  if (errors) deps.stdout(`checked ${files}: ${errors} error${errors === 1 ? "" : "s"} in ${badFiles} file${badFiles === 1 ? "" : "s"}${warn}\n`);
  else deps.stdout(`checked ${files}: no errors${warn}\n`);
  return errors || resolved.errors.length ? EXIT.input : EXIT.ok;
}

export function registerCheck(program: Command): void {
  program
    .command("check")
    .description("check spec files for errors (syntax, names, Kubernetes validation) without running them")
    .argument("[paths...]", "files, directories (searched for *.svcspec) or globs", [])
    .option("--no-color", "plain output")
    .action(async (paths: string[], opts: { color: boolean }) => {
      const color = opts.color && !process.env.NO_COLOR && (process.stderr.isTTY ?? false);
      const code = await runCheck(paths, {
        stdout: (s) => process.stdout.write(s),
        stderr: (s) => process.stderr.write(s),
        cwd: process.cwd(),
        color,
      });
      process.exitCode = code;
    });
}
