// The loaded form of an iptables ruleset: tables → chains (policy, rules) → rules (compiled
// matchers + target). Rules are immutable once compiled; a restore builds new Chain objects
// for the chains it touches and shares the others, so an older Ruleset stays valid (the walker
// may keep one per node and derive another from it).

import type { HookName, MatchContext, NatAction, PacketView, RecentUpdate, RuleStep, TableName } from "./api.js";

export type Policy = "ACCEPT" | "DROP";

/** Built-in chains of each table, in the order iptables-save prints them. */
export const BUILTIN_CHAINS: Record<TableName, readonly string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
};

export const TABLE_NAMES: readonly TableName[] = ["raw", "mangle", "nat", "filter"];

/**
 * A compiled match. Most are plain predicates over the packet; two kinds need the evaluator:
 * `random` splits the evaluation into a matched and a not-matched branch (never sampled), and
 * `recent` reads the host's `-m recent` lists (plus what this branch already wrote) and may
 * write to them.
 */
export type Matcher =
  | { kind: "test"; test: (pkt: PacketView, ctx: MatchContext) => boolean }
  | {
      kind: "random";
      /** Probability that the match succeeds (after `!`), as the kernel quantises it. */
      p: number;
      /** How the branch choice is described ("p=0.5000000000"). */
      label: string;
    }
  | {
      kind: "recent";
      eval: (
        pkt: PacketView,
        ctx: MatchContext,
        pending: readonly RecentUpdate[],
      ) => { matched: boolean; update: RecentUpdate | null };
    };

export type Target =
  /** No `-j`: the rule only counts packets (kube-proxy's KUBE-FW marker rule). */
  | { kind: "none" }
  | { kind: "accept" }
  | { kind: "drop" }
  | { kind: "return" }
  | { kind: "reject"; with: string }
  | { kind: "jump"; chain: string }
  | { kind: "goto"; chain: string }
  | { kind: "nat"; action: NatAction }
  | { kind: "mark"; value: number; mask: number }
  /** LOG / NFLOG: no effect on the packet. */
  | { kind: "log"; name: string }
  /** NOTRACK / CT --notrack (raw table): the packet leaves conntrack. */
  | { kind: "notrack" };

export interface SourceRef {
  file: string;
  line: number;
  /** The source line itself (for error carets found after the line was read, at COMMIT). */
  lineText: string;
}

export interface Rule {
  /** Matchers in kernel order: the IP header part (-s -d -p -i -o) first, then `-m` matches in order. */
  readonly matchers: readonly Matcher[];
  readonly target: Target;
  /** The rule as iptables-save prints it ("-A CHAIN -d 10.96.0.1/32 -p tcp ... -j X"). */
  readonly text: string;
  readonly src: SourceRef;
  /**
   * Dispatch key for chain indexing: the exact destination (`-d IP/32`, not negated), and the
   * protocol+destination port (`-p P` + single `--dport N`, neither negated) as (proto << 16) | port.
   * null where the rule does not pin that field.
   */
  readonly keyDst: number | null;
  readonly keyProtoPort: number | null;
  /** A target the kernel only accepts from some hooks (DNAT, MASQUERADE, REJECT ...): checked at COMMIT. */
  readonly hookCheck?: { target: string; hooks: readonly HookName[]; column: number; token: string };
}

/**
 * Candidate lookup for a long dispatch chain (KUBE-SERVICES, KUBE-NODEPORTS ...): rule numbers
 * (0-based, ascending) that can possibly match a packet with this destination and
 * protocol/port. Every rule not returned certainly does not match.
 */
export interface DispatchIndex {
  candidates(dst: number, protoPort: number): readonly number[];
}

export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  /** Built-in chains only. */
  policy: Policy | null;
  /** Counters of the chain line as read (`[pkts:bytes]`), printed back by printSave. */
  counters: string;
  /**
   * Appended to (or, while short, replaced by a longer copy: see appendRule in restore.ts) only
   * by the restore that made the chain, before its COMMIT.
   */
  rules: Rule[];
  /** Built lazily by the evaluator; dropped whenever the chain is rebuilt. */
  index?: DispatchIndex | null;
  /**
   * The evaluator's step records, one per rule (and the policy's), made on first match and
   * shared by every evaluation: a step depends only on the chain, the rule's position and its
   * target, and nothing writes to steps. Checked against the rule's text and the policy on use.
   */
  steps?: Array<RuleStep | undefined>;
  policyStep?: RuleStep;
}

export interface Table {
  readonly name: TableName;
  readonly chains: Map<string, Chain>;
}

export interface Ruleset {
  readonly tables: Map<TableName, Table>;
}

export function emptyRuleset(): Ruleset {
  return { tables: new Map() };
}
