// Running one table at one hook, as ipt_do_table does: rules in order, first match decides;
// jump pushes a return point, goto does not; RETURN or the end of a user chain returns; the
// end of a built-in chain applies its policy. A `-m statistic` match splits the run into a
// matched and a not-matched continuation; the result is the list of leaves, each with its
// probability, verdict, NAT, mark and the rules it met.

import type { EvalBranch, HookName, MatchContext, PacketView, RecentUpdate, RuleStep, TableName } from "./api.js";
import { INDEX_MIN_RULES, chainIndex } from "./dispatch.js";
import type { Chain, Ruleset, Table } from "./ruleset.js";

interface Frame {
  chain: Chain;
  /** Candidate rule numbers from the dispatch index, or null for a linear scan. */
  cand: readonly number[] | null;
  /** Position in cand (or in the rules when cand is null). */
  pos: number;
}

interface State {
  prob: number;
  pkt: PacketView;
  frames: Frame[];
  steps: RuleStep[];
  choices: string[];
  recent: RecentUpdate[];
  notrack: boolean;
  /** Resume inside the current rule at this matcher (after a statistic split). */
  matchFrom: number;
}

/** Far beyond any real ruleset; only reachable through a bug, since loops are refused at load. */
const MAX_DEPTH = 4096;

export function runTable(ruleset: Ruleset, table: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext): EvalBranch[] {
  return evaluate(ruleset, table, hook, pkt, ctx, true);
}

/** The same evaluation without dispatch indexes (a plain linear scan): the reference the index is tested against. */
export function runTableLinear(ruleset: Ruleset, table: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext): EvalBranch[] {
  return evaluate(ruleset, table, hook, pkt, ctx, false);
}

function frameFor(chain: Chain, pkt: PacketView, useIndex: boolean): Frame {
  if (useIndex && chain.rules.length >= INDEX_MIN_RULES) {
    return { chain, cand: chainIndex(chain).candidates(pkt.dst, ((pkt.proto << 16) | pkt.dport) >>> 0), pos: 0 };
  }
  return { chain, cand: null, pos: 0 };
}

function endPos(f: Frame): number {
  return f.cand ? f.cand.length : f.chain.rules.length;
}

function evaluate(ruleset: Ruleset, tableName: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext, useIndex: boolean): EvalBranch[] {
  const table = ruleset.tables.get(tableName);
  const start = table?.chains.get(hook);
  if (!table || !start || !start.builtin) {
    return [{ probability: 1, verdict: "ACCEPT", mark: pkt.mark, nat: null, recentUpdates: [], choices: [], steps: [] }];
  }
  const leaves: EvalBranch[] = [];
  const work: State[] = [
    { prob: 1, pkt, frames: [frameFor(start, pkt, useIndex)], steps: [], choices: [], recent: [], notrack: false, matchFrom: 0 },
  ];
  while (work.length) run(work.pop()!, table, tableName, ctx, useIndex, work, leaves);
  return leaves;
}

function clone(st: State): State {
  return {
    prob: st.prob,
    pkt: st.pkt,
    frames: st.frames.map((f) => ({ chain: f.chain, cand: f.cand, pos: f.pos })),
    steps: st.steps.slice(),
    choices: st.choices.slice(),
    recent: st.recent.slice(),
    notrack: st.notrack,
    matchFrom: 0,
  };
}

function run(st: State, table: Table, tableName: TableName, ctx: MatchContext, useIndex: boolean, work: State[], leaves: EvalBranch[]): void {
  const leaf = (verdict: EvalBranch["verdict"], extra: Partial<EvalBranch> = {}): void => {
    leaves.push({
      probability: st.prob,
      verdict,
      mark: st.pkt.mark,
      nat: null,
      recentUpdates: st.recent,
      choices: st.choices,
      steps: st.steps,
      ...(st.notrack ? { notrack: true } : {}),
      ...extra,
    });
  };
  for (;;) {
    const f = st.frames[st.frames.length - 1]!;
    const chain = f.chain;
    if (f.pos >= endPos(f)) {
      if (chain.builtin) {
        const policy = chain.policy ?? "ACCEPT";
        st.steps.push({ table: tableName, chain: chain.name, index: 0, text: `:${chain.name} ${policy}`, action: "policy" });
        return leaf(policy);
      }
      // The end of a user chain returns to the rule after the jump.
      st.frames.pop();
      continue;
    }
    const ri = f.cand ? f.cand[f.pos]! : f.pos;
    const rule = chain.rules[ri]!;
    let matched = true;
    const ms = rule.matchers;
    for (let k = st.matchFrom; k < ms.length; k++) {
      const m = ms[k]!;
      if (m.kind === "test") {
        if (!m.test(st.pkt, ctx)) {
          matched = false;
          break;
        }
      } else if (m.kind === "random") {
        if (m.p <= 0) {
          matched = false;
          break;
        }
        if (m.p >= 1) continue;
        // Split: the not-matched continuation goes on with the next rule.
        const alt = clone(st);
        alt.prob *= 1 - m.p;
        alt.choices.push(`${chain.name} rule ${ri + 1} (${m.label}) not taken`);
        alt.frames[alt.frames.length - 1]!.pos++;
        work.push(alt);
        st.prob *= m.p;
        st.choices.push(`${chain.name} rule ${ri + 1} (${m.label}) taken`);
      } else {
        // xt_recent updates its list as soon as it is evaluated, even if a later match fails.
        const r = m.eval(st.pkt, ctx, st.recent);
        if (r.update) st.recent = [...st.recent, r.update];
        if (!r.matched) {
          matched = false;
          break;
        }
      }
    }
    st.matchFrom = 0;
    f.pos++;
    if (!matched) continue;

    const t = rule.target;
    const step = (action: string): void => {
      st.steps.push({ table: tableName, chain: chain.name, index: ri + 1, text: rule.text, action });
    };
    switch (t.kind) {
      case "none":
        step("count");
        continue;
      case "accept":
        step("accept");
        return leaf("ACCEPT");
      case "drop":
        step("drop");
        return leaf("DROP");
      case "reject":
        step("reject");
        return leaf("REJECT", { rejectWith: t.with });
      case "return":
        step("return");
        if (st.frames.length === 1) {
          // RETURN in a built-in chain: its policy applies.
          f.pos = endPos(f);
          continue;
        }
        st.frames.pop();
        continue;
      case "jump":
      case "goto": {
        step(t.kind);
        const target = table.chains.get(t.chain)!;
        if (st.frames.length >= MAX_DEPTH) throw new Error(`netfilter: chain nesting deeper than ${MAX_DEPTH} at ${chain.name}`);
        const nf = frameFor(target, st.pkt, useIndex);
        if (t.kind === "jump") st.frames.push(nf);
        else if (st.frames.length === 1) {
          // goto from a built-in chain: when the target returns, the built-in's policy applies.
          f.pos = endPos(f);
          st.frames.push(nf);
        } else st.frames[st.frames.length - 1] = nf;
        continue;
      }
      case "nat":
        step(t.action.kind.toLowerCase());
        return leaf("ACCEPT", { nat: t.action });
      case "mark":
        step("mark");
        st.pkt = { ...st.pkt, mark: (((st.pkt.mark & ~t.mask) ^ t.value) >>> 0) };
        continue;
      case "log":
        step(t.name.toLowerCase());
        continue;
      case "notrack":
        step("notrack");
        st.notrack = true;
        continue;
    }
  }
}
