// xt_tcpudp (tcp, udp), xt_sctp's port part, and xt_multiport: port matches. They only make
// sense with the matching `-p`, which the kernel enforces at load time; so does this.

import type { PacketView } from "../api.js";
import type { Token } from "../lex.js";
import type { Matcher } from "../ruleset.js";
import {
  type CompiledMatch,
  type MatchInstance,
  type MatchModule,
  type OptionCursor,
  type RuleFacts,
  neg,
  unknownOption,
} from "../ext.js";

export const PROTO_NUMBERS: Record<string, number> = {
  all: 0,
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  sctp: 132,
  udplite: 136,
  dccp: 33,
};

export function protoName(n: number): string {
  for (const [k, v] of Object.entries(PROTO_NUMBERS)) if (v === n && k !== "all") return k;
  return String(n);
}

export interface PortRange {
  lo: number;
  hi: number;
}

function parsePort(s: string): number | null {
  if (!/^[0-9]{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/** `N`, `N:M`, `:M`, `N:`. Service names are not resolved (a dump is data, /etc/services is not). */
export function parsePortRange(tok: Token, cur: OptionCursor): PortRange {
  const s = tok.text;
  const colon = s.indexOf(":");
  if (colon < 0) {
    const p = parsePort(s);
    if (p === null) cur.fail(`invalid port \`${s}\` (a number 0-65535 or a range A:B is expected)`, tok);
    return { lo: p, hi: p };
  }
  const a = colon === 0 ? 0 : parsePort(s.slice(0, colon));
  const b = colon === s.length - 1 ? 65535 : parsePort(s.slice(colon + 1));
  if (a === null || b === null) cur.fail(`invalid port range \`${s}\``, tok);
  if (a > b) cur.fail(`invalid port range \`${s}\`: the first port is larger than the last`, tok);
  return { lo: a, hi: b };
}

export function formatRange(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}:${r.hi}`;
}

// Port tests are made outside the module's finish: a closure made there would keep the match
// instance's whole scope (its parsed options, the module's closures) alive for as long as the
// rule lives. The kube-proxy fast path (fast-rule.ts) makes its tests here too.
export function sportTest(lo: number, hi: number, n: boolean): Matcher {
  return { kind: "test", test: (p: PacketView) => (p.sport >= lo && p.sport <= hi) !== n };
}
export function dportTest(lo: number, hi: number, n: boolean): Matcher {
  return { kind: "test", test: (p: PacketView) => (p.dport >= lo && p.dport <= hi) !== n };
}

function portsModule(name: "tcp" | "udp" | "sctp", proto: number): MatchModule {
  const known = ["--sport", "--dport", "--source-port", "--destination-port"];
  return {
    name,
    create(): MatchInstance {
      let sport: { r: PortRange; neg: boolean } | null = null;
      let dport: { r: PortRange; neg: boolean } | null = null;
      return {
        takes: (opt) =>
          known.includes(opt) ||
          (name === "tcp" && (opt === "--tcp-flags" || opt === "--syn" || opt === "--tcp-option")) ||
          (name === "sctp" && opt === "--chunk-types"),
        parse(opt: Token, negated: boolean, cur: OptionCursor) {
          switch (opt.text) {
            case "--sport":
            case "--source-port":
              if (sport) cur.fail(`${opt.text} given twice in one ${name} match`, opt);
              sport = { r: parsePortRange(cur.arg(opt, "a port"), cur), neg: negated };
              return;
            case "--dport":
            case "--destination-port":
              if (dport) cur.fail(`${opt.text} given twice in one ${name} match`, opt);
              dport = { r: parsePortRange(cur.arg(opt, "a port"), cur), neg: negated };
              return;
            case "--tcp-flags":
            case "--syn":
            case "--tcp-option":
            case "--chunk-types":
              // The packet view carries no TCP flags/options: refusing is better than guessing.
              cur.fail(`${opt.text} is not supported by svcspec (packets are modelled without TCP flags/options)`, opt);
            default:
              unknownOption(cur, name, opt, known);
          }
        },
        finish(facts: RuleFacts, at: Token, cur: OptionCursor): CompiledMatch {
          if (facts.proto !== proto || facts.protoNegated)
            cur.fail(`the ${name} match needs \`-p ${name}\` in the same rule (the kernel refuses it otherwise)`, at);
          const matchers: Matcher[] = [];
          let save = ` -m ${name}`;
          if (sport) {
            const { lo, hi } = sport.r;
            const n = sport.neg;
            matchers.push(sportTest(lo, hi, n));
            save += `${neg(n)} --sport ${formatRange(sport.r)}`;
          }
          if (dport) {
            const { lo, hi } = dport.r;
            const n = dport.neg;
            matchers.push(dportTest(lo, hi, n));
            save += `${neg(n)} --dport ${formatRange(dport.r)}`;
          }
          const d = dport as { r: PortRange; neg: boolean } | null;
          const single = d && !d.neg && d.r.lo === d.r.hi ? d.r.lo : undefined;
          return { matchers, save, ...(single !== undefined ? { singleDport: single } : {}) };
        },
      };
    },
  };
}

export const tcpMatch = portsModule("tcp", 6);
export const udpMatch = portsModule("udp", 17);
export const sctpMatch = portsModule("sctp", 132);

const MULTIPORT_PROTOS = new Set([6, 17, 33, 132, 136]);

export const multiportMatch: MatchModule = {
  name: "multiport",
  create(): MatchInstance {
    let which: "dports" | "sports" | "ports" | null = null;
    let ranges: PortRange[] = [];
    let negated = false;
    const known = ["--dports", "--sports", "--ports", "--destination-ports", "--source-ports"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, neg_: boolean, cur: OptionCursor) {
        if (which) cur.fail("only one of --dports, --sports, --ports per multiport match", opt);
        which = opt.text === "--destination-ports" ? "dports" : opt.text === "--source-ports" ? "sports" : (opt.text.slice(2) as "dports" | "sports" | "ports");
        negated = neg_;
        const list = cur.arg(opt, "a port list");
        let slots = 0;
        ranges = list.text.split(",").map((part) => {
          const r = parsePortRange({ ...list, text: part }, cur);
          slots += r.lo === r.hi ? 1 : 2;
          return r;
        });
        // XT_MULTI_PORTS: a range takes two of the 15 slots.
        if (slots > 15) cur.fail("too many ports in a multiport match (at most 15, a range counts 2)", list);
      },
      finish(facts: RuleFacts, at: Token, cur: OptionCursor) {
        if (!which) cur.fail("multiport needs --dports, --sports or --ports", at);
        if (facts.proto === null || facts.protoNegated || !MULTIPORT_PROTOS.has(facts.proto))
          cur.fail("multiport needs `-p tcp`, `-p udp`, `-p sctp`, `-p dccp` or `-p udplite`", at);
        const rs = ranges.slice();
        const inList = (port: number) => {
          for (const r of rs) if (port >= r.lo && port <= r.hi) return true;
          return false;
        };
        const n = negated;
        const w = which;
        const test =
          w === "dports"
            ? (p: PacketView) => inList(p.dport) !== n
            : w === "sports"
              ? (p: PacketView) => inList(p.sport) !== n
              : (p: PacketView) => (inList(p.sport) || inList(p.dport)) !== n;
        return { matchers: [{ kind: "test", test }], save: ` -m multiport${neg(n)} --${w} ${rs.map(formatRange).join(",")}` };
      },
    };
  },
};

