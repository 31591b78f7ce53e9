// Diagnostics as users read them (like rustc / Hurl):
//
//   scenarios/a.svcspec:3:24: error: expected a port number after `:`, got `http`
//     |
//   3 |   send tcp from a to b:http
//     |                        ^^^^
//     = help: did you mean `reply-from`?

import pc from "picocolors";
import type { Diagnostic } from "./diagnostic.js";

export interface FormatOptions {
  color: boolean;
}

export function formatDiagnostic(d: Diagnostic, opts: FormatOptions): string {
  const c = pc.createColors(opts.color);
  const sevColor = d.severity === "error" ? c.red : c.yellow;
  const { file, line, column } = d.pos;
  const out: string[] = [`${c.bold(`${file}:${line}:${column}:`)} ${sevColor(c.bold(d.severity + ":"))} ${c.bold(d.message)}`];
  if (d.sourceLine !== undefined) {
    const num = String(line);
    const gutter = " ".repeat(num.length);
    // The caret runs to the end column on a one-line span; a multi-line span is marked to the end of its first line.
    const src = d.sourceLine.replace(/\t/g, " ");
    const lastCol = d.pos.endLine === line ? d.pos.endColumn : Math.max(column, src.length);
    const width = Math.max(1, lastCol - column + 1);
    out.push(c.blue(`${gutter} |`));
    out.push(`${c.blue(`${num} |`)} ${src}`);
    out.push(`${c.blue(`${gutter} |`)} ${" ".repeat(Math.max(0, column - 1))}${sevColor("^".repeat(width))}`);
    for (const note of d.notes ?? []) out.push(`${c.blue(`${gutter} =`)} note: ${note}`);
    if (d.suggestion) out.push(`${c.blue(`${gutter} =`)} ${c.bold("help:")} ${d.suggestion}`);
  } else {
    for (const note of d.notes ?? []) out.push(`  = note: ${note}`);
    if (d.suggestion) out.push(`  = help: ${d.suggestion}`);
  }
  return out.join("\n");
}
