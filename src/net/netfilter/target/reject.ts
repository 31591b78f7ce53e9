// ipt_REJECT: drop and answer with an ICMP error or a TCP RST.

import type { Token } from "../lex.js";
import { type OptionCursor, type RuleFacts, type TargetModule, unknownOption } from "../ext.js";

const TYPES: Array<[string, string]> = [
  ["icmp-net-unreachable", "net-unreach"],
  ["icmp-host-unreachable", "host-unreach"],
  ["icmp-proto-unreachable", "prot-unreach"],
  ["icmp-port-unreachable", "port-unreach"],
  ["icmp-net-prohibited", "net-prohib"],
  ["icmp-host-prohibited", "host-prohib"],
  ["tcp-reset", "tcp-rst"],
  ["icmp-admin-prohibited", "admin-prohib"],
];

export const rejectTarget: TargetModule = {
  name: "REJECT",
  tables: ["filter"],
  hooks: ["INPUT", "FORWARD", "OUTPUT"],
  create() {
    let withType = "icmp-port-unreachable";
    return {
      takes: (opt) => opt === "--reject-with",
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (opt.text !== "--reject-with") unknownOption(cur, "REJECT", opt, ["--reject-with"]);
        if (negated) cur.fail("--reject-with cannot be negated", opt);
        const a = cur.arg(opt, "a reject type");
        const t = TYPES.find(([full, short]) => a.text === full || a.text === short);
        if (!t) cur.fail(`unknown reject type \`${a.text}\``, a, `one of ${TYPES.map(([f]) => f).join(", ")}`);
        withType = t[0];
      },
      finish(facts: RuleFacts, at: Token, cur: OptionCursor) {
        if (withType === "tcp-reset" && (facts.proto !== 6 || facts.protoNegated))
          cur.fail("--reject-with tcp-reset needs `-p tcp` (the kernel refuses it otherwise)", at);
        return { target: { kind: "reject", with: withType }, save: ` -j REJECT --reject-with ${withType}` };
      },
    };
  },
};
