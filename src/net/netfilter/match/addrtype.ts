// xt_addrtype: the routing type of the source/destination address (LOCAL = one of the host's own
// addresses, what kube-proxy's NodePort tail rule and "route LOCAL traffic" rules rely on).

import type { Token } from "../lex.js";
import type { MatchContext } from "../api.js";
import { type OptionCursor, type MatchModule, neg, unknownOption } from "../ext.js";

const TYPES = ["UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"] as const;

function typeBits(ip: number, ctx: MatchContext): number {
  // LOCAL is decided first: a host's own address has route type LOCAL, never UNICAST.
  const t = ctx.isLocal(ip) ? "LOCAL" : ctx.addrType(ip);
  return 1 << TYPES.indexOf(t);
}

function formatTypes(bits: number): string {
  return TYPES.filter((_, i) => bits & (1 << i)).join(",");
}

export const addrtypeMatch: MatchModule = {
  name: "addrtype",
  create() {
    let src: { bits: number; neg: boolean } | null = null;
    let dst: { bits: number; neg: boolean } | null = null;
    let limitIn = false;
    let limitOut = false;
    const known = ["--src-type", "--dst-type", "--limit-iface-in", "--limit-iface-out"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (opt.text === "--limit-iface-in" || opt.text === "--limit-iface-out") {
          if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
          if (opt.text === "--limit-iface-in") limitIn = true;
          else limitOut = true;
          return;
        }
        if (opt.text !== "--src-type" && opt.text !== "--dst-type") unknownOption(cur, "addrtype", opt, known);
        const list = cur.arg(opt, "an address type list");
        let bits = 0;
        for (const name of list.text.split(",")) {
          const i = TYPES.indexOf(name.toUpperCase() as (typeof TYPES)[number]);
          if (i < 0) cur.fail(`unknown address type \`${name}\``, list, `one of ${TYPES.join(", ")}`);
          bits |= 1 << i;
        }
        if (opt.text === "--src-type") src = { bits, neg: negated };
        else dst = { bits, neg: negated };
      },
      finish(_facts, at, cur) {
        if (!src && !dst) cur.fail("addrtype needs --src-type or --dst-type", at);
        if (limitIn && limitOut) cur.fail("--limit-iface-in and --limit-iface-out cannot both be given", at);
        // --limit-iface-in/out restrict the lookup to the packet's interface; svcspec's hosts
        // keep all their addresses in one LOCAL set, which gives the same answer for the
        // per-host addresses kube-proxy asks about.
        const s = src as { bits: number; neg: boolean } | null;
        const d = dst as { bits: number; neg: boolean } | null;
        const matchers = [];
        let save = " -m addrtype";
        if (s) {
          const { bits, neg: n } = s;
          matchers.push({ kind: "test" as const, test: (p: { src: number }, c: MatchContext) => ((typeBits(p.src, c) & bits) !== 0) !== n });
          save += `${neg(n)} --src-type ${formatTypes(bits)}`;
        }
        if (d) {
          const { bits, neg: n } = d;
          matchers.push({ kind: "test" as const, test: (p: { dst: number }, c: MatchContext) => ((typeBits(p.dst, c) & bits) !== 0) !== n });
          save += `${neg(n)} --dst-type ${formatTypes(bits)}`;
        }
        if (limitIn) save += " --limit-iface-in";
        if (limitOut) save += " --limit-iface-out";
        return { matchers, save };
      },
    };
  },
};
