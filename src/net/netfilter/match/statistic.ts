// xt_statistic: kube-proxy's load balancing. Never sampled: the evaluator splits into a
// matched and a not-matched branch. The probability is the kernel's: iptables stores
// lround(p * 2^31) and the kernel matches when (random & 0x7fffffff) < that value, so
// 0.3333333333 really means 715827882 / 2^31 — which is also what iptables-save prints (%.11f).

import type { Token } from "../lex.js";
import type { Matcher } from "../ruleset.js";
import { type OptionCursor, type RuleFacts, type MatchModule, parseUint, unknownOption } from "../ext.js";

export const TWO31 = 0x80000000;

/**
 * q / 2^31 with 11 decimals, rounded exactly and half-to-even like glibc's printf("%.11f")
 * (toFixed rounds exact ties up, e.g. 1/4096).
 */
export function fixed11(q: number): string {
  const num = BigInt(q) * 10n ** 11n;
  const den = 2n ** 31n;
  let n = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && n % 2n === 1n)) n += 1n;
  const s = n.toString().padStart(12, "0");
  return `${s.slice(0, -11)}.${s.slice(-11)}`;
}

/** `--mode random` with the kernel's quantised probability q / 2^31 (the fast path's too: fast-rule.ts). */
export function randomMatcher(q: number, negated: boolean): Matcher {
  const pMatch = negated ? 1 - q / TWO31 : q / TWO31;
  return { kind: "random", p: pMatch, label: `p=${pMatch.toFixed(10)}` };
}

export const statisticMatch: MatchModule = {
  name: "statistic",
  create() {
    let mode: "random" | "nth" | null = null;
    let prob: number | null = null;
    let every: number | null = null;
    let packet = 0;
    let negated = false;
    const known = ["--mode", "--probability", "--every", "--packet"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, n: boolean, cur: OptionCursor) {
        // iptables accepts `!` in front of any statistic option and applies it to the match.
        if (n) negated = true;
        const a = cur.arg(opt, "a value");
        switch (opt.text) {
          case "--mode":
            if (a.text !== "random" && a.text !== "nth") cur.fail(`unknown statistic mode \`${a.text}\``, a, "random or nth");
            mode = a.text;
            return;
          case "--probability": {
            const v = Number(a.text);
            if (!/^[0-9.eE+-]+$/.test(a.text) || !Number.isFinite(v) || v < 0 || v > 1) cur.fail(`invalid probability \`${a.text}\` (0 to 1)`, a);
            prob = v;
            return;
          }
          case "--every": {
            const v = parseUint(a.text);
            if (v === null || v === 0) cur.fail(`invalid --every \`${a.text}\``, a);
            every = v;
            return;
          }
          case "--packet": {
            const v = parseUint(a.text);
            if (v === null) cur.fail(`invalid --packet \`${a.text}\``, a);
            packet = v;
            return;
          }
          default:
            unknownOption(cur, "statistic", opt, known);
        }
      },
      finish(_f: RuleFacts, at: Token, cur: OptionCursor) {
        if (mode === null) cur.fail("the statistic match needs --mode", at);
        if (mode === "random") {
          if (prob === null) cur.fail("--mode random needs --probability", at);
          if (every !== null) cur.fail("--every belongs to --mode nth", at);
          const q = Math.round(prob * TWO31);
          return {
            matchers: [randomMatcher(q, negated)],
            save: ` -m statistic${negated ? " !" : ""} --mode random --probability ${fixed11(q)}`,
          };
        }
        if (every === null) cur.fail("--mode nth needs --every", at);
        if (prob !== null) cur.fail("--probability belongs to --mode random", at);
        if (packet >= every) cur.fail("--packet must be smaller than --every", at);
        // The kernel's nth counter is global state a single probe cannot know: each phase of
        // the cycle is equally likely, so the match is enumerated as matching with 1/every.
        const pMatch = negated ? 1 - 1 / every : 1 / every;
        return {
          matchers: [{ kind: "random", p: pMatch, label: `nth every ${every}, p=${pMatch.toFixed(10)}` }],
          save: ` -m statistic${negated ? " !" : ""} --mode nth --every ${every} --packet ${packet}`,
        };
      },
    };
  },
};
