// A probe's branches as text for people: what `trace` prints and what a failure shows.

import type { ProbeBranch, TraceEvent } from "../net/outcome.js";
import type { Directory } from "./directory.js";
import { describeResult } from "./expect.js";
import { branchPhrase } from "./branch-name.js";

const PHASE: Record<TraceEvent["phase"], string> = { request: "→", reply: "←", error: "!" };

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function formatEvent(e: TraceEvent, dir: Directory): string {
  const where = e.hook ? `${e.table ? e.table + "/" : ""}${e.hook}` : e.kind;
  // The engine's text repeats the host (and table and hook) for readers of the raw events;
  // the columns already say them.
  let text = e.text.replace(new RegExp(`^${escape(e.host)}:? `), "");
  if (e.table && e.hook) text = text.replace(new RegExp(`^${escape(e.table)} ${escape(e.hook)} `), "");
  const body = e.rule ? `${text}: ${e.rule}` : text;
  return `${PHASE[e.phase]} ${dir.displayName(e.host).padEnd(10)} ${where.padEnd(18)} ${body}`;
}

export function formatBranchHeader(b: ProbeBranch, i: number, n: number, dir: Directory): string {
  const parts = [describeResult(b, dir)];
  if (b.sourceSeen) parts.push(`source seen ${dir.describe(b.sourceSeen.ip, b.sourceSeen.port)}`);
  if (b.replyFrom) parts.push(`reply from ${dir.describe(b.replyFrom.ip, b.replyFrom.port)}`);
  return `${n > 1 ? `${branchPhrase(b, i)} [${i + 1}/${n}]` : branchPhrase(b, i)}: ${parts.join(", ")}`;
}

export function formatBranch(b: ProbeBranch, i: number, n: number, dir: Directory): string {
  const lines = [formatBranchHeader(b, i, n, dir)];
  if (b.choices.length) lines.push(`  choices: ${b.choices.join("; ")}`);
  for (const e of b.trace) lines.push("  " + formatEvent(e, dir));
  lines.push(`  why: ${b.explanation}`);
  return lines.join("\n");
}

export function formatTrace(branches: ProbeBranch[], dir: Directory): string {
  return branches.map((b, i) => formatBranch(b, i, branches.length, dir)).join("\n\n");
}
