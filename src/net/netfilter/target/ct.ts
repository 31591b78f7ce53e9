// NOTRACK and CT --notrack (raw table): the packet skips conntrack, hence NAT.

import type { Token } from "../lex.js";
import { type OptionCursor, type RuleFacts, type TargetModule, unknownOption } from "../ext.js";

export const notrackTarget: TargetModule = {
  name: "NOTRACK",
  tables: ["raw"],
  create() {
    return {
      takes: () => false,
      parse(opt: Token, _n: boolean, cur: OptionCursor) {
        unknownOption(cur, "NOTRACK", opt, []);
      },
      // iptables-nft and current iptables print NOTRACK as its CT equivalent.
      finish: () => ({ target: { kind: "notrack" }, save: " -j CT --notrack" }),
    };
  },
};

export const ctTarget: TargetModule = {
  name: "CT",
  tables: ["raw"],
  create() {
    let notrack = false;
    const other = ["--helper", "--ctevents", "--expevents", "--zone", "--zone-orig", "--zone-reply", "--timeout"];
    return {
      takes: (opt) => opt === "--notrack" || other.includes(opt),
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
        if (opt.text === "--notrack") notrack = true;
        else if (other.includes(opt.text)) cur.fail(`CT ${opt.text} is not supported by svcspec (only --notrack)`, opt);
        else unknownOption(cur, "CT", opt, ["--notrack"]);
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (!notrack) cur.fail("CT without --notrack is not supported by svcspec", at);
        return { target: { kind: "notrack" }, save: " -j CT --notrack" };
      },
    };
  },
};
