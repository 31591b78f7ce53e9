// Runs a .svcspec text end to end (parse → world → control plane → kube-proxy rules → packet
// simulator → verdicts) exactly as `svcspec run` does, through the executor, so behaviour tests
// exercise the whole pipeline and assert on what the engine computed per branch.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { executeFile } from "../../src/run/executor.js";
import type { FileResult, ScenarioResult, StepResult } from "../../src/run/result.js";
import type { ProbeBranch } from "../../src/net/outcome.js";
import { scenarioFailureLines } from "../../src/report/failure.js";

export class SpecRun {
  constructor(readonly result: FileResult) {}

  scenario(title: string): ScenarioResult {
    const s = this.result.scenarios.find((x) => x.title === title);
    if (!s) {
      const diags = this.result.diagnostics.map((d) => `${d.pos.line}:${d.pos.column} ${d.message}`).join("; ");
      throw new Error(`no scenario "${title}" in [${this.result.scenarios.map((x) => JSON.stringify(x.title)).join(", ")}]${diags ? `; diagnostics: ${diags}` : ""}`);
    }
    return s;
  }

  /** The n-th step (0-based, changes included) of a scenario. */
  step(title: string, n: number): StepResult {
    const st = this.scenario(title).steps[n];
    if (!st) throw new Error(`scenario "${title}" has no step ${n}`);
    return st;
  }

  /** The n-th probe (send, trace, resolve, nslookup, show) of a scenario, changes skipped. */
  probe(title: string, n = 0): StepResult {
    const probes = this.scenario(title).steps.filter((s) => s.kind !== "change");
    const st = probes[n];
    if (!st) throw new Error(`scenario "${title}" has no probe ${n}`);
    if (st.error) throw new Error(`probe ${n} of "${title}" could not run: ${st.error}`);
    return st;
  }

  branches(title: string, n = 0): ProbeBranch[] {
    return this.probe(title, n).branches;
  }

  /** Every failure, as the console prints it: an empty string when all scenarios passed. */
  failures(): string {
    const input = this.result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.pos.line}:${d.pos.column} ${d.message}`);
    const lines = this.result.scenarios.flatMap((s) => (s.status === "failed" || s.status === "error" ? [`✗ ${s.title}`, ...scenarioFailureLines(s, { traces: false })] : []));
    return [...input, ...lines].join("\n");
  }
}

/**
 * Writes `text` (and any `files` beside it, for `apply "x.yaml"`) to a fresh temporary directory
 * and runs it on the simulator. Traces are kept for every probe (verbose), so tests may read them.
 */
export async function runSpec(text: string, files: Record<string, string> = {}): Promise<SpecRun> {
  const dir = mkdtempSync(join(tmpdir(), "svcspec-behaviour-"));
  try {
    const path = join(dir, "spec.svcspec");
    writeFileSync(path, text);
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    return new SpecRun(await executeFile(path, { engine: "sim", verbose: true }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The probability mass of branches matching `pred` (branches of one probe sum to 1). */
export function mass(branches: ProbeBranch[], pred: (b: ProbeBranch) => boolean): number {
  return branches.filter(pred).reduce((s, b) => s + b.probability, 0);
}

/** The pod (by its short name) each branch delivered to, with its probability, sorted by name. */
export function deliveries(branches: ProbeBranch[]): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const b of branches) {
    const name = b.deliveredTo ? b.deliveredTo.host.replace(/^pod:(default\/)?/, "") : "-";
    m.set(name, (m.get(name) ?? 0) + b.probability);
  }
  return [...m.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

/** The whole trace of a branch as one text, for "the trace names X" assertions. */
export function traceText(b: ProbeBranch): string {
  return b.trace.map((e) => `${e.phase} ${e.host} ${e.kind} ${e.table ?? ""} ${e.chain ?? ""} ${e.text} ${e.rule ?? ""}`).join("\n");
}
