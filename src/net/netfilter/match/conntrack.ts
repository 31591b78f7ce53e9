// xt_conntrack --ctstate and xt_state --state: the connection's state bits as the walker's
// conntrack reports them (NEW for a flow's first packet, DNAT once a DNAT binding exists ...).

import type { Token } from "../lex.js";
import type { MatchContext } from "../api.js";
import { CT } from "../api.js";
import { type OptionCursor, type RuleFacts, type MatchModule, neg, unknownOption } from "../ext.js";

// iptables-save prints states in this order (libxt_conntrack's print_state).
const ORDER: Array<[keyof typeof CT, number]> = [
  ["INVALID", CT.INVALID],
  ["NEW", CT.NEW],
  ["RELATED", CT.RELATED],
  ["ESTABLISHED", CT.ESTABLISHED],
  ["UNTRACKED", CT.UNTRACKED],
  ["SNAT", CT.SNAT],
  ["DNAT", CT.DNAT],
];

function stateModule(name: "conntrack" | "state", option: "--ctstate" | "--state", allowed: readonly string[]): MatchModule {
  const otherConntrack = ["--ctproto", "--ctorigsrc", "--ctorigdst", "--ctreplsrc", "--ctrepldst", "--ctorigsrcport", "--ctorigdstport", "--ctreplsrcport", "--ctrepldstport", "--ctstatus", "--ctexpire", "--ctdir"];
  return {
    name,
    create() {
      let spec: { bits: number; neg: boolean } | null = null;
      return {
        takes: (opt) => opt === option || (name === "conntrack" && otherConntrack.includes(opt)),
        parse(opt: Token, negated: boolean, cur: OptionCursor) {
          if (opt.text !== option) {
            if (otherConntrack.includes(opt.text))
              cur.fail(`conntrack ${opt.text} is not supported by svcspec (only --ctstate)`, opt);
            unknownOption(cur, name, opt, [option]);
          }
          const list = cur.arg(opt, "a state list");
          let bits = 0;
          for (const s of list.text.split(",")) {
            const up = s.toUpperCase();
            if (!allowed.includes(up)) cur.fail(`unknown state \`${s}\``, list, `one of ${allowed.join(", ")}`);
            bits |= CT[up as keyof typeof CT];
          }
          spec = { bits, neg: negated };
        },
        finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
          if (!spec) cur.fail(`the ${name} match needs ${option}`, at);
          const { bits, neg: n } = spec as { bits: number; neg: boolean };
          const names = ORDER.filter(([, b]) => bits & b).map(([k]) => k);
          return {
            matchers: [{ kind: "test", test: (_p, c: MatchContext) => ((c.ctstate & bits) !== 0) !== n }],
            save: ` -m ${name}${neg(n)} ${option} ${names.join(",")}`,
          };
        },
      };
    },
  };
}

export const conntrackMatch = stateModule("conntrack", "--ctstate", ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED", "SNAT", "DNAT"]);
export const stateMatch = stateModule("state", "--state", ["INVALID", "NEW", "RELATED", "ESTABLISHED", "UNTRACKED"]);
