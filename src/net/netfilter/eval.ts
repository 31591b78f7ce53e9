// Running one table at one hook, as ipt_do_table does: rules in order, first match decides;
// jump pushes a return point, goto does not; RETURN or the end of a user chain returns; the
// end of a built-in chain applies its policy. A `-m statistic` match splits the run into a
// matched and a not-matched continuation; the result is the list of leaves, each with its
// probability, verdict, NAT, mark and the rules it met.

import type { EvalBranch, HookName, MatchContext, NatAction, PacketView, RecentUpdate, RuleStep, TableName } from "./api.js";
import { INDEX_MIN_RULES, chainIndex } from "./dispatch.js";
import type { Chain, Rule, Ruleset, Table } from "./ruleset.js";

/** A NAT target's step action, as `kind.toLowerCase()` spells it. */
const NAT_ACTION: Record<NatAction["kind"], string> = { DNAT: "dnat", SNAT: "snat", MASQUERADE: "masquerade" };

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
  if (!table || !start || !start.builtin) return acceptUntouched(pkt.mark);
  const leaves: EvalBranch[] = [];
  const work: State[] = [
    { prob: 1, pkt, frames: [frameFor(start, pkt, useIndex)], steps: [], choices: [], recent: [], notrack: false, matchFrom: 0 },
  ];
  while (work.length) run(work.pop()!, table, tableName, ctx, useIndex, work, leaves);
  return leaves;
}

// A table the ruleset lacks accepts without a trace. Half of a probe's evaluations are such
// (raw and mangle on a kube-proxy node), so their one-leaf answers are shared, per mark. They are
// built like every other leaf (same keys, same order, plain arrays), not frozen: a frozen object
// or array has its own hidden class, which made every reader of a branch polymorphic. Callers
// only read branches (EvalBranch is never changed after evaluation).
const untouched = new Map<number, EvalBranch[]>();

function acceptUntouched(mark: number): EvalBranch[] {
  let r = untouched.get(mark);
  if (!r) {
    r = [{ probability: 1, verdict: "ACCEPT", mark, nat: null, recentUpdates: [], choices: [], steps: [] }];
    if (untouched.size < 256) untouched.set(mark, r);
  }
  return r;
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

/** A finished branch: what the table decided for this continuation. */
function leafOf(st: State, verdict: EvalBranch["verdict"], nat: NatAction | null, rejectWith: string | undefined): EvalBranch {
  const b: EvalBranch = {
    probability: st.prob,
    verdict,
    mark: st.pkt.mark,
    nat,
    recentUpdates: st.recent,
    choices: st.choices,
    steps: st.steps,
  };
  // Same keys, in the same order, as callers have always seen (rejectWith, notrack only when set).
  if (st.notrack) b.notrack = true;
  if (rejectWith !== undefined) b.rejectWith = rejectWith;
  return b;
}

/** The step record of rule `ri` of `chain`, shared by every evaluation that meets it. */
function ruleStep(tableName: TableName, chain: Chain, ri: number, rule: Rule, action: string): RuleStep {
  const cache = chain.steps ?? (chain.steps = []);
  const hit = cache[ri];
  if (hit !== undefined && hit.text === rule.text && hit.action === action && hit.table === tableName) return hit;
  const step: RuleStep = { table: tableName, chain: chain.name, index: ri + 1, text: rule.text, action };
  cache[ri] = step;
  return step;
}

function policyStep(tableName: TableName, chain: Chain, policy: string): RuleStep {
  const hit = chain.policyStep;
  if (hit !== undefined && hit.action === "policy" && hit.table === tableName && hit.text.length === chain.name.length + 2 + policy.length && hit.text.endsWith(policy)) return hit;
  const step: RuleStep = { table: tableName, chain: chain.name, index: 0, text: `:${chain.name} ${policy}`, action: "policy" };
  chain.policyStep = step;
  return step;
}

function run(st: State, table: Table, tableName: TableName, ctx: MatchContext, useIndex: boolean, work: State[], leaves: EvalBranch[]): void {
  for (;;) {
    const f = st.frames[st.frames.length - 1]!;
    const chain = f.chain;
    if (f.pos >= endPos(f)) {
      if (chain.builtin) {
        const policy = chain.policy ?? "ACCEPT";
        st.steps.push(policyStep(tableName, chain, policy));
        leaves.push(leafOf(st, policy, null, undefined));
        return;
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
    switch (t.kind) {
      case "none":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "count"));
        continue;
      case "accept":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "accept"));
        leaves.push(leafOf(st, "ACCEPT", null, undefined));
        return;
      case "drop":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "drop"));
        leaves.push(leafOf(st, "DROP", null, undefined));
        return;
      case "reject":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "reject"));
        leaves.push(leafOf(st, "REJECT", null, t.with));
        return;
      case "return":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "return"));
        if (st.frames.length === 1) {
          // RETURN in a built-in chain: its policy applies.
          f.pos = endPos(f);
          continue;
        }
        st.frames.pop();
        continue;
      case "jump":
      case "goto": {
        st.steps.push(ruleStep(tableName, chain, ri, rule, t.kind));
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
        st.steps.push(ruleStep(tableName, chain, ri, rule, NAT_ACTION[t.action.kind]));
        leaves.push(leafOf(st, "ACCEPT", t.action, undefined));
        return;
      case "mark":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "mark"));
        st.pkt = { ...st.pkt, mark: (((st.pkt.mark & ~t.mask) ^ t.value) >>> 0) };
        continue;
      case "log":
        st.steps.push(ruleStep(tableName, chain, ri, rule, t.name.toLowerCase()));
        continue;
      case "notrack":
        st.steps.push(ruleStep(tableName, chain, ri, rule, "notrack"));
        st.notrack = true;
        continue;
    }
  }
}
