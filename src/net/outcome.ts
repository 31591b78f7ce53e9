// What a probe asks and what came of it, engine-neutral: the simulator fills this from the
// packets it walked, the kernel engine from real sockets. The verdict layer (src/run) judges
// expectations against it.

export type L4 = "tcp" | "udp";

export interface ProbeRequest {
  protocol: L4;
  /** Sending host (a HostSpec name). */
  from: string;
  dst: string;
  dport: number;
  /** Source port; engines pick one when absent. */
  sport?: number;
  /** Payload marker for UDP/DNS probes (a DNS query name, for instance). */
  dnsQuery?: { name: string; type: "A" | "CNAME" | "ANY" };
}

/** What the client's socket reported, in errno terms (what a person running curl would see). */
export type ClientResult =
  | "connected" // TCP handshake completed / UDP answer received
  | "refused" // ECONNREFUSED: a RST, or ICMP port unreachable
  | "timeout" // nothing usable came back
  | "net-unreachable" // ENETUNREACH
  | "host-unreachable"; // EHOSTUNREACH

/** What actually came back to the client, when something did. */
export type Signal =
  | "syn-ack"
  | "udp-reply"
  | "rst"
  | "icmp-port-unreachable"
  | "icmp-host-unreachable"
  | "icmp-net-unreachable"
  | "icmp-admin-prohibited"
  | "icmp-time-exceeded"
  | "none";

export interface Endpoint4 {
  ip: string;
  port: number;
}

export type TracePhase = "request" | "reply" | "error";

/** One step of a packet's walk. `text` is for people; the other fields are for tools. */
export interface TraceEvent {
  phase: TracePhase;
  host: string;
  kind:
    | "send"
    | "route"
    | "interface"
    | "bridge"
    | "hook"
    | "rule"
    | "policy"
    | "nat"
    | "conntrack"
    | "deliver"
    | "drop"
    | "reply"
    | "icmp"
    | "note";
  text: string;
  table?: string;
  chain?: string;
  hook?: string;
  /** The rule as iptables-save prints it. */
  rule?: string;
}

export interface ProbeBranch {
  /** Probability of this branch (all branches of a probe sum to 1). Kernel engine: observed share. */
  probability: number;
  /** The load-balancing choices that define the branch, in order ("KUBE-SEP-… 10.244.1.5:80", "router → node2"). */
  choices: string[];
  result: ClientResult;
  signal: Signal;
  /** Who sent what came back (after the client's conntrack un-NAT), if anything came back. */
  replyFrom: Endpoint4 | null;
  /** The host whose socket took the request, and the address it was delivered to. */
  deliveredTo: { host: string; ip: string; port: number } | null;
  /** The source address:port the receiving socket saw. */
  sourceSeen: Endpoint4 | null;
  /** Nodes the request passed through, in order. */
  via: string[];
  /** Whether the request was masqueraded (SNAT/MASQUERADE) anywhere on the way. */
  masqueraded: boolean;
  /** DNS answer, for dnsQuery probes that reached a DNS server. */
  dns?: { rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL"; answers: Array<{ type: "A" | "CNAME"; name: string; value: string }> };
  /** One sentence that explains the result, naming the deciding host, chain and rule. */
  explanation: string;
  trace: TraceEvent[];
}

export interface ProbeOutcome {
  request: ProbeRequest;
  branches: ProbeBranch[];
  engine: "sim" | "kernel";
}
