// A deliberately small evaluator over the interpreter's compiled Ruleset, used by these tests
// while src/net/netfilter's runTable is still being written. It follows the contract in
// src/net/netfilter/api.ts: every branch of `-m statistic` enumerated, marks and NAT per branch.
// Once runTable lands, the tests run against it instead (see evaluator() below).

import type { EvalBranch, HookName, MatchContext, PacketView, RecentUpdate, TableName } from "../../../src/net/netfilter/api.js";
import * as netfilter from "../../../src/net/netfilter/index.js";
import type { Ruleset } from "../../../src/net/netfilter/index.js";

type Eval = typeof netfilter.runTable;

interface State {
  p: number;
  mark: number;
  steps: EvalBranch["steps"];
  choices: string[];
  recent: RecentUpdate[];
}

export function standInRunTable(ruleset: Ruleset, table: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext): EvalBranch[] {
  const t = ruleset.tables.get(table);
  const chain = t?.chains.get(hook);
  if (!t || !chain) return [{ probability: 1, verdict: "ACCEPT", mark: pkt.mark, nat: null, recentUpdates: [], choices: [], steps: [] }];
  const out: EvalBranch[] = [];
  const run = (name: string, from: number, s: State, stack: Array<{ chain: string; next: number }>): void => {
    const c = t.chains.get(name)!;
    for (let i = from; i < c.rules.length; i++) {
      const r = c.rules[i]!;
      const view = { ...pkt, mark: s.mark };
      let ok = true;
      let forked = false;
      for (const m of r.matchers) {
        if (m.kind === "test") ok = m.test(view, ctx);
        else if (m.kind === "recent") {
          const res = m.eval(view, ctx, s.recent);
          ok = res.matched;
          if (ok && res.update) s = { ...s, recent: [...s.recent, res.update] };
        } else {
          // Fork: the not-matched branch continues after this rule.
          run(name, i + 1, { ...s, p: s.p * (1 - m.p), steps: [...s.steps], choices: [...s.choices, `${name} rule ${i + 1} (${m.label}) not taken`] }, stack.map((x) => ({ ...x })));
          s = { ...s, p: s.p * m.p, choices: [...s.choices, `${name} rule ${i + 1} (${m.label}) taken`] };
          forked = true;
        }
        if (!ok) break;
      }
      void forked;
      if (!ok) continue;
      const step = (action: string) => (s = { ...s, steps: [...s.steps, { table, chain: name, index: i + 1, text: r.text, action }] });
      const tg = r.target;
      switch (tg.kind) {
        case "none":
        case "log":
        case "notrack":
          continue;
        case "mark":
          step("mark");
          s.mark = ((s.mark & ~tg.mask) ^ tg.value) >>> 0;
          continue;
        case "accept":
          step("accept");
          out.push({ probability: s.p, verdict: "ACCEPT", mark: s.mark, nat: null, recentUpdates: s.recent, choices: s.choices, steps: s.steps });
          return;
        case "drop":
          step("drop");
          out.push({ probability: s.p, verdict: "DROP", mark: s.mark, nat: null, recentUpdates: s.recent, choices: s.choices, steps: s.steps });
          return;
        case "reject":
          step("reject");
          out.push({ probability: s.p, verdict: "REJECT", rejectWith: tg.with, mark: s.mark, nat: null, recentUpdates: s.recent, choices: s.choices, steps: s.steps });
          return;
        case "nat":
          step(tg.action.kind.toLowerCase());
          out.push({ probability: s.p, verdict: "ACCEPT", mark: s.mark, nat: tg.action, recentUpdates: s.recent, choices: s.choices, steps: s.steps });
          return;
        case "return":
          step("return");
          break;
        case "jump":
        case "goto":
          step(tg.kind);
          run(tg.chain, 0, s, tg.kind === "jump" ? [...stack, { chain: name, next: i + 1 }] : stack);
          return;
      }
      if (tg.kind === "return") break;
    }
    const back = stack.pop();
    if (back) return run(back.chain, back.next, s, stack);
    const pol = t.chains.get(hook)!.policy ?? "ACCEPT";
    out.push({
      probability: s.p,
      verdict: pol,
      mark: s.mark,
      nat: null,
      recentUpdates: s.recent,
      choices: s.choices,
      steps: [...s.steps, { table, chain: hook, index: 0, text: `:${hook} ${pol}`, action: pol.toLowerCase() }],
    });
  };
  run(hook, 0, { p: 1, mark: pkt.mark, steps: [], choices: [], recent: [] }, []);
  return out;
}

/** The real interpreter once it evaluates, else the stand-in. */
export function evaluator(): Eval {
  try {
    const probe = netfilter.loadRuleset("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
    netfilter.runTable(probe, "filter", "INPUT", { src: 1, dst: 2, proto: 6, sport: 1, dport: 2, mark: 0, inIface: null, outIface: null }, {
      isLocal: () => false,
      addrType: () => "UNICAST",
      ctstate: 1,
      recent: new Map(),
      now: 0,
    });
    return netfilter.runTable;
  } catch {
    return standInRunTable;
  }
}
