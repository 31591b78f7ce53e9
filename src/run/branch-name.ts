// How every report and every verdict names a probe's branch, in one place: the pod that took
// the request, else the branch's last load-balancing choice, else its number; "the only branch"
// for a probe that had nothing to choose. The console, JUnit, TAP, `trace` output and the
// expectation messages ("… on branch web-2 (p=0.50)") all say it the same way.

import type { ProbeBranch } from "../net/outcome.js";
import { displayName } from "../net/sim/index.js";

/**
 * Printed probabilities by value: a pure function of the number, and a run's branches have few
 * distinct probabilities (1/2, 1/3, 1/4 ...), each printed for every expectation judged on such a
 * branch (toFixed was ≈ 1 % of the bench suite's CPU). Bounded; cleared when full.
 */
const printedProbabilities = new Map<number, string>();

/** A probability as reports print it: two decimals, and 1.00 for what rounds there. */
export function formatProbability(p: number): string {
  if (p >= 0.995) return "1.00";
  let text = printedProbabilities.get(p);
  if (text === undefined) {
    if (printedProbabilities.size >= 256) printedProbabilities.clear();
    printedProbabilities.set(p, (text = p.toFixed(2)));
  }
  return text;
}

/** A short name for the branch at `index` of a probe: "web-2", "KUBE-SEP-… 10.244.1.5:80", "#2". */
export function branchName(b: ProbeBranch, index: number): string {
  if (b.deliveredTo) return displayName(b.deliveredTo.host);
  if (b.choices.length > 0) return b.choices[b.choices.length - 1]!;
  return index === 0 ? "only branch" : `#${index + 1}`;
}

/** "branch web-2 (p=0.50)", or "the only branch (p=1.00)" when there was no choice to name. */
export function branchPhrase(b: ProbeBranch, index: number): string {
  const p = `(p=${formatProbability(b.probability)})`;
  return !b.deliveredTo && b.choices.length === 0 && index === 0 ? `the only branch ${p}` : `branch ${branchName(b, index)} ${p}`;
}
