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

// Frames and states are classes (one shape each), their fields always of one kind: a field that
// is sometimes null and sometimes an array, or an object of the same role made by two different
// literals, made the optimised evaluator deoptimise and be compiled again.

/** Candidate list of a frame that scans its chain linearly (no dispatch index). */
const LINEAR: readonly number[] = [];

class Frame {
  constructor(
    public chain: Chain,
    /** Candidate rule numbers from the dispatch index; LINEAR for a linear scan. */
    public cand: readonly number[],
    /** Position in cand (or in the rules for a linear scan). */
    public pos: number,
  ) {}
}

class State {
  constructor(
    public prob: number,
    public pkt: PacketView,
    /** The call stack: frames[0 .. depth) (the arrays may hold stale entries beyond). */
    public frames: Frame[],
    public depth: number,
    /** The rules met: steps[0 .. nsteps). */
    public steps: RuleStep[],
    public nsteps: number,
    /** NO_CHOICES / NO_RECENT until the first write (most evaluations make none). */
    public choices: string[],
    public recent: RecentUpdate[],
    public notrack: boolean,
    /** Resume inside the current rule at this matcher (after a statistic split). */
    public matchFrom: number,
    /**
     * The evaluation's first state works in the module's scratch frames and steps (a table run
     * is synchronous and never re-entered); a split's other states have their own arrays.
     */
    public scratch: boolean,
  ) {}
}

// A probe runs a few dozen tables per branch, and most of what one evaluation used to allocate
// (a work list, a frame per chain entered, a steps array grown from empty) was garbage at once:
// the table runs were the largest allocator of a whole run. The first state reuses these; a leaf
// takes an exact-size copy of its steps. (Counted, not truncated: `length = 0` would free the
// arrays' storage, to be grown again by the next evaluation.)
const scratchFrames: Frame[] = [];
const framePool: Frame[] = [];
const scratchSteps: RuleStep[] = [];
const workList: State[] = [];
const scratchLeaves: EvalBranch[] = [];
let leafCount = 0;
// Shared empty lists for leaves that made no choice and no `-m recent` update. Callers only read
// a branch (EvalBranch is never changed after evaluation); writers here replace, never push.
const NO_CHOICES: string[] = [];
const NO_RECENT: RecentUpdate[] = [];
const scratchState = new State(0.5, { src: 0, dst: 0, proto: 0, sport: 0, dport: 0, mark: 0, inIface: null, outIface: null }, scratchFrames, 0, scratchSteps, 0, NO_CHOICES, NO_RECENT, false, 0, true);

/** Far beyond any real ruleset; only reachable through a bug, since loops are refused at load. */
const MAX_DEPTH = 4096;

export function runTable(ruleset: Ruleset, table: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext): EvalBranch[] {
  return evaluate(ruleset, table, hook, pkt, ctx, true);
}

/** The same evaluation without dispatch indexes (a plain linear scan): the reference the index is tested against. */
export function runTableLinear(ruleset: Ruleset, table: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext): EvalBranch[] {
  return evaluate(ruleset, table, hook, pkt, ctx, false);
}

function candidatesFor(chain: Chain, pkt: PacketView, useIndex: boolean): readonly number[] {
  return useIndex && chain.rules.length >= INDEX_MIN_RULES ? chainIndex(chain).candidates(pkt.dst, ((pkt.proto << 16) | pkt.dport) >>> 0) : LINEAR;
}

/** Enters `chain`: pushes its frame (a pooled one for the scratch state). */
function pushFrame(st: State, chain: Chain, useIndex: boolean): void {
  const cand = candidatesFor(chain, st.pkt, useIndex);
  const depth = st.depth++;
  if (!st.scratch) {
    st.frames[depth] = new Frame(chain, cand, 0);
    return;
  }
  let f = framePool[depth];
  if (f === undefined) framePool[depth] = f = new Frame(chain, cand, 0);
  else {
    f.chain = chain;
    f.cand = cand;
    f.pos = 0;
  }
  st.frames[depth] = f;
}

function addStep(st: State, step: RuleStep): void {
  st.steps[st.nsteps++] = step;
}

function endPos(f: Frame): number {
  return f.cand !== LINEAR ? f.cand.length : f.chain.rules.length;
}

function evaluate(ruleset: Ruleset, tableName: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext, useIndex: boolean): EvalBranch[] {
  const table = ruleset.tables.get(tableName);
  const start = table?.chains.get(hook);
  if (!table || !start || !start.builtin) return acceptUntouched(pkt.mark);
  const first = scratchState;
  first.prob = 1;
  first.pkt = pkt;
  first.depth = 0;
  first.nsteps = 0;
  first.choices = NO_CHOICES;
  first.recent = NO_RECENT;
  first.notrack = false;
  first.matchFrom = 0;
  pushFrame(first, start, useIndex);
  // Splits push their other states here; they run after the first one has finished.
  workList.length = 0;
  leafCount = 0;
  run(first, table, tableName, ctx, useIndex);
  while (workList.length > 0) run(workList.pop()!, table, tableName, ctx, useIndex);
  // Exact-size: a list grown by push keeps room for 16.
  return leafCount === 1 ? [scratchLeaves[0]!] : scratchLeaves.slice(0, leafCount);
}

// A table the ruleset lacks accepts without a trace (the simulator's walk passes over raw and
// mangle itself; a missing nat table and other callers still come here), so these one-leaf
// answers are shared, per mark. They are
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
  const frames: Frame[] = [];
  for (let i = 0; i < st.depth; i++) {
    const f = st.frames[i]!;
    frames.push(new Frame(f.chain, f.cand, f.pos));
  }
  // Literal arrays, not slices: an array literal's site learns its elements' kind (strings here).
  const choices: string[] = [];
  for (const c of st.choices) choices.push(c);
  return new State(
    st.prob,
    st.pkt,
    frames,
    st.depth,
    st.steps.slice(0, st.nsteps),
    st.nsteps,
    choices,
    st.recent === NO_RECENT ? NO_RECENT : st.recent.slice(),
    st.notrack,
    0,
    false,
  );
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
    // The scratch steps are reused by the next evaluation: the leaf keeps a copy.
    steps: st.scratch ? st.steps.slice(0, st.nsteps) : st.steps,
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

function addLeaf(b: EvalBranch): void {
  scratchLeaves[leafCount++] = b;
}

function run(st: State, table: Table, tableName: TableName, ctx: MatchContext, useIndex: boolean): void {
  for (;;) {
    const f = st.frames[st.depth - 1]!;
    const chain = f.chain;
    if (f.pos >= endPos(f)) {
      if (chain.builtin) {
        const policy = chain.policy ?? "ACCEPT";
        addStep(st, policyStep(tableName, chain, policy));
        addLeaf(leafOf(st, policy, null, undefined));
        return;
      }
      // The end of a user chain returns to the rule after the jump.
      st.depth--;
      continue;
    }
    const ri = f.cand !== LINEAR ? f.cand[f.pos]! : f.pos;
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
        alt.frames[alt.depth - 1]!.pos++;
        workList.push(alt);
        st.prob *= m.p;
        if (st.choices === NO_CHOICES) st.choices = [];
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
        addStep(st, ruleStep(tableName, chain, ri, rule, "count"));
        continue;
      case "accept":
        addStep(st, ruleStep(tableName, chain, ri, rule, "accept"));
        addLeaf(leafOf(st, "ACCEPT", null, undefined));
        return;
      case "drop":
        addStep(st, ruleStep(tableName, chain, ri, rule, "drop"));
        addLeaf(leafOf(st, "DROP", null, undefined));
        return;
      case "reject":
        addStep(st, ruleStep(tableName, chain, ri, rule, "reject"));
        addLeaf(leafOf(st, "REJECT", null, t.with));
        return;
      case "return":
        addStep(st, ruleStep(tableName, chain, ri, rule, "return"));
        if (st.depth === 1) {
          // RETURN in a built-in chain: its policy applies.
          f.pos = endPos(f);
          continue;
        }
        st.depth--;
        continue;
      case "jump":
      case "goto": {
        addStep(st, ruleStep(tableName, chain, ri, rule, t.kind));
        const target = table.chains.get(t.chain)!;
        if (st.depth >= MAX_DEPTH) throw new Error(`netfilter: chain nesting deeper than ${MAX_DEPTH} at ${chain.name}`);
        if (t.kind === "jump") pushFrame(st, target, useIndex);
        else if (st.depth === 1) {
          // goto from a built-in chain: when the target returns, the built-in's policy applies.
          f.pos = endPos(f);
          pushFrame(st, target, useIndex);
        } else {
          // goto replaces the current frame. A pooled frame is not reused in place: the one
          // pushFrame takes for this depth is the frame being replaced, which is what we want.
          st.depth--;
          pushFrame(st, target, useIndex);
        }
        continue;
      }
      case "nat":
        addStep(st, ruleStep(tableName, chain, ri, rule, NAT_ACTION[t.action.kind]));
        addLeaf(leafOf(st, "ACCEPT", t.action, undefined));
        return;
      case "mark":
        addStep(st, ruleStep(tableName, chain, ri, rule, "mark"));
        st.pkt = { ...st.pkt, mark: (((st.pkt.mark & ~t.mask) ^ t.value) >>> 0) };
        continue;
      case "log":
        addStep(st, ruleStep(tableName, chain, ri, rule, t.name.toLowerCase()));
        continue;
      case "notrack":
        addStep(st, ruleStep(tableName, chain, ri, rule, "notrack"));
        st.notrack = true;
        continue;
    }
  }
}
