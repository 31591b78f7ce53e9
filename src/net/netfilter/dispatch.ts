// Dispatch index for long chains (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES,
// KUBE-PROXY-FIREWALL): the cost of finding the rules a packet can match must not grow with
// the number of Services. Rules pinned to an exact destination and/or protocol+port are
// bucketed; every other rule stays in a "rest" list. A lookup merges the packet's buckets with
// the rest in rule order, so first-match semantics are exactly those of a linear scan: every
// rule left out provably cannot match (its -d or -p/--dport differs from the packet's).

import type { Chain, DispatchIndex, Rule } from "./ruleset.js";

/** Below this many rules a linear scan is as cheap as a lookup. */
export const INDEX_MIN_RULES = 16;

const EMPTY: readonly number[] = [];

class ChainIndex implements DispatchIndex {
  private readonly byPP = new Map<number, { byDst: Map<number, number[]>; any: number[] }>();
  private readonly dstOnly = new Map<number, number[]>();
  private readonly rest: number[] = [];

  constructor(rules: readonly Rule[]) {
    rules.forEach((r, i) => {
      if (r.keyProtoPort !== null) {
        let b = this.byPP.get(r.keyProtoPort);
        if (!b) this.byPP.set(r.keyProtoPort, (b = { byDst: new Map(), any: [] }));
        if (r.keyDst !== null) push(b.byDst, r.keyDst, i);
        else b.any.push(i);
      } else if (r.keyDst !== null) push(this.dstOnly, r.keyDst, i);
      else this.rest.push(i);
    });
  }

  candidates(dst: number, protoPort: number): readonly number[] {
    const b = this.byPP.get(protoPort);
    return merge4(b?.byDst.get(dst) ?? EMPTY, b?.any ?? EMPTY, this.dstOnly.get(dst) ?? EMPTY, this.rest);
  }
}

function push(m: Map<number, number[]>, k: number, v: number): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** Merge four ascending lists of distinct rule numbers (each rule is in exactly one list). */
function merge4(a: readonly number[], b: readonly number[], c: readonly number[], d: readonly number[]): readonly number[] {
  const nonEmpty = [a, b, c, d].filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  const out: number[] = [];
  const pos = nonEmpty.map(() => 0);
  for (;;) {
    let best = -1;
    let bestV = Infinity;
    for (let k = 0; k < nonEmpty.length; k++) {
      const l = nonEmpty[k]!;
      if (pos[k]! < l.length && l[pos[k]!]! < bestV) {
        bestV = l[pos[k]!]!;
        best = k;
      }
    }
    if (best < 0) return out;
    out.push(bestV);
    pos[best]!++;
  }
}

export function chainIndex(chain: Chain): DispatchIndex {
  if (!chain.index) chain.index = new ChainIndex(chain.rules);
  return chain.index;
}
