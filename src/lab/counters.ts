// What came back to a probing client, read from counter rules in the client namespace's own
// mangle INPUT chain (mangle runs before filter, so a packet filter INPUT drops is still
// counted). ECONNREFUSED means either a TCP RST or an ICMP port unreachable, and a timeout may
// hide a SYN-ACK from an address the client never talked to: the counters tell them apart, and
// per-source / per-port rules tell who sent it. Rules without a target only count.

import type { Endpoint4, Signal } from "../net/outcome.js";

export const PROBE_CHAIN = "SVS-PROBE";

/**
 * Answers that decide a failed probe, each counted by sender in its own sub-chain: a probe can
 * draw more than one (in row 2a of kernel-lab.md the pod's SYN-ACK arrives from an address the
 * client never talked to, the client's RST to it meets a router with no pod routes, and an ICMP
 * net unreachable comes back too), so who sent what must not be mixed up.
 */
const SENDER_CLASSES = [
  { cls: "syn-ack", chain: `${PROBE_CHAIN}-SYNACK`, match: "-p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK", ports: true },
  { cls: "rst", chain: `${PROBE_CHAIN}-RST`, match: "-p tcp -m tcp --tcp-flags RST RST", ports: true },
  { cls: "icmp", chain: `${PROBE_CHAIN}-ICMP`, match: "-p icmp", ports: false },
] as const;
type SenderClass = (typeof SENDER_CLASSES)[number]["cls"];

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
 * iptables-restore --noflush text that (re)writes the probe chains; `withJump` adds the jump
 * from mangle INPUT (only the first time, or it would count twice).
 */
export function probeChainRestore(sources: Iterable<string>, ports: Iterable<{ protocol: "tcp" | "udp"; port: number }>, withJump: boolean): string {
  const srcList = [...sources];
  const tcpPorts = [...ports].filter((p) => p.protocol === "tcp").map((p) => p.port);
  const lines = ["*mangle", `:${PROBE_CHAIN} - [0:0]`, ...SENDER_CLASSES.map((c) => `:${c.chain} - [0:0]`)];
  if (withJump) lines.push(`-I INPUT 1 -j ${PROBE_CHAIN}`);
  for (const r of KIND_RULES) lines.push(`-A ${PROBE_CHAIN} ${r.match} -m comment --comment "svs kind=${r.kind}"`);
  for (const c of SENDER_CLASSES) {
    lines.push(`-A ${PROBE_CHAIN} ${c.match} -j ${c.chain}`);
    for (const ip of srcList) lines.push(`-A ${c.chain} -s ${ip}/32 -m comment --comment "svs ${c.cls}-src=${ip}"`);
    if (c.ports) for (const p of tcpPorts) lines.push(`-A ${c.chain} -p tcp -m tcp --sport ${p} -m comment --comment "svs ${c.cls}-sport=${p}"`);
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

export interface ProbeCounters {
  kinds: Map<Signal, number>;
  /** "syn-ack" | "rst" | "icmp" → sender address → packets. */
  sources: Map<SenderClass, Map<string, number>>;
  /** "syn-ack" | "rst" → sender TCP port → packets. */
  ports: Map<SenderClass, Map<number, number>>;
}

/** Parses `iptables -t mangle -L -v -n -x` output (only the lab's "svs ..." rules count). */
export function parseProbeCounters(listing: string): ProbeCounters {
  const c: ProbeCounters = { kinds: new Map(), sources: new Map(), ports: new Map() };
  for (const line of listing.split("\n")) {
    const m = /^\s*(\d+)\s+\d+\s.*\/\* svs (kind|syn-ack-src|rst-src|icmp-src|syn-ack-sport|rst-sport)=(\S+) \*\//.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const key = m[2]!;
    if (key === "kind") {
      c.kinds.set(m[3] as Signal, (c.kinds.get(m[3] as Signal) ?? 0) + n);
      continue;
    }
    const cls = key.slice(0, key.lastIndexOf("-")) as SenderClass;
    if (key.endsWith("-src")) {
      const map = c.sources.get(cls) ?? new Map<string, number>();
      map.set(m[3]!, (map.get(m[3]!) ?? 0) + n);
      c.sources.set(cls, map);
    } else {
      const map = c.ports.get(cls) ?? new Map<number, number>();
      map.set(Number(m[3]), (map.get(Number(m[3])) ?? 0) + n);
      c.ports.set(cls, map);
    }
  }
  return c;
}

const ERRNO_SIGNALS: Record<string, Signal[]> = {
  "net-unreachable": ["icmp-net-unreachable"],
  "host-unreachable": ["icmp-host-unreachable", "icmp-admin-prohibited", "icmp-time-exceeded"],
  refused: ["rst", "icmp-port-unreachable"],
  // A connect that timed out was not failed by an ICMP error: one counted then answered
  // something else (the client's RST, say). A SYN-ACK here came from a stranger.
  timeout: ["syn-ack", "rst"],
};

/** What came back that explains a socket's failure, consistent with the errno it got. */
export function failureSignal(c: ProbeCounters, result: string, protocol: "tcp" | "udp"): Signal {
  for (const k of ERRNO_SIGNALS[result] ?? []) {
    if (protocol === "udp" && (k === "rst" || k === "syn-ack")) continue;
    if ((c.kinds.get(k) ?? 0) > 0) return k;
  }
  return "none";
}

function only<T>(m: Map<T, number> | undefined, exclude?: Set<T>): T | null {
  const hits = [...(m ?? new Map<T, number>())].filter(([k, n]) => n > 0 && !exclude?.has(k)).map(([k]) => k);
  return hits.length === 1 ? hits[0]! : null;
}

/**
 * Who sent the answer behind `signal`, when exactly one counted sender (other than the client's
 * own addresses) and, for TCP, exactly one source port explain it. Ambiguity gives null, never a guess.
 */
export function counterReplyFrom(c: ProbeCounters, own: Set<string>, signal: Signal): Endpoint4 | null {
  if (signal === "none" || signal === "udp-reply") return null;
  const cls: SenderClass = signal === "syn-ack" ? "syn-ack" : signal === "rst" ? "rst" : "icmp";
  const ip = only(c.sources.get(cls), own);
  if (ip === null) return null;
  if (cls === "icmp") return { ip, port: 0 };
  const port = only(c.ports.get(cls));
  return port === null ? null : { ip, port };
}
