// What came back to a probing client, read from counter rules in the client namespace's own
// mangle INPUT chain (mangle runs before filter, so a packet filter INPUT drops is still
// counted). ECONNREFUSED means either a TCP RST or an ICMP port unreachable, and a timeout may
// hide a SYN-ACK from an address the client never talked to: the counters tell them apart, and
// per-source / per-port rules tell who sent it. Rules without a target only count.

import type { Endpoint4, Signal } from "../net/outcome.js";

export const PROBE_CHAIN = "SVS-PROBE";
/** Sub-chain counting who sent the packets that matter (SYN-ACK, RST, ICMP), by source and port. */
const FROM_CHAIN = `${PROBE_CHAIN}-FROM`;

const KIND_RULES: Array<{ match: string; kind: Signal }> = [
  { match: "-p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK", kind: "syn-ack" },
  { match: "-p tcp -m tcp --tcp-flags RST RST", kind: "rst" },
  { match: "-p udp", kind: "udp-reply" },
  { match: "-p icmp -m icmp --icmp-type 3/3", kind: "icmp-port-unreachable" },
  { match: "-p icmp -m icmp --icmp-type 3/1", kind: "icmp-host-unreachable" },
  { match: "-p icmp -m icmp --icmp-type 3/0", kind: "icmp-net-unreachable" },
  { match: "-p icmp -m icmp --icmp-type 3/9", kind: "icmp-admin-prohibited" },
  { match: "-p icmp -m icmp --icmp-type 3/10", kind: "icmp-admin-prohibited" },
  { match: "-p icmp -m icmp --icmp-type 3/13", kind: "icmp-admin-prohibited" },
  { match: "-p icmp -m icmp --icmp-type 11", kind: "icmp-time-exceeded" },
];

/**
 * iptables-restore --noflush text that (re)writes the probe chain; `withJump` adds the jump
 * from mangle INPUT (only the first time, or it would count twice).
 */
export function probeChainRestore(sources: Iterable<string>, ports: Iterable<{ protocol: "tcp" | "udp"; port: number }>, withJump: boolean): string {
  const lines = ["*mangle", `:${PROBE_CHAIN} - [0:0]`, `:${FROM_CHAIN} - [0:0]`];
  if (withJump) lines.push(`-I INPUT 1 -j ${PROBE_CHAIN}`);
  for (const r of KIND_RULES) lines.push(`-A ${PROBE_CHAIN} ${r.match} -m comment --comment "svs kind=${r.kind}"`);
  // Only answers that decide a failed probe are attributed to a sender: the data and FIN
  // segments of earlier, successful connections must not look like one.
  for (const m of ["-p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK", "-p tcp -m tcp --tcp-flags RST RST", "-p icmp"]) {
    lines.push(`-A ${PROBE_CHAIN} ${m} -j ${FROM_CHAIN}`);
  }
  for (const s of sources) lines.push(`-A ${FROM_CHAIN} -s ${s}/32 -m comment --comment "svs src=${s}"`);
  for (const p of ports) lines.push(`-A ${FROM_CHAIN} -p ${p.protocol} -m ${p.protocol} --sport ${p.port} -m comment --comment "svs sport=${p.protocol}/${p.port}"`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

export interface ProbeCounters {
  kinds: Map<Signal, number>;
  sources: Map<string, number>;
  ports: Map<string, number>;
}

/** Parses `iptables -t mangle -L -v -n -x` output (only the lab's "svs ..." rules count). */
export function parseProbeCounters(listing: string): ProbeCounters {
  const c: ProbeCounters = { kinds: new Map(), sources: new Map(), ports: new Map() };
  for (const line of listing.split("\n")) {
    const m = /^\s*(\d+)\s+\d+\s.*\/\* svs (kind|src|sport)=(\S+) \*\//.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const map = m[2] === "kind" ? c.kinds : m[2] === "src" ? c.sources : c.ports;
    map.set(m[3] as Signal, (map.get(m[3] as Signal) ?? 0) + n);
  }
  return c;
}

/** The most telling thing that came back, for a probe whose socket did not connect. */
export function failureSignal(c: ProbeCounters, protocol: "tcp" | "udp"): Signal {
  const order: Signal[] = [
    "icmp-net-unreachable",
    "icmp-host-unreachable",
    "icmp-admin-prohibited",
    "icmp-port-unreachable",
    "icmp-time-exceeded",
    ...(protocol === "tcp" ? (["rst", "syn-ack"] as Signal[]) : []),
  ];
  for (const k of order) if ((c.kinds.get(k) ?? 0) > 0) return k;
  return "none";
}

/**
 * Who sent what came back, when exactly one counted source (other than the client's own
 * addresses) and, for TCP, at most one source port explain it. Ambiguous counts give null
 * rather than a guess.
 */
export function counterReplyFrom(c: ProbeCounters, own: Set<string>, signal: Signal): Endpoint4 | null {
  if (signal === "none") return null;
  const senders = [...c.sources].filter(([ip, n]) => n > 0 && !own.has(ip)).map(([ip]) => ip);
  if (senders.length !== 1) return null;
  if (signal.startsWith("icmp-")) return { ip: senders[0]!, port: 0 };
  const ports = [...c.ports].filter(([p, n]) => n > 0 && p.startsWith("tcp/")).map(([p]) => Number(p.slice(4)));
  return ports.length === 1 ? { ip: senders[0]!, port: ports[0]! } : null;
}
