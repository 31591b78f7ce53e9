// xt_recent: kube-proxy's ClientIP session affinity (`--rcheck --seconds T --reap` on the SVC
// chain, `--set` on the SEP chain). Reads the host's lists plus what this branch already wrote
// earlier in the same traversal; writes are returned as effects, never applied here.

import type { Token } from "../lex.js";
import type { MatchContext, PacketView, RecentUpdate } from "../api.js";
import { formatIPv4, parseIPv4 } from "../addr.js";
import { type OptionCursor, type RuleFacts, type MatchModule, parseUint, unknownOption } from "../ext.js";

type Op = "set" | "rcheck" | "update" | "remove";

function currentStamps(ctx: MatchContext, pending: readonly RecentUpdate[], name: string, ip: number, now: number): number[] | null {
  let stamps: number[] | null = ctx.recent.get(name)?.get(ip) ?? null;
  for (const u of pending) {
    if (u.name !== name || u.ip !== ip) continue;
    if (u.op === "remove") stamps = null;
    else if (u.op === "set") stamps = [...(stamps ?? []), now];
    else if (stamps) stamps = [...stamps, now];
  }
  return stamps;
}

export const recentMatch: MatchModule = {
  name: "recent",
  create() {
    let op: Op | null = null;
    let negated = false;
    let name = "DEFAULT";
    let seconds = 0;
    let reap = false;
    let hitcount = 0;
    let side: "rsource" | "rdest" = "rsource";
    let mask = 0xffffffff;
    const known = ["--name", "--set", "--rcheck", "--update", "--remove", "--seconds", "--reap", "--hitcount", "--rttl", "--rsource", "--rdest", "--mask"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, n: boolean, cur: OptionCursor) {
        switch (opt.text) {
          case "--set":
          case "--rcheck":
          case "--update":
          case "--remove":
            if (op) cur.fail("only one of --set, --rcheck, --update, --remove per recent match", opt);
            op = opt.text.slice(2) as Op;
            negated = n;
            return;
          case "--name":
            name = cur.arg(opt, "a list name").text;
            if (name.length > 199) cur.fail("recent list name is longer than 199 characters", opt);
            return;
          case "--seconds": {
            const a = cur.arg(opt, "a number of seconds");
            const v = parseUint(a.text);
            if (v === null || v === 0) cur.fail(`invalid --seconds \`${a.text}\``, a);
            seconds = v;
            return;
          }
          case "--hitcount": {
            const a = cur.arg(opt, "a hit count");
            const v = parseUint(a.text);
            if (v === null || v === 0) cur.fail(`invalid --hitcount \`${a.text}\``, a);
            hitcount = v;
            return;
          }
          case "--reap":
            reap = true;
            return;
          case "--rsource":
          case "--rdest":
            side = opt.text.slice(2) as "rsource" | "rdest";
            return;
          case "--mask": {
            const a = cur.arg(opt, "an address mask");
            const v = parseIPv4(a.text);
            if (v === null) cur.fail(`invalid --mask \`${a.text}\``, a);
            mask = v;
            return;
          }
          case "--rttl":
            cur.fail("--rttl is not supported by svcspec (packets are modelled without TTL)", opt);
          default:
            unknownOption(cur, "recent", opt, known);
        }
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (!op) cur.fail("the recent match needs one of --set, --rcheck, --update, --remove", at);
        if (reap && !seconds) cur.fail("--reap needs --seconds", at);
        if ((seconds || hitcount) && op !== "rcheck" && op !== "update") cur.fail("--seconds/--hitcount only work with --rcheck or --update", at);
        const o = op as Op;
        const inv = negated;
        const listName = name;
        const m = mask;
        const byDest = side === "rdest";
        const secs = seconds;
        const hits = Math.max(1, hitcount);
        const evalRecent = (p: PacketView, c: MatchContext, pending: readonly RecentUpdate[]) => {
          const ip = ((byDest ? p.dst : p.src) & m) >>> 0;
          const stamps = currentStamps(c, pending, listName, ip, c.now);
          if (o === "set") return { matched: !inv, update: { name: listName, op: "set" as const, ip } };
          if (stamps === null) return { matched: inv, update: null };
          if (o === "remove") return { matched: !inv, update: { name: listName, op: "remove" as const, ip } };
          // --rcheck / --update: enough stamps within the window (the kernel skips stamps older
          // than now - seconds). --reap only prunes entries that can no longer match.
          let count = 0;
          for (const t of stamps) if (!secs || t >= c.now - secs) count++;
          const ret = (count >= hits) !== inv;
          return { matched: ret, update: o === "update" && ret ? { name: listName, op: "update" as const, ip } : null };
        };
        let save = ` -m recent${inv ? " !" : ""} --${o}`;
        if (seconds) save += ` --seconds ${seconds}`;
        if (reap) save += " --reap";
        if (hitcount) save += ` --hitcount ${hitcount}`;
        save += ` --name ${name} --mask ${formatIPv4(mask)} --${side}`;
        return { matchers: [{ kind: "recent", eval: evalRecent }], save };
      },
    };
  },
};
