// `svcspec check`'s core: parse a .svcspec file and build its World, returning every diagnostic
// (syntax, YAML, apiserver validation, unknown names) without running any scenario.
import { readFileSync } from "node:fs";
import type { Diagnostic } from "../lang/diagnostic.js";
import { parse } from "../lang/parse.js";
import { buildWorld } from "../world/build.js";

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
  // World checks only on a tree without syntax errors: names would be missing from half a file.
  if (!parsed.diagnostics.some((d) => d.severity === "error"))
    diagnostics.push(...buildWorld(parsed.ast, { file: path, readFile: (p) => (p === path ? text : readFile(p)) }).diagnostics);
  return { diagnostics, ok: !diagnostics.some((d) => d.severity === "error") };
}
