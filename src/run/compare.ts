// `--engine both`: where the simulator and the real kernel disagree on a probe. The simulator
// enumerates every branch with its probability; the kernel samples (it repeats a probe until it
// has seen every endpoint the simulator predicts, within a bound). So the kernel must reach
// exactly the endpoints the simulator predicts (only some of them when session affinity pins the
// client), and everything else it observed — outcomes,
// the source each endpoint saw, where replies came from — must be among the simulator's
// branches. Addresses only: ports chosen by --random-fully differ run to run.

import type { ProbeBranch, ProbeOutcome } from "../net/outcome.js";
import type { Directory } from "./directory.js";

const uniq = (xs: string[]): string[] => [...new Set(xs)].sort();

function facts(bs: ProbeBranch[], dir: Directory) {
  const ep = (b: ProbeBranch): string => (b.deliveredTo ? dir.displayName(b.deliveredTo.host) : "nobody");
  return {
    outcomes: uniq(bs.map((b) => b.result)),
    endpoints: uniq(bs.filter((b) => b.deliveredTo).map(ep)),
    seen: uniq(bs.filter((b) => b.sourceSeen).map((b) => `${ep(b)} saw ${b.sourceSeen!.ip}`)),
    replies: uniq(bs.filter((b) => b.result === "connected" && b.replyFrom).map((b) => `${ep(b)} answered from ${b.replyFrom!.ip}`)),
  };
}

export function compareOutcomes(sim: ProbeOutcome, kernel: ProbeOutcome, dir: Directory): string[] {
  const s = facts(sim.branches, dir);
  const k = facts(kernel.branches, dir);
  const out: string[] = [];
  const notIn = (xs: string[], ys: string[]): string[] => xs.filter((x) => !ys.includes(x));
  if (notIn(k.outcomes, s.outcomes).length) out.push(`outcome: simulator ${s.outcomes.join("|")}, kernel ${k.outcomes.join("|")}`);
  // Session affinity (`-m recent`) pins a client to the endpoint it reached first: the kernel's
  // repeats of the probe stay there, while the simulator keeps every endpoint the first
  // connection could have reached (one "world" each). Then the kernel's endpoints need only be
  // among the simulator's.
  const pinned = sim.branches.some(throughRecentList);
  const endpointsDiffer = pinned
    ? notIn(k.endpoints, s.endpoints).length > 0 || (k.endpoints.length === 0) !== (s.endpoints.length === 0)
    : s.endpoints.join() !== k.endpoints.join();
  if (endpointsDiffer) out.push(`endpoints reached: simulator ${s.endpoints.join(",") || "none"}, kernel ${k.endpoints.join(",") || "none"}`);
  for (const x of notIn(k.seen, s.seen)) out.push(`kernel: ${x}; simulator: ${s.seen.join("; ") || "nothing seen"}`);
  for (const x of notIn(k.replies, s.replies)) out.push(`kernel: ${x}; simulator: ${s.replies.join("; ") || "no reply"}`);
  return out;
}

/** The branch met a `-m recent` rule (kube-proxy's session affinity) on its way. */
function throughRecentList(b: ProbeBranch): boolean {
  return b.trace.some((e) => e.kind === "rule" && e.rule !== undefined && / -m recent /.test(e.rule));
}
