// iptables-restore: a save/restore text applied to a ruleset, table by table, each table
// committed at COMMIT with the checks the kernel and iptables-restore make (targets exist,
// no chain loops, targets used only from hooks that allow them, deleted chains unreferenced).
// The input ruleset is never modified: a restore that fails leaves it as it was, like the
// atomic table replace of the real thing.

import type { HookName, TableName } from "./api.js";
import { RulesetParseError } from "./errors.js";
import { type Token, splitWords } from "./lex.js";
import { compileKubeRule, kubeTargetName } from "./fast-rule.js";
import { parseRuleWords, type RuleParseEnv } from "./rule-parse.js";
import { BUILTIN_CHAINS, type Chain, type Policy, type Rule, type Ruleset, type SourceRef, type Table, TABLE_NAMES, emptyRuleset } from "./ruleset.js";

export interface RestoreOptions {
  /** `iptables-restore --noflush`: only the chains the text declares are flushed. */
  noflush: boolean;
  /** File name for error positions. */
  file?: string;
  /**
   * Every line through the general parser, none remembered (no line cache, no kube-proxy fast
   * path): the reference the fast paths are tested against.
   */
  generic?: boolean;
}

/** A whole dump (iptables-save output or a full restore file) as a fresh ruleset. */
export function loadRuleset(text: string, file?: string): Ruleset {
  return applyRestore(emptyRuleset(), text, { noflush: false, ...(file !== undefined ? { file } : {}) });
}

/** The same compiled rule at another source position (fields in parse order: one object shape). */
function withSource(r: Rule, src: SourceRef): Rule {
  return r.hookCheck === undefined
    ? { matchers: r.matchers, target: r.target, text: r.text, src, keyDst: r.keyDst, keyProtoPort: r.keyProtoPort }
    : { matchers: r.matchers, target: r.target, text: r.text, src, keyDst: r.keyDst, keyProtoPort: r.keyProtoPort, hookCheck: r.hookCheck };
}

// Compiled `-A` lines by table and line text. A rule's compiled form depends only on its table,
// its words, and whether its -j/-g name is a user chain of the table at that point; nothing else
// of the restore reaches it. Scenarios and nodes restore nearly the same kube-proxy lines over
// and over (every change re-syncs every node), so the second time a line is a lookup. Each use
// gets its own Rule object with its own source position (errors at COMMIT point at the line of
// *this* restore); matchers are immutable and shared. Only moderate texts use it: a 10k-Service
// dump has no repeats worth the memory.
interface CachedLine {
  chain: string;
  /**
   * What the compiled form depended on. A jump/goto rule: its target chain (it must still be a
   * user chain). Any other rule: every word that follows a -j/-g option word (the real target
   * name is among them; none may have become a user chain, or `-j NAME` would now jump).
   */
  jumpsTo: string | null;
  notChains: string[];
  rules: Rule[];
}
const LINE_CACHE_MAX = 20_000;
export const LINE_CACHE_TEXT_MAX = 200_000;
const lineCache = new Map<TableName, Map<string, CachedLine>>();
let lineCacheSize = 0;

function targetCandidates(words: readonly Token[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < words.length - 1; k++) {
    const w = words[k]!.text;
    if (w === "-j" || w === "--jump" || w === "-g" || w === "--goto") out.push(words[k + 1]!.text);
  }
  return out;
}

const HOOK_BIT: Record<HookName, number> = { PREROUTING: 1, INPUT: 2, FORWARD: 4, OUTPUT: 8, POSTROUTING: 16 };
const HOOKS = Object.keys(HOOK_BIT) as HookName[];

// Every chain is made with the same fields in the same order (the evaluator's lazily built ones
// included): one object shape, so the evaluator's chain reads stay monomorphic.
function newChain(name: string, builtin: boolean, policy: Policy | null, counters = "[0:0]"): Chain {
  return { name, builtin, policy, counters, rules: [], index: null, steps: undefined, policyStep: undefined };
}

/**
 * A rule appended to a chain of this restore's own. The first two are put in arrays of exactly
 * their number: a push onto an empty array leaves room for 17 rules, and most chains of a
 * kube-proxy dump (its 100k KUBE-SEP chains) have two (≈ 120 bytes less each, and no empty room
 * for the garbage collector to copy).
 */
function appendRule(chain: Chain, rule: Rule): void {
  const rules = chain.rules;
  if (rules.length === 0) chain.rules = [rule];
  else if (rules.length === 1) chain.rules = [rules[0]!, rule];
  else rules.push(rule);
}

function freshTable(name: TableName, previous: Table | undefined): Table {
  const chains = new Map<string, Chain>();
  for (const b of BUILTIN_CHAINS[name]) {
    const old = previous?.chains.get(b);
    chains.set(b, newChain(b, true, old?.policy ?? "ACCEPT", old?.counters ?? "[0:0]"));
  }
  return { name, chains };
}

type Deleted = Map<string, { line: number; column: number; text: string; lineText: string }>;

export function applyRestore(ruleset: Ruleset, text: string, opts: RestoreOptions): Ruleset {
  const lines = text.split("\n");
  const run = new RestoreRun(ruleset, opts, text.length <= LINE_CACHE_TEXT_MAX);
  for (let idx = 0; idx < lines.length; idx++) {
    run.lineNo = idx + 1;
    // Per-line work is kept to plain character tests: a 10k-Service restore has 440k lines.
    const raw = lines[idx]!;
    run.feed(raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw);
  }
  if (run.table) {
    run.lineNo = lines.length;
    run.lineText = lines[lines.length - 1] ?? "";
    run.fail(`COMMIT expected: table ${run.table.name} (opened on line ${run.tableLine}) is never committed`, null, "add a COMMIT line");
  }
  return run.result;
}

/**
 * The tables of an iptables-save dump, line for line (the lines printSaved in
 * src/kube/proxier/save-format.ts prints: `*name`, each chain's line, each chain's rules, COMMIT).
 */
export interface SavedTableLines {
  readonly name: string;
  readonly chains: ReadonlyArray<{ readonly name: string; readonly decl: string; readonly rules: readonly string[] }>;
}

/**
 * loadRuleset of the text those lines make, without the text: the very same lines go one by one
 * through the same restore, at the same line numbers, so the result is what loading the printed
 * text gives (test/cluster/compiled-rules.test.ts) — but for one thing. A chain whose lines are
 * the lines of a chain compiled before (same table, same lines, and what each line's compiled
 * form depended on still true: see CachedLine) is that chain, shared: its rules, its dispatch
 * index and its step records, made once. Every scenario change re-syncs every node, and all but
 * a Service's few chains come out the same. A shared chain's rules keep the source positions of
 * the load that compiled them; positions are read only by the checks at COMMIT, and when one of
 * those fails, the load is made again without sharing, so the error points at this text's line.
 */
export function loadSavedTables(tables: readonly SavedTableLines[], file: string): Ruleset {
  let chars = 0;
  for (const t of tables) for (const c of t.chains) for (let k = 0; k < c.rules.length; k++) chars += c.rules[k]!.length + 1;
  // Sharing rests on the compiled-line cache, which moderate texts alone use (see lineCache).
  const moderate = chars <= LINE_CACHE_TEXT_MAX;
  if (!moderate) return replaySaved(tables, file, false, false);
  try {
    return replaySaved(tables, file, true, true);
  } catch (e) {
    if (e instanceof RulesetParseError) return replaySaved(tables, file, true, false);
    throw e;
  }
}

function replaySaved(tables: readonly SavedTableLines[], file: string, useLineCache: boolean, share: boolean): Ruleset {
  const run = new RestoreRun(emptyRuleset(), { noflush: false, file }, useLineCache);
  // Whole tables are shared only when each is restored once (a second `*filter` would start
  // from the first one's policies).
  const shareTables = share && distinctNames(tables);
  let lineNo = 0;
  for (const t of tables) {
    const found = shareTables ? tableVersion(t) : null;
    const version = found !== null ? found.version : null;
    if (found !== null && found.same) {
      // Every line as in a table compiled (and committed) before: that table, checks and all.
      run.result.tables.set(found.version.table.name, found.version.table);
      lineNo += 2 + t.chains.length;
      for (const c of t.chains) lineNo += c.rules.length;
      continue;
    }
    run.lineNo = ++lineNo;
    run.feed(`*${t.name}`);
    run.plainChains = true;
    lineNo = version !== null ? replayChangedChains(run, t, version, lineNo) : replayChains(run, t, lineNo, share);
    run.lineNo = ++lineNo;
    run.feed("COMMIT");
    if (shareTables && run.plainChains) rememberTable(t, run.result.tables.get(t.name as TableName)!);
  }
  if (run.table) run.fail(`COMMIT expected: table ${run.table.name} (opened on line ${run.tableLine}) is never committed`, null, "add a COMMIT line");
  return run.result;
}

/** The table's chain lines then its rules, chain by chain, a chain compiled before shared. */
function replayChains(run: RestoreRun, t: SavedTableLines, lineNo: number, share: boolean): number {
  const chains = t.chains;
  for (let k = 0; k < chains.length; k++) {
    run.lineNo = ++lineNo;
    run.feed(chains[k]!.decl);
  }
  for (let k = 0; k < chains.length; k++) lineNo = replayChainRules(run, chains[k]!, lineNo, share);
  return lineNo;
}

/**
 * The table's lines when a table compiled before had the very same chain lines (so the same
 * chains, each a user chain or not, as declaring them makes): its chains, but for those whose
 * rules differ, which are compiled (or shared) as replayChains would.
 */
function replayChangedChains(run: RestoreRun, t: SavedTableLines, version: TableVersion, lineNo: number): number {
  const table = run.table!;
  for (const [name, chain] of version.table.chains) table.chains.set(name, chain);
  run.owned = new Set();
  const chains = t.chains;
  lineNo += chains.length;
  for (let k = 0; k < chains.length; k++) {
    const c = chains[k]!;
    if (sameLines(version.lines[k]!, c.rules)) {
      lineNo += c.rules.length;
      continue;
    }
    const old = version.table.chains.get(c.name)!;
    table.chains.set(c.name, newChain(c.name, old.builtin, old.policy, old.counters));
    run.owned.add(c.name);
    run.lastAppendChain = null;
    lineNo = replayChainRules(run, c, lineNo, true);
  }
  return lineNo;
}

function replayChainRules(run: RestoreRun, c: SavedTableLines["chains"][number], lineNo: number, share: boolean): number {
  const rules = c.rules;
  if (rules.length === 0) return lineNo;
  if (share && run.table !== null && run.shareChain(c.name, c.decl, rules)) return lineNo + rules.length;
  const deps: CachedLine[] | null = share ? [] : null;
  run.deps = deps;
  for (let r = 0; r < rules.length; r++) {
    run.lineNo = ++lineNo;
    run.feed(rules[r]!);
  }
  run.deps = null;
  if (deps === null || deps.length !== rules.length || run.table === null || !rememberChain(run.table, c.name, c.decl, rules, deps)) run.plainChains = false;
  return lineNo;
}

function distinctNames(tables: readonly SavedTableLines[]): boolean {
  for (let i = 0; i < tables.length; i++) for (let j = 0; j < i; j++) if (tables[i]!.name === tables[j]!.name) return false;
  return true;
}

// Committed tables by name, a few versions each, with the lines they were compiled from (only
// tables whose every rule line was an -A line of its own chain: see plainChains): in
// the bench suite, 43 % of the tables a load restores are line for line one of the last four
// (the nodes of a world, a scenario's change that left a table alone), and 68 % have the same
// chain lines. Tables and chains are immutable once committed (ruleset.ts), so they are shared.
interface TableVersion {
  decls: string[];
  lines: Array<readonly string[]>;
  table: Table;
}
const TABLE_VERSIONS = 4;
const tableVersions = new Map<string, TableVersion[]>();

/**
 * The newest version with every line the same (same: true), or else the newest with the same
 * chain lines (same: false); null: none.
 */
function tableVersion(t: SavedTableLines): { version: TableVersion; same: boolean } | null {
  const versions = tableVersions.get(t.name);
  if (versions === undefined) return null;
  const chains = t.chains;
  let layout: TableVersion | null = null;
  for (let v = 0; v < versions.length; v++) {
    const version = versions[v]!;
    const decls = version.decls;
    if (decls.length !== chains.length) continue;
    let k = 0;
    while (k < decls.length && decls[k] === chains[k]!.decl) k++;
    if (k < decls.length) continue;
    let same = true;
    for (k = 0; k < chains.length && same; k++) same = sameLines(version.lines[k]!, chains[k]!.rules);
    if (same) return { version, same: true };
    layout ??= version;
  }
  return layout !== null ? { version: layout, same: false } : null;
}

function rememberTable(t: SavedTableLines, table: Table): void {
  let versions = tableVersions.get(t.name);
  if (versions === undefined) tableVersions.set(t.name, (versions = []));
  const decls: string[] = [];
  const lines: Array<readonly string[]> = [];
  for (const c of t.chains) {
    decls.push(c.decl);
    lines.push(c.rules);
  }
  versions.unshift({ decls, lines, table });
  if (versions.length > TABLE_VERSIONS) versions.pop();
}

// Compiled chains by table and chain name, a few versions each (a file's base world and its
// scenario changes alternate): the lines each was compiled from and what those depended on.
interface CompiledChain {
  decl: string;
  lines: readonly string[];
  deps: CachedLine[];
  chain: Chain;
}
const CHAIN_VERSIONS = 4;
const CHAIN_CACHE_MAX = 20_000;
const chainCache = new Map<string, Map<string, CompiledChain[]>>();
let chainCacheSize = 0;

/** false: not remembered, its lines did not all go to it (another chain's -A line is not its own). */
function rememberChain(table: Table, name: string, decl: string, lines: readonly string[], deps: CachedLine[]): boolean {
  for (let k = 0; k < deps.length; k++) if (deps[k]!.chain !== name) return false;
  if (chainCacheSize >= CHAIN_CACHE_MAX) {
    chainCache.clear();
    chainCacheSize = 0;
  }
  let byName = chainCache.get(table.name);
  if (!byName) chainCache.set(table.name, (byName = new Map()));
  let versions = byName.get(name);
  if (!versions) byName.set(name, (versions = []));
  versions.unshift({ decl, lines, deps, chain: table.chains.get(name)! });
  chainCacheSize++;
  if (versions.length > CHAIN_VERSIONS) {
    versions.pop();
    chainCacheSize--;
  }
  return true;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  // The lines of one sync and the next are mostly the very same string objects (the
  // normalisation cache hands them out): a pointer comparison each.
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** One applyRestore: where it is in the text, and the table being restored. */
class RestoreRun {
  readonly file: string;
  readonly noflush: boolean;
  readonly generic: boolean;
  readonly useLineCache: boolean;
  readonly result: Ruleset;
  lineNo = 0;
  lineText = "";
  /** The table being restored: its chain map is private; chains are copied before a change. */
  table: Table | null = null;
  /** The remembered -A lines of that table (null until one is remembered). */
  remembered: Map<string, CachedLine> | null = null;
  ruleEnv: RuleParseEnv | null = null;
  tableLine = 0;
  /** Chains of the table that this restore made (the others are copied before a change). */
  owned = new Set<string>();
  declared = new Set<string>();
  deleted: Deleted = new Map();
  /**
   * The chain of the previous line when it was a remembered -A line or one compiled by the
   * kube-proxy fast path (this restore's own copy, as nothing in between changed the chains).
   */
  lastAppendChain: Chain | null = null;
  /** While set, each -A line's remembered entry (hit or new) is added to it (see loadSavedTables). */
  deps: CachedLine[] | null = null;
  /**
   * loadSavedTables: every chain of the table so far is shared or was compiled from -A lines of
   * its own alone (so the chain lines alone decide which chains exist: the table may be shared).
   */
  plainChains = true;

  constructor(
    ruleset: Ruleset,
    opts: RestoreOptions,
    useLineCache: boolean,
  ) {
    this.file = opts.file ?? "<rules>";
    this.noflush = opts.noflush;
    this.generic = opts.generic === true;
    this.useLineCache = useLineCache && !this.generic;
    this.result = { tables: new Map(ruleset.tables) };
  }

  /**
   * One line (lineNo set by the caller). Only what nearly every line of a kube-proxy dump takes
   * (a remembered -A line, a plain chain declaration) is here: small methods that the optimising
   * compiler takes early, while the general line handling, mostly cold, stays apart.
   */
  feed(lineText: string): void {
    this.lineText = lineText;
    if (isBlankOrComment(lineText)) return;
    if (this.table !== null) {
      const append = lineText.startsWith("-A ");
      if (append && this.useLineCache && this.appendRemembered(lineText)) return;
      const last = this.lastAppendChain;
      this.lastAppendChain = null;
      // The usual user-chain declaration, `:NAME - [0:0]`, taken without splitting it into words
      // (a third of a kube-proxy dump's lines); anything else goes the general way below.
      if (lineText.charCodeAt(0) === 58 && lineText.endsWith(" - [0:0]") && this.declareBare(lineText)) return;
      if (append && !this.generic && this.appendKube(lineText, last)) return;
    } else {
      this.lastAppendChain = null;
    }
    this.generalLine(lineText);
  }

  /**
   * The chain `name`, just declared by `decl`, given the rules of an earlier compile of the same
   * lines when what they depended on still holds in this table. false: compile them.
   */
  shareChain(name: string, decl: string, lines: readonly string[]): boolean {
    const versions = chainCache.get(this.table!.name)?.get(name);
    if (versions === undefined) return false;
    for (let v = 0; v < versions.length; v++) {
      const c = versions[v]!;
      if (c.decl !== decl || !sameLines(c.lines, lines) || !this.depsHold(c.deps)) continue;
      this.table!.chains.set(name, c.chain);
      // Not this restore's own: anything that would change it copies it first.
      this.owned.delete(name);
      this.lastAppendChain = null;
      return true;
    }
    return false;
  }

  private depsHold(deps: CachedLine[]): boolean {
    for (let k = 0; k < deps.length; k++) {
      const d = deps[k]!;
      if (d.jumpsTo !== null) {
        if (!this.isUserChain(d.jumpsTo)) return false;
      } else {
        const notChains = d.notChains;
        for (let n = 0; n < notChains.length; n++) if (this.isUserChain(notChains[n]!)) return false;
      }
    }
    return true;
  }

  fail(message: string, at: Token | null, suggestion?: string): never {
    throw new RulesetParseError(message, { file: this.file, line: this.lineNo, column: at ? at.column : 1, token: at ? at.text : "", sourceLine: this.lineText }, suggestion);
  }

  own(name: string): Chain {
    const table = this.table!;
    const c = table.chains.get(name)!;
    if (this.owned.has(name)) return c;
    const copy: Chain = { name: c.name, builtin: c.builtin, policy: c.policy, counters: c.counters, rules: c.rules.slice(), index: null, steps: undefined, policyStep: undefined };
    table.chains.set(name, copy);
    this.owned.add(name);
    return copy;
  }

  isBuiltin(name: string): boolean {
    return BUILTIN_CHAINS[this.table!.name].includes(name);
  }

  isUserChain(name: string): boolean {
    return this.table!.chains.has(name) && !this.isBuiltin(name);
  }

  /**
   * A remembered -A line, when what its compiled form depended on still holds: its rules, at
   * this line, appended to the chain. false: the line goes the general way.
   */
  appendRemembered(lineText: string): boolean {
    const hit = this.remembered?.get(lineText);
    if (hit === undefined) return false;
    const table = this.table!;
    // A chain's rules come one after another: the chain of the previous remembered line is
    // still this restore's own copy unless a line in between was handled otherwise.
    const last = this.lastAppendChain;
    const sameChain = last !== null && hit.chain === last.name;
    if (!sameChain && !table.chains.has(hit.chain)) return false;
    if (hit.jumpsTo !== null) {
      if (!this.isUserChain(hit.jumpsTo)) return false;
    } else {
      const notChains = hit.notChains;
      for (let k = 0; k < notChains.length; k++) if (this.isUserChain(notChains[k]!)) return false;
    }
    const chain = sameChain ? last : this.own(hit.chain);
    this.lastAppendChain = chain;
    const src = { file: this.file, line: this.lineNo, lineText };
    const rules = hit.rules;
    for (let k = 0; k < rules.length; k++) appendRule(chain, withSource(rules[k]!, src));
    this.deps?.push(hit);
    return true;
  }

  /**
   * An -A line of a shape kube-proxy writes, compiled by the fast path (fast-rule.ts) to the rule
   * the general parser would make of it. `last`: the chain of the previous line, when it was
   * appended to and nothing changed the chains since. false: the line goes the general way.
   */
  appendKube(lineText: string, last: Chain | null): boolean {
    const table = this.table!;
    const chainEnd = lineText.indexOf(" ", 3);
    if (chainEnd < 0) return false;
    // The rule first: a line of another shape (kube-proxy's own restore order, say) costs no
    // chain lookup before it goes the general way.
    const rule = compileKubeRule(lineText, chainEnd, table, this.file, this.lineNo);
    if (rule === null) return false;
    // A dump's rules come chain by chain: most lines are for the previous line's chain.
    let chain: Chain;
    if (last !== null && last.name.length === chainEnd - 3 && lineText.startsWith(last.name, 3)) {
      chain = last;
    } else {
      // Chain names have no blank or quote (validateChainName, declareBare): a slice that names
      // a chain is the word the general parser would read.
      const name = lineText.slice(3, chainEnd);
      if (!table.chains.has(name)) return false;
      chain = this.own(name);
    }
    appendRule(chain, rule);
    this.lastAppendChain = chain;
    if (this.useLineCache) {
      const t = rule.target;
      this.remember(table, chain, [rule], lineText, t.kind === "jump" ? [] : [kubeTargetName(t)]);
    }
    return true;
  }

  /** `:NAME - [0:0]` for a plain user chain name; false: the line goes the general way. */
  declareBare(lineText: string): boolean {
    const name = lineText.slice(1, -8);
    if (!isBareWord(name) || this.isBuiltin(name)) return false;
    this.declareUserChain(this.table!, { text: name, column: 2, quoted: false }, "[0:0]");
    return true;
  }

  declareUserChain(t: Table, nameTok: Token, counters: string): void {
    const name = nameTok.text;
    validateChainName(nameTok, this);
    // Added and checked in one lookup (a 10k-Service dump declares 110k chains); a failed restore
    // is thrown away whole, so adding before failing changes nothing.
    const declared = this.declared;
    const before = declared.size;
    declared.add(name);
    if (!this.noflush && declared.size === before) this.fail(`chain ${name} is declared twice`, nameTok);
    // Declared: created, or flushed when it exists (what --noflush relies on).
    t.chains.set(name, newChain(name, false, null, counters));
    this.owned.add(name);
    if (this.deleted.size > 0) this.deleted.delete(name);
  }

  needChain(tok: Token | undefined, cmd: Token): Chain {
    if (!tok) return this.fail(`${cmd.text} needs a chain name`, cmd);
    if (!this.table!.chains.has(tok.text)) {
      return this.fail(`no chain named \`${tok.text}\` in table ${this.table!.name}`, tok, `declare it first with \`:${tok.text} - [0:0]\``);
    }
    return this.own(tok.text);
  }

  /** Any line but a remembered -A line or a plain chain declaration. */
  generalLine(lineText: string): void {
    const split = splitWords(lineText);
    if ("error" in split) this.fail(split.error, { text: "\"", column: split.column, quoted: false });
    const words = split as Token[];
    const first = words[0]!;
    if (first.text.startsWith("*")) return this.openTable(words);
    if (first.text === "COMMIT") {
      const table = this.table;
      if (!table) this.fail("COMMIT without a table (missing `*filter`-style line?)", first);
      if (words.length > 1) this.fail("unexpected words after COMMIT", words[1]!);
      commitChecks(table!, this.deleted, this.file);
      this.result.tables.set(table!.name, table!);
      this.table = null;
      this.remembered = null;
      return;
    }
    if (!this.table) this.fail("no table selected: a `*nat`, `*filter`, `*mangle` or `*raw` line must come first", first);
    if (first.text.startsWith(":")) return this.declaration(words);
    this.command(words, split as Token[], lineText);
  }

  openTable(words: Token[]): void {
    const first = words[0]!;
    if (this.table) this.fail(`COMMIT expected before a new table (table ${this.table.name} opened on line ${this.tableLine} is not committed)`, first);
    const name = first.text.slice(1);
    if (!(TABLE_NAMES as readonly string[]).includes(name)) {
      this.fail(name === "security" ? "the security table is not supported by svcspec" : `unknown table \`${name}\``, first, "raw, mangle, nat or filter");
    }
    if (words.length > 1) this.fail("unexpected words after the table name", words[1]!);
    const tname = name as TableName;
    const prev = this.result.tables.get(tname);
    const table = this.noflush && prev ? { name: tname, chains: new Map(prev.chains) } : freshTable(tname, prev);
    this.table = table;
    this.remembered = lineCache.get(tname) ?? null;
    this.ruleEnv = null;
    this.tableLine = this.lineNo;
    this.owned = new Set(this.noflush && prev ? [] : table.chains.keys());
    this.declared = new Set();
    this.deleted = new Map();
  }

  declaration(words: Token[]): void {
    const t = this.table!;
    const first = words[0]!;
    const name = first.text.slice(1);
    const nameTok: Token = { text: name, column: first.column + 1, quoted: false };
    if (!name) this.fail("chain declaration without a name", first);
    const policyTok = words[1];
    if (!policyTok) this.fail(`chain declaration \`${first.text}\` needs a policy (\`-\` for a user chain)`, first);
    const counters = words[2]?.text ?? "[0:0]";
    if (words[2] && !/^\[[0-9]+:[0-9]+\]$/.test(counters)) this.fail(`invalid counters \`${counters}\` (expected [packets:bytes])`, words[2]);
    if (words.length > 3) this.fail("unexpected words after the chain declaration", words[3]!);
    if (this.isBuiltin(name)) {
      const p = policyTok!.text;
      if (p !== "ACCEPT" && p !== "DROP" && p !== "-") this.fail(`invalid policy \`${p}\` for built-in chain ${name}`, policyTok!, "ACCEPT or DROP");
      if (p === "DROP" && t.name === "nat") this.fail('the "nat" table is not intended for filtering, iptables refuses a DROP policy there', policyTok!);
      const c = this.own(name);
      if (p !== "-") c.policy = p as Policy;
      c.counters = counters;
      // A built-in chain is not flushed by its declaration in --noflush mode (iptables-restore
      // only sets the policy); without --noflush the whole table was flushed at `*table`.
      return;
    }
    if (policyTok!.text !== "-") this.fail(`a user-defined chain has no policy: \`${policyTok!.text}\` must be \`-\``, policyTok!);
    this.declareUserChain(t, nameTok, counters);
  }

  /** The rule environment of the current table (one per table, pointed at each line's chain and source). */
  env(): RuleParseEnv {
    const t = this.table!;
    if (this.ruleEnv === null || this.ruleEnv.table !== t.name) {
      this.ruleEnv = {
        table: t.name,
        chain: "",
        chainExists: (n) => t.chains.has(n),
        chainName: (n) => t.chains.get(n)?.name,
        chainNames: () => t.chains.keys(),
        src: { file: this.file, line: this.lineNo, lineText: this.lineText },
        fail: (m, at, s) => this.fail(m, at, s),
      };
    }
    return this.ruleEnv;
  }

  parseRule(chainName: string, ws: Token[]): Rule[] {
    const env = this.env();
    env.chain = chainName;
    env.src = { file: this.file, line: this.lineNo, lineText: this.lineText };
    return parseRuleWords(ws, env);
  }

  /** A command line (-A, -I, -D, -N, -X, -F, -P, -Z), optionally after `[pkts:bytes]`. */
  command(lineWords: Token[], split: Token[], lineText: string): void {
    const t = this.table!;
    const first = lineWords[0]!;
    let words = lineWords;
    // A leading `[pkts:bytes]` (iptables-save -c) is accounting only.
    if (first.text.charCodeAt(0) === 91 && /^\[[0-9]+:[0-9]+\]$/.test(first.text)) words = words.slice(1);
    const cmd = words[0];
    if (!cmd) this.fail("counters without a rule", first);
    const c0 = cmd!;
    const rest = words.slice(1);
    switch (c0.text) {
      case "-A":
      case "--append": {
        const chain = this.needChain(rest[0], c0);
        const rules = this.parseRule(chain.name, rest.slice(1));
        for (let k = 0; k < rules.length; k++) appendRule(chain, rules[k]!);
        if (this.useLineCache && c0.text === "-A" && words === split && lineText.startsWith("-A ")) this.remember(t, chain, rules, lineText, null, rest);
        return;
      }
      case "-I":
      case "--insert": {
        const chain = this.needChain(rest[0], c0);
        let ws = rest.slice(1);
        let pos = 1;
        if (ws[0] && /^[0-9]+$/.test(ws[0].text)) {
          pos = Number(ws[0].text);
          if (pos < 1 || pos > chain.rules.length + 1) this.fail(`rule number ${pos} is out of range (chain ${chain.name} has ${chain.rules.length} rules)`, ws[0]);
          ws = ws.slice(1);
        }
        chain.rules.splice(pos - 1, 0, ...this.parseRule(chain.name, ws));
        return;
      }
      case "-D":
      case "--delete": {
        const chain = this.needChain(rest[0], c0);
        const ws = rest.slice(1);
        if (ws.length === 1 && /^[0-9]+$/.test(ws[0]!.text)) {
          const n = Number(ws[0]!.text);
          if (n < 1 || n > chain.rules.length) this.fail(`rule number ${n} does not exist in chain ${chain.name}`, ws[0]!);
          chain.rules.splice(n - 1, 1);
          return;
        }
        for (const r of this.parseRule(chain.name, ws)) {
          const k = chain.rules.findIndex((x) => x.text === r.text);
          if (k < 0) this.fail(`no rule like this in chain ${chain.name} to delete`, c0);
          chain.rules.splice(k, 1);
        }
        return;
      }
      case "-N":
      case "--new-chain": {
        const n = rest[0];
        if (!n) this.fail("-N needs a chain name", c0);
        validateChainName(n!, this);
        if (t.chains.has(n!.text)) this.fail(`chain ${n!.text} already exists`, n!);
        t.chains.set(n!.text, newChain(n!.text, false, null));
        this.owned.add(n!.text);
        this.deleted.delete(n!.text);
        return;
      }
      case "-X":
      case "--delete-chain": {
        const targets = rest[0] ? [rest[0]] : [...t.chains.values()].filter((c) => !c.builtin).map((c) => ({ text: c.name, column: c0.column, quoted: false }));
        for (const n of targets) {
          const c = t.chains.get(n.text);
          if (!c) this.fail(`no chain named \`${n.text}\` to delete in table ${t.name}`, n);
          if (c!.builtin) this.fail(`cannot delete the built-in chain ${n.text}`, n);
          if (c!.rules.length > 0) this.fail(`cannot delete chain ${n.text}: it still has ${c!.rules.length} rule(s) (flush it first)`, n);
          t.chains.delete(n.text);
          this.owned.delete(n.text);
          this.deleted.set(n.text, { line: this.lineNo, column: n.column, text: n.text, lineText: this.lineText });
        }
        return;
      }
      case "-F":
      case "--flush": {
        const names = rest[0] ? [rest[0].text] : [...t.chains.keys()];
        if (rest[0]) this.needChain(rest[0], c0);
        for (const n of names) {
          const c = t.chains.get(n)!;
          t.chains.set(n, newChain(n, c.builtin, c.policy, c.counters));
          this.owned.add(n);
        }
        return;
      }
      case "-P":
      case "--policy": {
        const n = rest[0];
        const p = rest[1];
        if (!n || !p) this.fail("-P needs a chain and a policy", c0);
        if (!this.isBuiltin(n!.text)) this.fail(`only built-in chains have a policy (${n!.text} is not one in table ${t.name})`, n!);
        if (p!.text !== "ACCEPT" && p!.text !== "DROP") this.fail(`invalid policy \`${p!.text}\``, p!, "ACCEPT or DROP");
        if (p!.text === "DROP" && t.name === "nat") this.fail('the "nat" table is not intended for filtering, iptables refuses a DROP policy there', p!);
        this.own(n!.text).policy = p!.text as Policy;
        return;
      }
      case "-Z":
      case "--zero":
        return;
      case "-t":
      case "--table":
        return this.fail("-t is not allowed inside a restore file (use a `*table` line)", c0);
      default:
        return this.fail(`unknown command \`${c0.text}\``, c0, "-A, -I, -D, -N, -X, -F, -P, a `:CHAIN` declaration or COMMIT");
    }
  }

  /**
   * An -A line's compiled rules, remembered for the next restore of the same table (see
   * lineCache). `notChains`: the words of the line that may name its target (see CachedLine),
   * when the caller knows them; otherwise they are found among the line's words `rest`.
   */
  remember(t: Table, chain: Chain, rules: Rule[], lineText: string, notChains: string[] | null, rest: readonly Token[] = []): void {
    if (lineCacheSize >= LINE_CACHE_MAX) {
      lineCache.clear();
      lineCacheSize = 0;
    }
    let byTable = lineCache.get(t.name);
    if (!byTable) lineCache.set(t.name, (byTable = new Map()));
    this.remembered = byTable;
    const t0 = rules[0]?.target;
    const jumpsTo = t0 && (t0.kind === "jump" || t0.kind === "goto") ? t0.chain : null;
    const entry: CachedLine = { chain: chain.name, jumpsTo, notChains: jumpsTo !== null ? [] : (notChains ?? targetCandidates(rest)), rules };
    byTable.set(lineText, entry);
    lineCacheSize++;
    this.deps?.push(entry);
  }
}

/** A non-empty word splitWords would give back as it is: no blank, carriage return or quote. */
function isBareWord(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13 || c === 34) return false;
  }
  return true;
}

/** An empty line or a `#` comment (after optional blanks), as iptables-restore skips them. */
function isBlankOrComment(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 11 || c === 12 || c === 13) continue;
    if (c > 127) {
      // Unicode blanks: what String.prototype.trim removes, as before this fast path.
      const t = line.trim();
      return t === "" || t.startsWith("#");
    }
    return c === 35;
  }
  return true;
}

function validateChainName(tok: Token, run: RestoreRun): void {
  const n = tok.text;
  // XT_EXTENSION_MAXNAMELEN is 29 including the NUL.
  if (n.length > 28) run.fail(`chain name \`${n}\` is longer than 28 characters`, tok);
  if (n.startsWith("-") || n.startsWith("!") || /\s/.test(n)) run.fail(`invalid chain name \`${n}\``, tok);
  if (n === "ACCEPT" || n === "DROP" || n === "RETURN" || n === "QUEUE") run.fail(`\`${n}\` is a target and cannot be a chain name`, tok);
}

/**
 * The checks iptables-restore/the kernel make when a table is committed. Small passes rather
 * than one function: each is taken by the optimising compiler early and on its own.
 */
function commitChecks(table: Table, deleted: Deleted, file: string): void {
  // A jump or goto is compiled only to a chain that exists (rule-parse.ts), a remembered line or
  // a shared chain only while its target still is one (CachedLine), and a chain stops existing
  // only by -X, which `deleted` records: with none deleted, every target is there.
  if (deleted.size > 0) checkJumpTargets(table, deleted, file);
  const graph = chainGraph(table);
  checkHooks(table, graph);
}

function ruleError(r: Rule, message: string, column = 1, token = ""): never {
  throw new RulesetParseError(message, { file: r.src.file, line: r.src.line, column, token, sourceLine: r.src.lineText });
}

/** 1. Every jump/goto target exists (a chain deleted with -X while still referenced). */
function checkJumpTargets(table: Table, deleted: Deleted, file: string): void {
  for (const c of table.chains.values()) {
    const rules = c.rules;
    for (let k = 0; k < rules.length; k++) {
      const t = rules[k]!.target;
      if ((t.kind === "jump" || t.kind === "goto") && !table.chains.has(t.chain)) missingTarget(rules[k]!, t.chain, deleted, file);
    }
  }
}

function missingTarget(r: Rule, chain: string, deleted: Deleted, file: string): never {
  const d = deleted.get(chain);
  if (d) {
    throw new RulesetParseError(`cannot delete chain ${chain}: it is still referenced by \`${r.text}\` (line ${r.src.line})`, {
      file,
      line: d.line,
      column: d.column,
      token: d.text,
      sourceLine: d.lineText,
    });
  }
  return ruleError(r, `chain ${chain} does not exist`);
}

/**
 * A table's chains numbered in the order a depth-first search over jump/goto edges first meets
 * them; every number again once the search is done with that chain (postorder: a chain comes
 * after every chain it jumps to); and for each chain's rules, from `start[id]` on, the number of
 * the chain each jumps to (-1: no jump) and the hooks its target is valid from.
 */
interface ChainGraph {
  ids: Map<string, number>;
  chains: Chain[];
  postorder: Int32Array;
  start: Int32Array;
  jumpsTo: Int32Array;
  validFrom: Uint8Array;
}

const ALL_HOOKS = 31;

/**
 * 2. No loops: an iterative DFS over jump/goto edges from each chain in table order; a back
 * edge is a loop. It also records what checkHooks needs, so that each chain name is looked up
 * once per edge in all (a 10,000-Service nat table has 110k chains and 440k rules).
 */
function chainGraph(table: Table): ChainGraph {
  const n = table.chains.size;
  let slots = 0;
  for (const c of table.chains.values()) slots += c.rules.length;
  const ids = new Map<string, number>();
  const chains: Chain[] = [];
  const state = new Uint8Array(n); // 1 = on the DFS path, 2 = done
  const postorder = new Int32Array(n);
  const start = new Int32Array(n);
  const jumpsTo = new Int32Array(slots);
  const validFrom = new Uint8Array(slots);
  let used = 0;
  let done = 0;
  const discover = (name: string, chain: Chain): number => {
    const id = chains.length;
    ids.set(name, id);
    chains.push(chain);
    start[id] = used;
    used += chain.rules.length;
    return id;
  };
  const stackIds: number[] = [];
  const stackPos: number[] = [];
  for (const first of table.chains.values()) {
    const firstId = ids.get(first.name) ?? discover(first.name, first);
    if (state[firstId] !== 0) continue;
    state[firstId] = 1;
    stackIds.push(firstId);
    stackPos.push(0);
    while (stackIds.length > 0) {
      const top = stackIds.length - 1;
      const id = stackIds[top]!;
      const chain = chains[id]!;
      const i = stackPos[top]!;
      if (i >= chain.rules.length) {
        state[id] = 2;
        postorder[done++] = id;
        stackIds.pop();
        stackPos.pop();
        continue;
      }
      stackPos[top] = i + 1;
      const r = chain.rules[i]!;
      const slot = start[id]! + i;
      validFrom[slot] = r.hookCheck === undefined ? ALL_HOOKS : allowedHooks(r.hookCheck);
      const t = r.target;
      if (t.kind !== "jump" && t.kind !== "goto") {
        jumpsTo[slot] = -1;
        continue;
      }
      const to = ids.get(t.chain) ?? discover(t.chain, table.chains.get(t.chain)!);
      jumpsTo[slot] = to;
      if (state[to] === 1) {
        const path = stackIds.map((s) => chains[s]!.name);
        const from = path.indexOf(t.chain);
        ruleError(r, `chain loop: ${[...path.slice(from), t.chain].join(" -> ")} (iptables-restore refuses it: "Too many levels of links")`);
      }
      if (state[to] === 0) {
        state[to] = 1;
        stackIds.push(to);
        stackPos.push(0);
      }
    }
  }
  return { ids, chains, postorder, start, jumpsTo, validFrom };
}

/** 3. Targets restricted to some hooks are reached only from those (loops are ruled out by now). */
function checkHooks(table: Table, graph: ChainGraph): void {
  const { ids, chains, postorder, start, jumpsTo, validFrom } = graph;
  // The hooks each chain is reached from: the built-in chains' own, then handed along every edge
  // in reverse postorder, where a chain comes before every chain it jumps to (no loops), so a
  // chain's mask is complete when its own rules are read.
  const mask = new Uint8Array(chains.length);
  for (let k = 0; k < HOOKS.length; k++) {
    const h = HOOKS[k]!;
    const c = table.chains.get(h);
    if (c?.builtin) mask[ids.get(h)!] = HOOK_BIT[h];
  }
  let refused = false;
  for (let p = postorder.length - 1; p >= 0; p--) {
    const id = postorder[p]!;
    const m = mask[id]!;
    if (m === 0) continue;
    const from = start[id]!;
    const to = from + chains[id]!.rules.length;
    for (let slot = from; slot < to; slot++) {
      if ((m & ~validFrom[slot]!) !== 0) refused = true;
      const next = jumpsTo[slot]!;
      if (next >= 0) mask[next] = mask[next]! | m;
    }
  }
  if (!refused) return;
  // The error names the first refused rule in table order, as iptables-restore's does.
  for (const c of table.chains.values()) {
    const m = mask[ids.get(c.name)!]!;
    if (!m) continue;
    const rules = c.rules;
    for (let k = 0; k < rules.length; k++) {
      const hc = rules[k]!.hookCheck;
      if (hc) checkHook(rules[k]!, hc, c.name, m);
    }
  }
}

function allowedHooks(hc: NonNullable<Rule["hookCheck"]>): number {
  let allowed = 0;
  for (let k = 0; k < hc.hooks.length; k++) allowed |= HOOK_BIT[hc.hooks[k]!];
  return allowed;
}

/** A hook-restricted target in a chain reached from the hooks in mask `m`. */
function checkHook(r: Rule, hc: NonNullable<Rule["hookCheck"]>, chain: string, m: number): void {
  const allowed = allowedHooks(hc);
  if ((m & ~allowed) === 0) return;
  const bad = HOOKS.filter((h) => m & HOOK_BIT[h] & ~allowed);
  ruleError(r, `the ${hc.target} target is only valid from ${hc.hooks.join("/")}, but chain ${chain} is reached from ${bad.join("/")}`, hc.column, hc.token);
}
