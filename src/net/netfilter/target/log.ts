// LOG and NFLOG: the packet is logged and continues; no effect on the verdict.

import type { Token } from "../lex.js";
import { type OptionCursor, type TargetModule, parseUint, saveString, unknownOption } from "../ext.js";

const LEVELS = ["emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"];

export const logTarget: TargetModule = {
  name: "LOG",
  create() {
    let prefix = "";
    let level = 4;
    const flags: string[] = [];
    const flagOpts = ["--log-tcp-sequence", "--log-tcp-options", "--log-ip-options", "--log-uid", "--log-macdecode"];
    const known = ["--log-prefix", "--log-level", ...flagOpts];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
        if (opt.text === "--log-prefix") {
          const a = cur.arg(opt, "a prefix");
          if (a.text.length > 29) cur.fail("--log-prefix is longer than 29 characters", a);
          prefix = a.text;
        } else if (opt.text === "--log-level") {
          const a = cur.arg(opt, "a level");
          const n = parseUint(a.text);
          const i = LEVELS.indexOf(a.text === "warn" ? "warning" : a.text === "panic" ? "emerg" : a.text);
          if (n !== null && n <= 7) level = n;
          else if (i >= 0) level = i;
          else cur.fail(`invalid --log-level \`${a.text}\``, a);
        } else if (flagOpts.includes(opt.text)) flags.push(opt.text);
        else unknownOption(cur, "LOG", opt, known);
      },
      finish() {
        let save = " -j LOG";
        if (prefix) save += ` --log-prefix ${saveString(prefix)}`;
        if (level !== 4) save += ` --log-level ${level}`;
        for (const f of flagOpts) if (flags.includes(f)) save += ` ${f}`;
        return { target: { kind: "log", name: "LOG" }, save };
      },
    };
  },
};

export const nflogTarget: TargetModule = {
  name: "NFLOG",
  create() {
    const vals = new Map<string, string>();
    const order = ["--nflog-prefix", "--nflog-group", "--nflog-range", "--nflog-size", "--nflog-threshold"];
    return {
      takes: (opt) => order.includes(opt),
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (!order.includes(opt.text)) unknownOption(cur, "NFLOG", opt, order);
        if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
        const a = cur.arg(opt, "a value");
        if (opt.text !== "--nflog-prefix" && parseUint(a.text) === null) cur.fail(`invalid ${opt.text} \`${a.text}\``, a);
        vals.set(opt.text, a.text);
      },
      finish() {
        let save = " -j NFLOG";
        for (const o of order) {
          const v = vals.get(o);
          if (v === undefined || (o === "--nflog-group" && Number(v) === 0)) continue;
          save += ` ${o} ${o === "--nflog-prefix" ? saveString(v) : String(parseUint(v))}`;
        }
        return { target: { kind: "log", name: "NFLOG" }, save };
      },
    };
  },
};
