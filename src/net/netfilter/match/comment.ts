// libxt_nfacct prints two spaces before the name (as real iptables-save 1.8.9 does).
// Matches that never change a verdict: xt_comment (a label) and xt_nfacct (an accounting
// object; the packet is counted there and the match always succeeds).

import type { Token } from "../lex.js";
import { type OptionCursor, type RuleFacts, type MatchModule, saveString, unknownOption } from "../ext.js";

export const commentMatch: MatchModule = {
  name: "comment",
  create() {
    let text: string | null = null;
    return {
      takes: (opt) => opt === "--comment",
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (opt.text !== "--comment") unknownOption(cur, "comment", opt, ["--comment"]);
        if (negated) cur.fail("--comment cannot be negated", opt);
        const a = cur.arg(opt, "the comment text");
        // XT_MAX_COMMENT_LEN is 256 including the terminating NUL.
        if (Buffer.byteLength(a.text) > 255) cur.fail("comment is longer than 255 bytes", a);
        text = a.text;
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (text === null) cur.fail("the comment match needs --comment", at);
        return { matchers: [], save: ` -m comment --comment ${saveString(text)}` };
      },
    };
  },
};

export const nfacctMatch: MatchModule = {
  name: "nfacct",
  create() {
    let name: string | null = null;
    return {
      takes: (opt) => opt === "--nfacct-name",
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (opt.text !== "--nfacct-name") unknownOption(cur, "nfacct", opt, ["--nfacct-name"]);
        if (negated) cur.fail("--nfacct-name cannot be negated", opt);
        name = cur.arg(opt, "an accounting object name").text;
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (name === null) cur.fail("the nfacct match needs --nfacct-name", at);
        return { matchers: [], save: ` -m nfacct --nfacct-name  ${name}` };
      },
    };
  },
};
