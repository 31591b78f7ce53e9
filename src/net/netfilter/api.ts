// The contract between the netfilter interpreter (src/net/netfilter) and the packet walker
// (src/net/sim): the walker hands a packet and its conntrack facts to one table at one hook,
// and gets back every branch the rules can take (load-balancing statistics are enumerated, not
// sampled), each with its verdict, NAT decision, mark and the rules it met.
//
// Addresses are uint32 (host order), protocols are IP protocol numbers. No library objects on
// this path: it runs once per hook per packet.

export type TableName = "raw" | "mangle" | "nat" | "filter";
export type HookName = "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_SCTP = 132;

/** conntrack states as `-m conntrack --ctstate` sees them (bit set). */
export const CT = {
  NEW: 1,
  ESTABLISHED: 2,
  RELATED: 4,
  INVALID: 8,
  UNTRACKED: 16,
  SNAT: 32,
  DNAT: 64,
} as const;

export interface PacketView {
  src: number;
  dst: number;
  proto: number;
  sport: number;
  dport: number;
  /** skb mark (nfmark). */
  mark: number;
  /** Input interface name (PREROUTING, INPUT, FORWARD), or null. */
  inIface: string | null;
  /** Output interface name (FORWARD, OUTPUT after routing, POSTROUTING), or null. */
  outIface: string | null;
  /**
   * Bridge ports when the packet is being bridged with br_netfilter on (`-m physdev`); absent or
   * null when it is not bridged. (Optional, added by the netfilter interpreter.)
   */
  physInIface?: string | null;
  physOutIface?: string | null;
}

/** The `-m recent` lists of one host: list name → source address → last-seen times (seconds). */
export type RecentLists = Map<string, Map<number, number[]>>;

export interface MatchContext {
  /** `-m addrtype --src-type/--dst-type LOCAL`: is this address one of the host's own? */
  isLocal(ip: number): boolean;
  /** Other address types (BROADCAST, MULTICAST, UNICAST ...) for completeness. */
  addrType(ip: number): "LOCAL" | "UNICAST" | "BROADCAST" | "MULTICAST" | "UNREACHABLE";
  /** Bit set of CT.* for this packet's connection. */
  ctstate: number;
  /** `-m recent` state of the host (read by --rcheck/--update, written via the branch's effects). */
  recent: RecentLists;
  /** Current time in seconds (for `-m recent --seconds`). */
  now: number;
}

export type Verdict = "ACCEPT" | "DROP" | "REJECT";

export type NatAction =
  | { kind: "DNAT"; ip: number; port: number | null }
  | { kind: "SNAT"; ip: number; port: number | null; randomFully: boolean }
  | {
      kind: "MASQUERADE";
      randomFully: boolean;
      /** `--to-ports LO[-HI]` (optional, added by the netfilter interpreter). */
      toPorts?: { lo: number; hi: number };
    };

/** One rule the packet was checked against and matched (or a chain's policy that applied). */
export interface RuleStep {
  table: TableName;
  chain: string;
  /** 1-based rule number within the chain, 0 for a policy. */
  index: number;
  /** The rule as iptables-save prints it ("-A KUBE-SERVICES ..."), or ":CHAIN ACCEPT" for a policy. */
  text: string;
  /** What happened: "jump", "goto", "return", "accept", "drop", "reject", "dnat", "mark", "nomatch-end" ... */
  action: string;
}

export interface RecentUpdate {
  name: string;
  op: "set" | "update" | "remove";
  /** The address recorded (source unless --rdest). */
  ip: number;
}

export interface EvalBranch {
  probability: number;
  verdict: Verdict;
  /** REJECT's --reject-with (default icmp-port-unreachable). */
  rejectWith?: string;
  /** The packet mark after the table ran. */
  mark: number;
  /** NAT decided by this table (nat table only; at most one per branch). */
  nat: NatAction | null;
  recentUpdates: RecentUpdate[];
  /** Statistic decisions that define this branch, e.g. "KUBE-SVC-X rule 2 (p=0.5000000000) taken". */
  choices: string[];
  /** The rules that matched, in order, ending with the one that decided (or the policy). */
  steps: RuleStep[];
  /**
   * `-j NOTRACK` / `-j CT --notrack` matched (raw table): the packet is UNTRACKED from here on,
   * so the nat table will not see it. (Optional, added by the netfilter interpreter.)
   */
  notrack?: boolean;
}
