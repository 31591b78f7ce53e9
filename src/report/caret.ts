// The source excerpt under a message: the line, and carets under the span. Written here because
// src/lang/format.ts (formatDiagnostic) did not exist when the reports were built; reports use
// only these two functions, so switching to the shared one later is a one-line change each.

import type { Diagnostic, Position } from "../lang/diagnostic.js";
import type { Colors } from "picocolors/types.js";

/** "  24 |   send tcp …" and "     |   ^^^^". Tabs before the span are kept so carets line up. */
export function sourceExcerpt(pos: Position, sourceLine: string, c?: Colors): string[] {
  const gutter = String(pos.line);
  const pad = " ".repeat(gutter.length);
  const line = sourceLine.replace(/\r$/, "");
  const start = Math.max(1, pos.column);
  // A span over several lines is underlined to the end of its first line.
  const end = pos.endLine > pos.line ? Math.max(start, line.length) : Math.max(start, pos.endColumn);
  const lead = line.slice(0, start - 1).replace(/[^\t]/g, " ");
  const carets = "^".repeat(Math.max(1, end - start + 1));
  const bar = c ? c.dim("|") : "|";
  return [`${gutter} ${bar} ${line}`, `${pad} ${bar} ${lead}${c ? c.red(carets) : carets}`];
}

export function formatPosition(pos: Position): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/**
 * A diagnostic for people:
 *   scenarios/x.svcspec:3:26: error [unknown-name] unknown host `nod2`
 *     3 | send tcp from laptop to nod2:8080
 *       |                          ^^^^
 *     did you mean `node2`?
 */
export function formatDiagnosticText(d: Diagnostic, c?: Colors): string {
  const sev = d.severity === "error" ? (c ? c.red(c.bold("error")) : "error") : c ? c.yellow(c.bold("warning")) : "warning";
  const lines = [`${formatPosition(d.pos)}: ${sev} [${d.code}] ${d.message}`];
  if (d.sourceLine !== undefined) lines.push(...sourceExcerpt(d.pos, d.sourceLine, c).map((l) => `  ${l}`));
  if (d.suggestion) lines.push(`  ${c ? c.cyan(d.suggestion) : d.suggestion}`);
  for (const n of d.notes ?? []) lines.push(`  ${c ? c.dim(n) : n}`);
  return lines.join("\n");
}
