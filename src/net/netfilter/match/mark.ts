// xt_mark (match): (nfmark & mask) == value — kube-proxy's "needs SNAT" bit 0x4000.

import type { Token } from "../lex.js";
import { type OptionCursor, type RuleFacts, type MatchModule, hex, neg, parseValueMask, unknownOption } from "../ext.js";

export const markMatch: MatchModule = {
  name: "mark",
  create() {
    let spec: { value: number; mask: number; neg: boolean } | null = null;
    return {
      takes: (opt) => opt === "--mark",
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (opt.text !== "--mark") unknownOption(cur, "mark", opt, ["--mark"]);
        const a = cur.arg(opt, "a mark value[/mask]");
        const vm = parseValueMask(a.text);
        if (!vm) cur.fail(`invalid mark \`${a.text}\` (expected VALUE or VALUE/MASK, e.g. 0x4000/0x4000)`, a);
        spec = { ...vm, neg: negated };
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (!spec) cur.fail("the mark match needs --mark", at);
        const { value, mask, neg: n } = spec as { value: number; mask: number; neg: boolean };
        const v = (value & mask) >>> 0;
        return {
          matchers: [{ kind: "test", test: (p) => (((p.mark & mask) >>> 0) === v) !== n }],
          save: ` -m mark${neg(n)} --mark ${hex(value)}${mask === 0xffffffff ? "" : "/" + hex(mask)}`,
        };
      },
    };
  },
};
