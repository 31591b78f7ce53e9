// xt_MARK (revision 2): nfmark = (nfmark & ~mask) ^ value. Every spelling iptables accepts is
// translated the way libxt_MARK does, which is why iptables-save prints --set-xmark for all.

import type { Token } from "../lex.js";
import { type OptionCursor, type RuleFacts, type TargetModule, hex, parseUint, parseValueMask, unknownOption } from "../ext.js";

export const markTarget: TargetModule = {
  name: "MARK",
  create() {
    let spec: { value: number; mask: number } | null = null;
    const known = ["--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (!known.includes(opt.text)) unknownOption(cur, "MARK", opt, known);
        if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
        if (spec) cur.fail("MARK takes exactly one of " + known.join(", "), opt);
        const a = cur.arg(opt, "a mark value");
        if (opt.text === "--set-xmark" || opt.text === "--set-mark") {
          const vm = parseValueMask(a.text);
          if (!vm) cur.fail(`invalid mark \`${a.text}\``, a);
          spec = opt.text === "--set-xmark" ? vm : { value: vm.value, mask: (vm.mask | vm.value) >>> 0 };
          return;
        }
        const v = parseUint(a.text);
        if (v === null) cur.fail(`invalid mark \`${a.text}\``, a);
        if (opt.text === "--and-mark") spec = { value: 0, mask: ~v >>> 0 };
        else if (opt.text === "--or-mark") spec = { value: v, mask: v };
        else spec = { value: v, mask: 0 };
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (!spec) cur.fail("MARK needs one of " + known.join(", "), at);
        const s = spec as { value: number; mask: number };
        return { target: { kind: "mark", value: s.value, mask: s.mask }, save: ` -j MARK --set-xmark ${hex(s.value)}/${hex(s.mask)}` };
      },
    };
  },
};
