// `svcspec check`'s core: parse a .svcspec file and build its World, returning every diagnostic
// (syntax, YAML, apiserver validation, unknown names) without running any scenario.
import { readFileSync } from "node:fs";
import type { Diagnostic } from "../lang/diagnostic.js";
import { parse } from "../lang/parse.js";
import { buildWorld, worldDiagnosticsBesideSyntaxErrors } from "../world/build.js";

export interface CheckResult {
  diagnostics: Diagnostic[];
  /** True when there is no error (warnings allowed). */
  ok: boolean;
}

export function checkFile(path: string, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): CheckResult {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such file" : ((err as Error)?.message ?? String(err));
    const pos = { file: path, line: 1, column: 1, endLine: 1, endColumn: 1 };
    return { diagnostics: [{ severity: "error", code: "file", message: `cannot read ${path}: ${why}`, pos }], ok: false };
  }
  const parsed = parse(text, path);
  const diagnostics = [...parsed.diagnostics];
  const opts = { file: path, readFile: (p: string) => (p === path ? text : readFile(p)) };
  if (!parsed.diagnostics.some((d) => d.severity === "error")) diagnostics.push(...buildWorld(parsed.ast, opts).diagnostics);
  // With syntax errors, what the world's checks can say without being misled by them.
  else diagnostics.push(...worldDiagnosticsBesideSyntaxErrors(parsed.ast, parsed.diagnostics, opts));
  return { diagnostics, ok: !diagnostics.some((d) => d.severity === "error") };
}
