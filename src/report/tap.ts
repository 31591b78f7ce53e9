// TAP version 14, readable by TAP 13 consumers too: a flat list of test points (no subtests,
// which TAP 13 readers do not know), one per scenario plus one per file with input errors,
// YAML diagnostics blocks under "not ok", and "# SKIP" for scenarios not selected.

import { stringify } from "yaml";
import type { FileResult, RunResult, ScenarioResult } from "../run/result.js";
import { formatPosition } from "./caret.js";
import { diagnosticsText, inputErrorCaseTitle, inputErrorDiagnostics, scenarioFailureLines, scenarioFailureMessage } from "./failure.js";
import { branchName } from "../run/branch-name.js";
import { summaryLine } from "./console.js";

/** TAP descriptions are one line; `#` starts a directive and `\` escapes, so both are escaped. */
export function tapEscape(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/#/g, "\\#").replace(/[\r\n]+/g, " ");
}

function yamlBlock(data: Record<string, unknown>): string[] {
  const body = stringify(data, { lineWidth: 0 }).replace(/\n$/, "").split("\n");
  return ["  ---", ...body.map((l) => "  " + l), "  ..."];
}

function scenarioYaml(f: FileResult, s: ScenarioResult): Record<string, unknown> {
  const failures = s.steps.flatMap((step) =>
    step.expectations
      .filter((e) => e.status === "failed")
      .map((e) => ({
        at: formatPosition(e.pos),
        step: step.text,
        expected: e.expected,
        quantifier: e.quantifier,
        got: e.got,
        ...(e.why ? { why: e.why } : {}),
        branches: e.failingBranches
          .filter((i) => step.branches[i])
          .map((i) => ({ branch: branchName(step.branches[i]!, i), probability: step.branches[i]!.probability })),
      })),
  );
  const errors = s.steps.filter((st) => st.error).map((st) => ({ at: formatPosition(st.pos), step: st.text, error: st.error }));
  return {
    message: scenarioFailureMessage(s),
    severity: s.status === "error" ? "error" : "fail",
    at: { file: s.pos.file, line: s.pos.line, column: s.pos.column },
    engine: s.engine,
    ...(failures.length > 0 ? { failures } : {}),
    ...(errors.length > 0 ? { errors } : {}),
    ...(s.disagreements?.length ? { disagreements: s.disagreements } : {}),
    details: scenarioFailureLines(s, { traces: true }).join("\n"),
    file: f.file,
  };
}

export function renderTapReport(run: RunResult): string {
  const points: string[][] = [];
  for (const f of run.files) {
    const prefix = tapEscape(f.file);
    const errs = inputErrorDiagnostics(f);
    if (errs.length > 0) {
      points.push([
        `not ok %N - ${prefix}: ${tapEscape(inputErrorCaseTitle(f))}`,
        ...yamlBlock({
          message: `${errs.length} input error${errs.length === 1 ? "" : "s"}: ${errs[0]!.message}`,
          severity: "error",
          at: { file: errs[0]!.pos.file, line: errs[0]!.pos.line, column: errs[0]!.pos.column },
          diagnostics: f.diagnostics.map((d) => ({
            severity: d.severity,
            code: d.code,
            message: d.message,
            at: formatPosition(d.pos),
            ...(d.suggestion ? { suggestion: d.suggestion } : {}),
          })),
          details: diagnosticsText(f),
        }),
      ]);
    }
    for (const s of f.scenarios) {
      const desc = `${prefix}: ${tapEscape(s.title)}`;
      if (s.status === "passed") points.push([`ok %N - ${desc}`]);
      else if (s.status === "skipped") points.push([`ok %N - ${desc} # SKIP not run`]);
      else points.push([`not ok %N - ${desc}`, ...yamlBlock(scenarioYaml(f, s))]);
    }
  }
  const out = ["TAP version 14", `1..${points.length}`];
  points.forEach((lines, i) => {
    out.push(lines[0]!.replace("%N", String(i + 1)), ...lines.slice(1));
  });
  out.push(`# ${summaryLine(run.totals)}`);
  return out.join("\n") + "\n";
}
