// The failure block of a scenario, shared by every report so the console, JUnit and TAP say the
// same thing: the probe's file:line:col, expected vs got with the branch and its probability,
// why, the source line with a caret, and the trace of the failing branch, indented.

import type { Colors } from "picocolors/types.js";
import type { TraceEvent } from "../net/outcome.js";
import type { ExpectationResult, FileResult, ScenarioResult, StepResult } from "../run/result.js";
import { formatDiagnosticText, formatPosition, sourceExcerpt } from "./caret.js";
import { displayName } from "../net/sim/index.js";
import { branchName, branchPhrase, formatProbability } from "../run/branch-name.js";


const PHASE_MARK: Record<TraceEvent["phase"], string> = { request: "→", reply: "←", error: "!" };

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** "→ node2      nat/PREROUTING     text: rule" — the layout `trace` prints, without colours. */
export function formatTraceEvent(e: TraceEvent): string {
  const where = e.hook ? `${e.table ? e.table + "/" : ""}${e.hook}` : e.chain ? `${e.table ? e.table + "/" : ""}${e.chain}` : e.kind;
  // Hosts by the names the spec uses ("nginx-1", not the topology's "pod:default/nginx-1"), and
  // the engine's text without the host/table/hook the columns already show, as `trace` prints.
  const host = displayName(e.host);
  let text = e.text.replace(new RegExp(`^${escapeRe(host)}:? `), "");
  if (e.table && e.hook) text = text.replace(new RegExp(`^${escapeRe(e.table)} ${escapeRe(e.hook)} `), "");
  const body = e.rule ? `${text}: ${e.rule}` : text;
  return `${PHASE_MARK[e.phase]} ${host.padEnd(10)} ${where.padEnd(18)} ${body}`;
}

export function formatTrace(trace: TraceEvent[], indent: string): string[] {
  return trace.map((e) => indent + formatTraceEvent(e));
}

function failingBranchesText(step: StepResult, exp: ExpectationResult): string {
  // The executor usually names the branches in `got` already ("… on branch web-2 (p=0.50)").
  if (/\bbranch(es)?\b/.test(exp.got)) return "";
  const parts = exp.failingBranches
    .map((i) => (step.branches[i] ? `${branchName(step.branches[i]!, i)} (p=${formatProbability(step.branches[i]!.probability)})` : null))
    .filter((x): x is string => x !== null);
  if (parts.length === 0) return "";
  return ` on branch${parts.length > 1 ? "es" : ""} ${parts.join(", ")}`;
}

/** The lines explaining one failed expectation of a step. */
export function expectationFailureLines(step: StepResult, exp: ExpectationResult, c?: Colors): string[] {
  // `expected` already carries the quantifier ("sometimes delivered-to web-1").
  const lines = [
    `${c ? c.dim("expected") : "expected"} ${c ? c.green(exp.expected) : exp.expected}`,
    `${c ? c.dim("got     ") : "got     "} ${c ? c.red(exp.got) : exp.got}${failingBranchesText(step, exp)}`,
  ];
  if (exp.why) lines.push(`${c ? c.dim("why     ") : "why     "} ${exp.why}`);
  return lines;
}

/** The lines of one failed or errored step, not indented. */
export function stepFailureLines(step: StepResult, opts: { color?: Colors; traces: boolean }): string[] {
  const c = opts.color;
  const head = `${formatPosition(step.pos)}  ${step.text}`;
  const lines = [c ? c.bold(head) : head];
  if (step.error) lines.push(`  ${c ? c.red("error") : "error"}    ${step.error}`);
  // When the step could not run, its expectations only repeat the error: list them by position.
  const failed = step.expectations.filter((e) => e.status === "failed" && !(step.error && e.expected === ""));
  for (const exp of failed) {
    if (exp.pos.line !== step.pos.line || exp.pos.column !== step.pos.column) lines.push(`  at ${formatPosition(exp.pos)}  expect ${exp.text}`);
    lines.push(...expectationFailureLines(step, exp, c).map((l) => `  ${l}`));
  }
  lines.push(...sourceExcerpt(step.pos, step.sourceLine, c).map((l) => `  ${l}`));
  if (opts.traces) {
    const shown = new Set<number>();
    for (const exp of failed) for (const i of exp.failingBranches) shown.add(i);
    // The first failing branch in full; the others by their explanation only (their traces
    // differ from the first in a rule or two, and sixty lines each bury the point).
    let full = true;
    for (const i of [...shown].sort((a, b) => a - b)) {
      const b = step.branches[i];
      if (!b || b.trace.length === 0) continue;
      lines.push(`  ${full ? "trace of" : "also"} ${branchPhrase(b, i)}: ${b.explanation}`);
      if (full) lines.push(...formatTrace(b.trace, "    ").map((l) => (c ? c.dim(l) : l)));
      full = false;
    }
  }
  return lines;
}

/** Everything that went wrong in a scenario, as lines. */
export function scenarioFailureLines(s: ScenarioResult, opts: { color?: Colors; traces: boolean }): string[] {
  const lines: string[] = [];
  for (const step of s.steps) {
    if (step.status === "failed" || step.status === "error") lines.push(...stepFailureLines(step, opts));
  }
  if (s.disagreements && s.disagreements.length > 0) {
    lines.push("engines disagree:");
    lines.push(...s.disagreements.map((d) => `  ${d}`));
  }
  if (lines.length === 0 && (s.status === "failed" || s.status === "error")) {
    lines.push(`${formatPosition(s.pos)}  scenario "${s.title}" ${s.status === "error" ? "could not run" : "failed"}`);
  }
  return lines;
}

/** A one-line summary of why a scenario failed (JUnit's message attribute, TAP's message). */
export function scenarioFailureMessage(s: ScenarioResult): string {
  for (const step of s.steps) {
    if (step.error) return `${formatPosition(step.pos)}: ${step.error}`;
    const exp = step.expectations.find((e) => e.status === "failed");
    // The why belongs in the one line too: CI systems often show only this message.
    if (exp) return `${formatPosition(exp.pos)}: expected ${exp.expected}, got ${exp.got}${failingBranchesText(step, exp)}${exp.why ? ` — ${exp.why}` : ""}`;
  }
  if (s.disagreements?.[0]) return `engines disagree: ${s.disagreements[0]}`;
  return `scenario "${s.title}" ${s.status}`;
}

/** Whether a file has something that counts as an "input errors" test case. */
export function inputErrorDiagnostics(f: FileResult): FileResult["diagnostics"] {
  return f.diagnostics.filter((d) => d.severity === "error");
}

/** The text of a file's input errors (all diagnostics, warnings included, in order). */
export function diagnosticsText(f: FileResult, c?: Colors): string {
  return f.diagnostics.map((d) => formatDiagnosticText(d, c)).join("\n");
}

/** The name reports give the test case that carries a file's input errors. */
export function inputErrorCaseTitle(f: FileResult): string {
  return f.diagnostics.some((d) => d.code === "internal" && d.severity === "error") ? "internal error" : "input errors";
}
