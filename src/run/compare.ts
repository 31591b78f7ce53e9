// `--engine both`: where the simulator and the real kernel disagree on a probe. Compared: the
// set of outcomes, the set of endpoints reached, the source each endpoint saw and where the
// reply came from (addresses only: ports chosen by --random-fully differ run to run, and
// probabilities are exact in the simulator but sampled in the kernel).

import type { ProbeBranch, ProbeOutcome } from "../net/outcome.js";
import type { Directory } from "./directory.js";

const setOf = (xs: Array<string | null | undefined>): string[] => [...new Set(xs.map((x) => x ?? "-"))].sort();
const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function byEndpoint(bs: ProbeBranch[], dir: Directory): Map<string, ProbeBranch> {
  const m = new Map<string, ProbeBranch>();
  for (const b of bs) m.set(b.deliveredTo ? dir.displayName(b.deliveredTo.host) : "-", b);
  return m;
}

export function compareOutcomes(sim: ProbeOutcome, kernel: ProbeOutcome, dir: Directory): string[] {
  const out: string[] = [];
  const rs = setOf(sim.branches.map((b) => b.result));
  const rk = setOf(kernel.branches.map((b) => b.result));
  if (!same(rs, rk)) out.push(`outcome: simulator ${rs.join("|")}, kernel ${rk.join("|")}`);
  const es = byEndpoint(sim.branches, dir);
  const ek = byEndpoint(kernel.branches, dir);
  const ns = [...es.keys()].sort();
  const nk = [...ek.keys()].sort();
  if (!same(ns, nk)) out.push(`endpoints reached: simulator ${ns.join(",")}, kernel ${nk.join(",")}`);
  for (const [ep, s] of es) {
    const k = ek.get(ep);
    if (!k || ep === "-") continue;
    if ((s.sourceSeen?.ip ?? "-") !== (k.sourceSeen?.ip ?? "-"))
      out.push(`source seen by ${ep}: simulator ${s.sourceSeen?.ip ?? "none"}, kernel ${k.sourceSeen?.ip ?? "none"}`);
    if (s.result === "connected" && k.result === "connected" && (s.replyFrom?.ip ?? "-") !== (k.replyFrom?.ip ?? "-"))
      out.push(`reply from (branch ${ep}): simulator ${s.replyFrom?.ip ?? "none"}, kernel ${k.replyFrom?.ip ?? "none"}`);
  }
  return out;
}
