// The result model of a run: files → scenarios → steps (probes) → expectations, with the
// branches the engine computed. Reporters (src/report) read only this; JSON reports serialise
// it as is (see docs/json-report.md), so field names are part of the public contract.

import type { Diagnostic, Position } from "../lang/diagnostic.js";
export type { Diagnostic };
import type { ProbeBranch } from "../net/outcome.js";

export type Status = "passed" | "failed" | "skipped" | "error";

export interface ExpectationResult {
  /** The expectation as written ("reply-from node2:8080"). */
  text: string;
  quantifier: "always" | "sometimes" | "never";
  status: "passed" | "failed";
  pos: Position;
  /** What was expected and what was got, for people ("expected reply-from node2:8080"). */
  expected: string;
  got: string;
  /** Why it failed, one or two sentences naming node, chain and rule. */
  why?: string;
  /** Indexes into the step's branches that violated the expectation. */
  failingBranches: number[];
}

export interface StepResult {
  /** The statement as written ("send tcp from laptop to node2:8080"). */
  text: string;
  kind: "send" | "trace" | "resolve" | "nslookup" | "show" | "change";
  pos: Position;
  sourceLine: string;
  status: Status;
  branches: ProbeBranch[];
  /** Printed output (show, nslookup, trace). */
  output?: string;
  expectations: ExpectationResult[];
  /** An error while executing the step (not an expectation failure). */
  error?: string;
}

export interface ScenarioResult {
  title: string;
  tags: string[];
  pos: Position;
  status: Status;
  durationMs: number;
  steps: StepResult[];
  /** The engine that produced the result; "both" when compared. */
  engine: "sim" | "kernel" | "both";
  /** Disagreements between engines (engine "both"). */
  disagreements?: string[];
}

export interface FileResult {
  file: string;
  title: string | null;
  status: Status;
  durationMs: number;
  scenarios: ScenarioResult[];
  /** Input errors and warnings for the file (parse, validation, YAML). */
  diagnostics: Diagnostic[];
  /** Every file the spec read besides itself (`apply "x.yaml"`), as paths usable from the
   *  working directory; `svcspec run --watch` re-runs the spec when one of them changes. */
  inputs?: string[];
}

export interface RunResult {
  version: 1;
  startedAt: string;
  durationMs: number;
  files: FileResult[];
  totals: { passed: number; failed: number; skipped: number; errors: number };
}
