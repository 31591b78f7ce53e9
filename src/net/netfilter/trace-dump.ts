// One packet through one node's iptables dump, hook by hook as the kernel runs them:
//
//   from the node itself (source is a --local-ip or in 127.0.0.0/8):
//     raw/mangle/nat/filter OUTPUT → mangle/nat POSTROUTING → (local destination: back in on
//     lo) raw/mangle PREROUTING → mangle/filter INPUT. nat is not consulted again on lo: the
//     connection's NAT bindings were set up in OUTPUT/POSTROUTING.
//   from elsewhere:
//     raw/mangle/nat PREROUTING → routing (destination local after DNAT?) →
//       local:  mangle/filter INPUT → nat INPUT
//       else:   mangle/filter FORWARD → mangle/nat POSTROUTING
//
// The first packet is ctstate NEW; the DNAT/SNAT bits are set once a binding exists; a
// NOTRACK makes it UNTRACKED and skips nat. Every statistic choice is a branch.

import type { EvalBranch, HookName, MatchContext, PacketView, RecentLists, RecentUpdate, TableName, Verdict } from "./api.js";
import { CT } from "./api.js";
import { formatIPv4, parseIPv4 } from "./addr.js";
import { runTable } from "./eval.js";
import { loadRuleset } from "./restore.js";
import type { Ruleset } from "./ruleset.js";

export interface TraceDumpOptions {
  /** The node's own addresses (127.0.0.0/8 is always local). Dotted strings. */
  localIps: string[];
  src: string;
  dst: string;
  dport: number;
  sport?: number;
  proto?: "tcp" | "udp" | "sctp";
  /** Interface the packet arrives on when it comes from outside (default eth0). */
  inIface?: string;
  /** Interface a non-local destination is routed out of (default eth0). */
  outIface?: string;
  /** File name for error positions. */
  file?: string;
}

export interface TraceBranch {
  probability: number;
  /** "ip:port" after DNAT, null when no DNAT happened. */
  dnat: string | null;
  verdict: Verdict;
  /** MASQUERADE in nat POSTROUTING. */
  masquerade: boolean;
  /** Every rule met (iptables-save text), hook by hook. */
  rules: string[];
  /** SNAT --to-source decided in nat POSTROUTING/INPUT, "ip[:port]". */
  snat: string | null;
  /** REJECT's --reject-with, when the verdict is REJECT. */
  rejectWith?: string;
  /** The statistic choices that define this branch. */
  choices: string[];
}

export interface TraceDumpResult {
  branches: TraceBranch[];
}

/** A bad option (address, port): not a rule-file problem, so no file position. */
export class TraceOptionError extends Error {
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
    this.name = "TraceOptionError";
  }
}

/** What happened at one table of one hook, for the readable trace. */
export interface TraceStage {
  hook: HookName;
  table: TableName;
  steps: EvalBranch["steps"];
  /** What the stage decided, in words ("DNAT to 10.0.0.1:80", "DROP", ...), or null. */
  decision: string | null;
}

export interface TraceBranchDetail extends TraceBranch {
  stages: TraceStage[];
  /** Routing decisions and other notes, in order with the stages (index = after that many stages). */
  notes: Array<{ at: number; text: string }>;
}

export interface TraceDetail {
  packet: { src: string; dst: string; sport: number; dport: number; proto: "tcp" | "udp" | "sctp"; fromNode: boolean; inIface: string | null };
  branches: TraceBranchDetail[];
}

export function traceDump(text: string, opts: TraceDumpOptions): TraceDumpResult {
  return { branches: traceDumpDetailed(loadRuleset(text, opts.file), opts).branches.map(({ stages: _s, notes: _n, ...b }) => b) };
}

function ip(option: string, s: string): number {
  const v = parseIPv4(s.trim());
  if (v === null) throw new TraceOptionError(`${option}: \`${s}\` is not an IPv4 address`, option);
  return v;
}

interface Walk {
  prob: number;
  pkt: PacketView;
  ctstate: number;
  dnat: { ip: number; port: number } | null;
  snat: string | null;
  masquerade: boolean;
  verdict: Verdict | null;
  rejectWith?: string;
  rules: string[];
  choices: string[];
  recent: RecentLists;
  stages: TraceStage[];
  notes: Array<{ at: number; text: string }>;
}

function withUpdates(lists: RecentLists, updates: readonly RecentUpdate[], now: number): RecentLists {
  if (updates.length === 0) return lists;
  const out: RecentLists = new Map([...lists].map(([k, v]) => [k, new Map(v)]));
  for (const u of updates) {
    let l = out.get(u.name);
    if (!l) out.set(u.name, (l = new Map()));
    if (u.op === "remove") l.delete(u.ip);
    else if (u.op === "set" || l.has(u.ip)) l.set(u.ip, [...(l.get(u.ip) ?? []), now]);
  }
  return out;
}

/** The trace with every stage kept, for the human-readable output. */
export function traceDumpDetailed(ruleset: Ruleset, opts: TraceDumpOptions): TraceDetail {
  const local = new Set<number>(opts.localIps.filter((s) => s.trim() !== "").map((s) => ip("--local-ip", s)));
  const src = ip("--src", opts.src);
  const dst = ip("--dst", opts.dst);
  if (!Number.isInteger(opts.dport) || opts.dport < 1 || opts.dport > 65535) throw new TraceOptionError(`--dport: \`${opts.dport}\` is not a port (1-65535)`, "--dport");
  const sport = opts.sport ?? 40000;
  if (!Number.isInteger(sport) || sport < 1 || sport > 65535) throw new TraceOptionError(`--sport: \`${sport}\` is not a port (1-65535)`, "--sport");
  const proto = opts.proto ?? "tcp";
  const inIface = opts.inIface ?? "eth0";
  const outIface = opts.outIface ?? "eth0";
  const isLocal = (a: number) => local.has(a) || a >>> 24 === 127;
  const addrType = (a: number): ReturnType<MatchContext["addrType"]> =>
    isLocal(a) ? "LOCAL" : a === 0xffffffff ? "BROADCAST" : a >>> 28 === 0xe ? "MULTICAST" : "UNICAST";
  const routeOut = (a: number) => (isLocal(a) ? "lo" : outIface);
  const fromNode = isLocal(src);
  const now = 0;

  const start: Walk = {
    prob: 1,
    pkt: { src, dst, proto: proto === "tcp" ? 6 : proto === "udp" ? 17 : 132, sport, dport: opts.dport, mark: 0, inIface: fromNode ? null : inIface, outIface: fromNode ? routeOut(dst) : null },
    ctstate: CT.NEW,
    dnat: null,
    snat: null,
    masquerade: false,
    verdict: null,
    rules: [],
    choices: [],
    recent: new Map(),
    stages: [],
    notes: [],
  };

  const done: Walk[] = [];
  // Each stage maps a walk to its continuations; a walk with a verdict other than ACCEPT stops.
  const stage = (walks: Walk[], table: TableName, hook: HookName, ifaces?: (w: Walk) => Partial<PacketView>): Walk[] => {
    const out: Walk[] = [];
    for (const w of walks) {
      if (table === "nat" && w.ctstate & CT.UNTRACKED) {
        out.push(w);
        continue;
      }
      const pkt = ifaces ? { ...w.pkt, ...ifaces(w) } : w.pkt;
      const ctx: MatchContext = { isLocal, addrType, ctstate: w.ctstate, recent: w.recent, now };
      for (const b of runTable(ruleset, table, hook, pkt, ctx)) {
        const n: Walk = {
          ...w,
          prob: w.prob * b.probability,
          pkt: { ...pkt, mark: b.mark },
          rules: [...w.rules, ...b.steps.map((s) => s.text)],
          choices: [...w.choices, ...b.choices],
          recent: withUpdates(w.recent, b.recentUpdates, now),
          stages: w.stages,
          notes: w.notes,
        };
        let decision: string | null = null;
        if (b.notrack) {
          n.ctstate = CT.UNTRACKED;
          decision = "NOTRACK: the packet is untracked, nat is skipped";
        }
        const nat = b.nat;
        if (nat?.kind === "DNAT") {
          const port = nat.port ?? pkt.dport;
          n.dnat = { ip: nat.ip, port };
          n.pkt = { ...n.pkt, dst: nat.ip, dport: port };
          n.ctstate |= CT.DNAT;
          decision = `DNAT to ${formatIPv4(nat.ip)}:${port}`;
        } else if (nat?.kind === "SNAT") {
          n.snat = nat.port === null ? formatIPv4(nat.ip) : `${formatIPv4(nat.ip)}:${nat.port}`;
          n.ctstate |= CT.SNAT;
          decision = `SNAT to ${n.snat}`;
        } else if (nat?.kind === "MASQUERADE") {
          n.masquerade = true;
          n.ctstate |= CT.SNAT;
          decision = `MASQUERADE (source becomes the address of ${pkt.outIface ?? "the output interface"})${nat.randomFully ? ", --random-fully" : ""}`;
        }
        if (b.verdict !== "ACCEPT") {
          n.verdict = b.verdict;
          if (b.rejectWith) n.rejectWith = b.rejectWith;
          decision = b.verdict === "REJECT" ? `REJECT with ${b.rejectWith ?? "icmp-port-unreachable"}` : "DROP";
        }
        n.stages = b.steps.length || decision ? [...w.stages, { hook, table, steps: b.steps, decision }] : w.stages;
        if (n.verdict) done.push(n);
        else out.push(n);
      }
    }
    return out;
  };
  const note = (walks: Walk[], text: (w: Walk) => string): void => {
    for (const w of walks) w.notes = [...w.notes, { at: w.stages.length, text: text(w) }];
  };

  let walks = [start];
  if (fromNode) {
    note(walks, () => `locally generated: OUTPUT, routed out of ${start.pkt.outIface}`);
    walks = stage(walks, "raw", "OUTPUT");
    walks = stage(walks, "mangle", "OUTPUT");
    walks = stage(walks, "nat", "OUTPUT");
    // A DNAT in nat OUTPUT reroutes the packet.
    for (const w of walks) w.pkt = { ...w.pkt, outIface: routeOut(w.pkt.dst) };
    note(walks.filter((w) => w.dnat), (w) => `rerouted after DNAT: ${formatIPv4(w.pkt.dst)} via ${w.pkt.outIface}`);
    walks = stage(walks, "filter", "OUTPUT");
    walks = stage(walks, "mangle", "POSTROUTING");
    walks = stage(walks, "nat", "POSTROUTING");
    const toLocal = walks.filter((w) => isLocal(w.pkt.dst));
    const away = walks.filter((w) => !isLocal(w.pkt.dst));
    note(toLocal, (w) => `${formatIPv4(w.pkt.dst)} is local: back in through lo (nat already decided for this connection)`);
    let back: Walk[] = toLocal.map((w) => ({ ...w, pkt: { ...w.pkt, inIface: "lo", outIface: null } }));
    back = stage(back, "raw", "PREROUTING");
    back = stage(back, "mangle", "PREROUTING");
    back = stage(back, "mangle", "INPUT");
    back = stage(back, "filter", "INPUT");
    note(away, (w) => `leaves through ${w.pkt.outIface}`);
    walks = [...back, ...away];
  } else {
    note(walks, () => `arrives from outside on ${inIface}`);
    walks = stage(walks, "raw", "PREROUTING");
    walks = stage(walks, "mangle", "PREROUTING");
    walks = stage(walks, "nat", "PREROUTING");
    const input = walks.filter((w) => isLocal(w.pkt.dst));
    const fwd = walks.filter((w) => !isLocal(w.pkt.dst));
    note(input, (w) => `routing: ${formatIPv4(w.pkt.dst)} is a local address → INPUT`);
    note(fwd, (w) => `routing: ${formatIPv4(w.pkt.dst)} is not local → FORWARD out of ${outIface}`);
    let a = input;
    a = stage(a, "mangle", "INPUT");
    a = stage(a, "filter", "INPUT");
    a = stage(a, "nat", "INPUT");
    let f: Walk[] = fwd.map((w) => ({ ...w, pkt: { ...w.pkt, outIface } }));
    f = stage(f, "mangle", "FORWARD");
    f = stage(f, "filter", "FORWARD");
    f = stage(f, "mangle", "POSTROUTING");
    f = stage(f, "nat", "POSTROUTING");
    walks = [...a, ...f];
  }
  const all = [...walks.map((w) => ({ ...w, verdict: "ACCEPT" as Verdict })), ...done];
  const branches: TraceBranchDetail[] = all.map((w) => ({
    probability: w.prob,
    dnat: w.dnat ? `${formatIPv4(w.dnat.ip)}:${w.dnat.port}` : null,
    verdict: w.verdict!,
    masquerade: w.masquerade,
    rules: w.rules,
    snat: w.snat,
    ...(w.rejectWith ? { rejectWith: w.rejectWith } : {}),
    choices: w.choices,
    stages: w.stages,
    notes: w.notes,
  }));
  return {
    packet: { src: formatIPv4(src), dst: formatIPv4(dst), sport, dport: opts.dport, proto, fromNode, inIface: fromNode ? null : inIface },
    branches,
  };
}
