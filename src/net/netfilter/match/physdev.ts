// xt_physdev: bridge ports of a bridged packet (br_netfilter). A packet that is not being
// bridged has no physdev information: then only negated options can match, as in the kernel.

import type { Token } from "../lex.js";
import type { PacketView } from "../api.js";
import { type OptionCursor, type RuleFacts, type MatchModule, unknownOption } from "../ext.js";
import { ifaceMatches, validIfaceName } from "./iface.js";

export const physdevMatch: MatchModule = {
  name: "physdev",
  create() {
    let inName: { v: string; neg: boolean } | null = null;
    let outName: { v: string; neg: boolean } | null = null;
    let isIn: boolean | null = null; // value = negated?
    let isOut: boolean | null = null;
    let isBridged: boolean | null = null;
    const known = ["--physdev-in", "--physdev-out", "--physdev-is-in", "--physdev-is-out", "--physdev-is-bridged"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, n: boolean, cur: OptionCursor) {
        switch (opt.text) {
          case "--physdev-in":
          case "--physdev-out": {
            const a = cur.arg(opt, "an interface name");
            if (!validIfaceName(a.text)) cur.fail(`invalid interface name \`${a.text}\``, a);
            if (opt.text === "--physdev-in") inName = { v: a.text, neg: n };
            else outName = { v: a.text, neg: n };
            return;
          }
          case "--physdev-is-in":
            isIn = n;
            return;
          case "--physdev-is-out":
            isOut = n;
            return;
          case "--physdev-is-bridged":
            isBridged = n;
            return;
          default:
            unknownOption(cur, "physdev", opt, known);
        }
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        const i = inName as { v: string; neg: boolean } | null;
        const o = outName as { v: string; neg: boolean } | null;
        const bIn = isIn as boolean | null;
        const bOut = isOut as boolean | null;
        const bBr = isBridged as boolean | null;
        if (!i && !o && bIn === null && bOut === null && bBr === null) cur.fail("physdev needs at least one option", at);
        const test = (p: PacketView): boolean => {
          const indev = p.physInIface ?? null;
          const outdev = p.physOutIface ?? null;
          if (indev === null && outdev === null) {
            // Not bridged: the kernel matches only when every option used is negated.
            return !((bBr === false) || (bIn === false) || (bOut === false) || (i && !i.neg) || (o && !o.neg));
          }
          if (bBr !== null && (outdev !== null) === bBr) return false;
          if (bIn !== null && (indev !== null) === bIn) return false;
          if (bOut !== null && (outdev !== null) === bOut) return false;
          if (i && indev !== null && ifaceMatches(indev, i.v) === i.neg) return false;
          if (o && outdev !== null && ifaceMatches(outdev, o.v) === o.neg) return false;
          return true;
        };
        let save = " -m physdev";
        if (i) save += `${i.neg ? " !" : ""} --physdev-in ${i.v}`;
        if (o) save += `${o.neg ? " !" : ""} --physdev-out ${o.v}`;
        if (bIn !== null) save += `${bIn ? " !" : ""} --physdev-is-in`;
        if (bOut !== null) save += `${bOut ? " !" : ""} --physdev-is-out`;
        if (bBr !== null) save += `${bBr ? " !" : ""} --physdev-is-bridged`;
        return { matchers: [{ kind: "test", test }], save };
      },
    };
  },
};
