import type { Ruleset } from "../../../src/net/netfilter/ruleset.js";
import type { MatchContext, PacketView } from "../../../src/net/netfilter/api.js";
import { CT } from "../../../src/net/netfilter/api.js";
import { parseIPv4 } from "../../../src/net/netfilter/addr.js";

export function ip(s: string): number {
  const v = parseIPv4(s);
  if (v === null) throw new Error(`bad test address ${s}`);
  return v;
}

export function pkt(p: Partial<Omit<PacketView, "src" | "dst">> & { src?: string; dst?: string } = {}): PacketView {
  const { src, dst, ...rest } = p;
  return { src: ip(src ?? "10.0.0.2"), dst: ip(dst ?? "10.96.0.10"), proto: 6, sport: 40000, dport: 80, mark: 0, inIface: "eth0", outIface: null, ...rest };
}

export function ctx(c: Partial<MatchContext> & { local?: string[] } = {}): MatchContext {
  const { local, ...rest } = c;
  const set = new Set((local ?? ["192.168.0.2"]).map(ip));
  const isLocal = (a: number) => set.has(a) || a >>> 24 === 127;
  return { isLocal, addrType: (a) => (isLocal(a) ? "LOCAL" : "UNICAST"), ctstate: CT.NEW, recent: new Map(), now: 1000, ...rest };
}

/** A one-table ruleset text: `*table`, the given chain declarations and rules, COMMIT. */
export function table(name: string, body: string): string {
  return `*${name}\n${body.trim()}\nCOMMIT\n`;
}

/**
 * Everything a load decides, as plain data (random matchers by probability and label), with the
 * rules' source positions unless `positions` is false: two loads that describe alike run alike.
 */
export function describeLoad(rs: Ruleset, positions = true): unknown {
  return [...rs.tables].map(([name, t]) => ({
    name,
    chains: [...t.chains].map(([key, c]) => ({
      key,
      name: c.name,
      builtin: c.builtin,
      policy: c.policy,
      counters: c.counters,
      rules: c.rules.map((r) => ({
        text: r.text,
        ...(positions ? { src: { ...r.src } } : {}),
        target: r.target,
        keyDst: r.keyDst,
        keyProtoPort: r.keyProtoPort,
        hookCheck: r.hookCheck,
        matchers: r.matchers.map((m) => (m.kind === "random" ? `random ${m.p} ${m.label}` : m.kind)),
      })),
    })),
  }));
}
