// The JSON report: the RunResult exactly as the runner produced it (see docs/json-report.md).
// Field names are the contract, so nothing is renamed or summarised here.

import type { RunResult } from "../run/result.js";

export function renderJsonReport(run: RunResult): string {
  return JSON.stringify(run, null, 2) + "\n";
}
