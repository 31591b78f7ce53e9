// Remembered table runs ("flows"), per loaded ruleset and host. Running a table is a pure
// function of the ruleset, the table and hook, the packet's header fields, its mark and
// interfaces, its conntrack state bits and the host (addrtype asks which addresses are local) —
// except for the two things a probe changes every time or that have a memory: the source port (a
// new ephemeral port per probe) and `-m recent` lists. A ruleset none of whose rules reads either
// (kube-proxy's, unless session affinity is on) gives the same branches for the same fields, so
// they are remembered: the probes of a file go the same ways scenario after scenario, and most of
// their table runs are repeats. The branches are shared, as the interpreter's own shared leaves
// are: nobody changes an EvalBranch after evaluation.

import type { EvalBranch, HookName, PacketView, TableName } from "../netfilter/api.js";
import type { Ruleset } from "../netfilter/index.js";
import type { SimHost } from "./host.js";

interface Flow {
  table: TableName;
  hook: HookName;
  src: number;
  dst: number;
  proto: number;
  dport: number;
  mark: number;
  inIface: string | null;
  outIface: string | null;
  physIn: string | null;
  physOut: string | null;
  ctstate: number;
  branches: EvalBranch[];
  /** The next flow with the same hash. */
  next: Flow | null;
}

const TABLE_ID: Record<TableName, number> = { raw: 1, mangle: 2, nat: 3, filter: 4 };
const HOOK_ID: Record<HookName, number> = { PREROUTING: 1, INPUT: 2, FORWARD: 3, OUTPUT: 4, POSTROUTING: 5 };
/** Far more than a file's probes make; a long run starts over rather than grow. */
const MAX_FLOWS = 4096;

export class FlowCache {
  private readonly flows = new Map<number, Flow>();

  /** The branches of an earlier run of this table on the same fields, if any. */
  get(table: TableName, hook: HookName, v: PacketView, ctstate: number): EvalBranch[] | undefined {
    const physIn = v.physInIface ?? null;
    const physOut = v.physOutIface ?? null;
    for (let f: Flow | null | undefined = this.flows.get(hashOf(table, hook, v, ctstate)); f; f = f.next) {
      if (
        f.dst === v.dst &&
        f.src === v.src &&
        f.dport === v.dport &&
        f.proto === v.proto &&
        f.mark === v.mark &&
        f.ctstate === ctstate &&
        f.table === table &&
        f.hook === hook &&
        f.inIface === v.inIface &&
        f.outIface === v.outIface &&
        f.physIn === physIn &&
        f.physOut === physOut
      )
        return f.branches;
    }
    return undefined;
  }

  set(table: TableName, hook: HookName, v: PacketView, ctstate: number, branches: EvalBranch[]): void {
    if (this.flows.size >= MAX_FLOWS) this.flows.clear();
    const h = hashOf(table, hook, v, ctstate);
    const flow: Flow = {
      table,
      hook,
      src: v.src,
      dst: v.dst,
      proto: v.proto,
      dport: v.dport,
      mark: v.mark,
      inIface: v.inIface,
      outIface: v.outIface,
      physIn: v.physInIface ?? null,
      physOut: v.physOutIface ?? null,
      ctstate,
      branches,
      next: this.flows.get(h) ?? null,
    };
    this.flows.set(h, flow);
  }
}

function hashOf(table: TableName, hook: HookName, v: PacketView, ctstate: number): number {
  let h = Math.imul(v.src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ v.dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((v.proto << 16) | v.dport), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ v.mark, 0x165667b1);
  return (h ^ (h >>> 15) ^ (ctstate << 8) ^ (TABLE_ID[table] << 4) ^ HOOK_ID[hook]) | 0;
}

// Whether a ruleset's runs may be remembered, decided once per loaded ruleset.
const rememberable = new WeakMap<Ruleset, boolean>();

function isRememberable(ruleset: Ruleset): boolean {
  let ok = rememberable.get(ruleset);
  if (ok === undefined) {
    ok = true;
    for (const table of ruleset.tables.values()) {
      for (const chain of table.chains.values()) {
        for (const rule of chain.rules) {
          for (const m of rule.matchers) if (m.kind === "recent" || (m.kind === "test" && m.readsSourcePort)) ok = false;
        }
      }
    }
    rememberable.set(ruleset, ok);
  }
  return ok;
}

const caches = new WeakMap<Ruleset, WeakMap<SimHost, FlowCache>>();

/**
 * The flow cache of a host running a ruleset, or null when its runs must not be remembered
 * (a rule reads the source port or `-m recent` lists). Shared by every network (scenario) in
 * which this host runs this ruleset: a host and a loaded ruleset never change.
 */
export function flowCacheFor(ruleset: Ruleset, host: SimHost): FlowCache | null {
  if (!isRememberable(ruleset)) return null;
  let byHost = caches.get(ruleset);
  if (!byHost) caches.set(ruleset, (byHost = new WeakMap()));
  let cache = byHost.get(host);
  if (!cache) byHost.set(host, (cache = new FlowCache()));
  return cache;
}
