import type { Verdict } from "./api.js";

export interface TraceDumpOptions {
  /** The node's own addresses (127.0.0.0/8 is always local). Dotted strings. */
  localIps: string[];
  src: string;
  dst: string;
  dport: number;
  sport?: number;
  proto?: "tcp" | "udp";
  /** Interface the packet arrives on when it comes from outside (default eth0). */
  inIface?: string;
  /** Interface a forwarded packet leaves by (default eth0). */
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
}

export interface TraceDumpResult {
  branches: TraceBranch[];
}

export function traceDump(text: string, opts: TraceDumpOptions): TraceDumpResult {
  void text; void opts;
  throw new Error("netfilter: traceDump body lands in the next commit");
}
