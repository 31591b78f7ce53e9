// iptables-restore: a save/restore text applied to a ruleset, table by table, each table
// committed at COMMIT with the checks the kernel and iptables-restore make (targets exist,
// no chain loops, targets used only from hooks that allow them, deleted chains unreferenced).
// The input ruleset is never modified: a restore that fails leaves it as it was, like the
// atomic table replace of the real thing.

import type { HookName, TableName } from "./api.js";
import { RulesetParseError } from "./errors.js";
import { type Token, splitWords } from "./lex.js";
import { parseRuleWords, type RuleParseEnv } from "./rule-parse.js";
import { BUILTIN_CHAINS, type Chain, type Policy, type Rule, type Ruleset, type SourceRef, type Table, TABLE_NAMES, emptyRuleset } from "./ruleset.js";

export interface RestoreOptions {
  /** `iptables-restore --noflush`: only the chains the text declares are flushed. */
  noflush: boolean;
  /** File name for error positions. */
  file?: string;
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
const LINE_CACHE_TEXT_MAX = 200_000;
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

function newChain(name: string, builtin: boolean, policy: Policy | null, counters = "[0:0]"): Chain {
  return { name, builtin, policy, counters, rules: [] };
}

function freshTable(name: TableName, previous: Table | undefined): Table {
  const chains = new Map<string, Chain>();
  for (const b of BUILTIN_CHAINS[name]) {
    const old = previous?.chains.get(b);
    chains.set(b, newChain(b, true, old?.policy ?? "ACCEPT", old?.counters ?? "[0:0]"));
  }
  return { name, chains };
}

export function applyRestore(ruleset: Ruleset, text: string, opts: RestoreOptions): Ruleset {
  const file = opts.file ?? "<rules>";
  const lines = text.split("\n");
  const result: Ruleset = { tables: new Map(ruleset.tables) };

  let lineNo = 0;
  let lineText = "";
  const fail = (message: string, at: Token | null, suggestion?: string): never => {
    throw new RulesetParseError(message, { file, line: lineNo, column: at ? at.column : 1, token: at ? at.text : "", sourceLine: lineText }, suggestion);
  };

  // The table being restored: its chain map is private; chains are copied before a change.
  let table: Table | null = null;
  let ruleEnv: RuleParseEnv | null = null;
  let tableLine = 0;
  let owned = new Set<string>();
  let declared = new Set<string>();
  let deleted = new Map<string, { line: number; column: number; text: string; lineText: string }>();

  const own = (name: string): Chain => {
    const c = table!.chains.get(name)!;
    if (owned.has(name)) return c;
    const copy: Chain = { name: c.name, builtin: c.builtin, policy: c.policy, counters: c.counters, rules: c.rules.slice(), index: null };
    table!.chains.set(name, copy);
    owned.add(name);
    return copy;
  };
  const needChain = (tok: Token | undefined, cmd: Token): Chain => {
    if (!tok) return fail(`${cmd.text} needs a chain name`, cmd);
    if (!table!.chains.has(tok.text)) {
      return fail(`no chain named \`${tok.text}\` in table ${table!.name}`, tok, declareHint(tok.text));
    }
    return own(tok.text);
  };
  const declareHint = (name: string) => `declare it first with \`:${name} - [0:0]\``;
  const isBuiltin = (name: string) => BUILTIN_CHAINS[table!.name].includes(name);
  const isUserChain = (name: string) => table!.chains.has(name) && !isBuiltin(name);
  const useLineCache = text.length <= LINE_CACHE_TEXT_MAX;
  const declareUserChain = (t: Table, nameTok: Token, counters: string): void => {
    const name = nameTok.text;
    validateChainName(nameTok, fail);
    if (!opts.noflush && declared.has(name)) fail(`chain ${name} is declared twice`, nameTok);
    // Declared: created, or flushed when it exists (what --noflush relies on).
    t.chains.set(name, newChain(name, false, null, counters));
    owned.add(name);
    declared.add(name);
    deleted.delete(name);
  };
  let lastHitChain: Chain | null = null;

  for (let idx = 0; idx < lines.length; idx++) {
    lineNo = idx + 1;
    // Per-line work is kept to plain character tests: a 10k-Service restore has 440k lines.
    const raw = lines[idx]!;
    lineText = raw.length > 0 && raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (isBlankOrComment(lineText)) continue;
    if (useLineCache && table && lineText.startsWith("-A ")) {
      const hit = lineCache.get(table.name)?.get(lineText);
      // A chain's rules come one after another: the chain of the previous remembered line is
      // still this restore's own copy unless a line in between was handled below.
      const sameChain: boolean = hit !== undefined && hit.chain === lastHitChain?.name;
      if (
        hit &&
        (sameChain || table.chains.has(hit.chain)) &&
        (hit.jumpsTo !== null ? isUserChain(hit.jumpsTo) : !hit.notChains.some(isUserChain))
      ) {
        const chain: Chain = sameChain ? lastHitChain! : own(hit.chain);
        lastHitChain = chain;
        const src = { file, line: lineNo, lineText };
        for (const r of hit.rules) chain.rules.push(withSource(r, src));
        continue;
      }
    }
    lastHitChain = null;
    // The usual user-chain declaration, `:NAME - [0:0]`, taken without splitting it into words
    // (a third of a kube-proxy dump's lines); anything else goes the general way below.
    if (table && lineText.charCodeAt(0) === 58 && lineText.endsWith(" - [0:0]")) {
      const name = lineText.slice(1, -8);
      if (isBareWord(name) && !isBuiltin(name)) {
        declareUserChain(table, { text: name, column: 2, quoted: false }, "[0:0]");
        continue;
      }
    }
    const split = splitWords(lineText);
    if ("error" in split) fail(split.error, { text: "\"", column: split.column, quoted: false });
    let words = split as Token[];
    const first = words[0]!;

    if (first.text.startsWith("*")) {
      if (table) fail(`COMMIT expected before a new table (table ${table.name} opened on line ${tableLine} is not committed)`, first);
      const name = first.text.slice(1);
      if (!(TABLE_NAMES as readonly string[]).includes(name)) {
        fail(name === "security" ? "the security table is not supported by svcspec" : `unknown table \`${name}\``, first, "raw, mangle, nat or filter");
      }
      if (words.length > 1) fail("unexpected words after the table name", words[1]!);
      const tname = name as TableName;
      const prev = result.tables.get(tname);
      table = opts.noflush && prev ? { name: tname, chains: new Map(prev.chains) } : freshTable(tname, prev);
      ruleEnv = null;
      tableLine = lineNo;
      owned = new Set(opts.noflush && prev ? [] : table.chains.keys());
      declared = new Set();
      deleted = new Map();
      continue;
    }
    if (first.text === "COMMIT") {
      if (!table) fail("COMMIT without a table (missing `*filter`-style line?)", first);
      if (words.length > 1) fail("unexpected words after COMMIT", words[1]!);
      commitChecks(table!, deleted, file);
      result.tables.set(table!.name, table!);
      table = null;
      continue;
    }
    if (!table) fail("no table selected: a `*nat`, `*filter`, `*mangle` or `*raw` line must come first", first);
    const t = table!;

    if (first.text.startsWith(":")) {
      const name = first.text.slice(1);
      const nameTok: Token = { text: name, column: first.column + 1, quoted: false };
      if (!name) fail("chain declaration without a name", first);
      const policyTok = words[1];
      if (!policyTok) fail(`chain declaration \`${first.text}\` needs a policy (\`-\` for a user chain)`, first);
      const counters = words[2]?.text ?? "[0:0]";
      if (words[2] && !/^\[[0-9]+:[0-9]+\]$/.test(counters)) fail(`invalid counters \`${counters}\` (expected [packets:bytes])`, words[2]);
      if (words.length > 3) fail("unexpected words after the chain declaration", words[3]!);
      if (isBuiltin(name)) {
        const p = policyTok!.text;
        if (p !== "ACCEPT" && p !== "DROP" && p !== "-") fail(`invalid policy \`${p}\` for built-in chain ${name}`, policyTok!, "ACCEPT or DROP");
        if (p === "DROP" && t.name === "nat") fail('the "nat" table is not intended for filtering, iptables refuses a DROP policy there', policyTok!);
        const c = own(name);
        if (p !== "-") c.policy = p as Policy;
        c.counters = counters;
        // A built-in chain is not flushed by its declaration in --noflush mode (iptables-restore
        // only sets the policy); without --noflush the whole table was flushed at `*table`.
        continue;
      }
      if (policyTok!.text !== "-") fail(`a user-defined chain has no policy: \`${policyTok!.text}\` must be \`-\``, policyTok!);
      declareUserChain(t, nameTok, counters);
      continue;
    }

    // Commands. A leading `[pkts:bytes]` (iptables-save -c) is accounting only.
    if (first.text.charCodeAt(0) === 91 && /^\[[0-9]+:[0-9]+\]$/.test(first.text)) words = words.slice(1);
    const cmd = words[0];
    if (!cmd) fail("counters without a rule", first);
    const c0 = cmd!;
    const rest = words.slice(1);
    // One environment per table, pointed at each line's chain and source (not a fresh set of
    // closures per line).
    if (ruleEnv === null || ruleEnv.table !== t.name) {
      ruleEnv = {
        table: t.name,
        chain: "",
        chainExists: (n) => t.chains.has(n),
        chainName: (n) => t.chains.get(n)?.name,
        chainNames: () => t.chains.keys(),
        src: { file, line: lineNo, lineText },
        fail: (m, at, s) => fail(m, at, s),
      };
    }
    const env = ruleEnv;
    const parseRule = (chainName: string, ws: Token[]): Rule[] => {
      env.chain = chainName;
      env.src = { file, line: lineNo, lineText };
      return parseRuleWords(ws, env);
    };
    switch (c0.text) {
      case "-A":
      case "--append": {
        const chain = needChain(rest[0], c0);
        const rules = parseRule(chain.name, rest.slice(1));
        chain.rules.push(...rules);
        if (useLineCache && c0.text === "-A" && words === split && lineText.startsWith("-A ")) {
          if (lineCacheSize >= LINE_CACHE_MAX) {
            lineCache.clear();
            lineCacheSize = 0;
          }
          let byTable = lineCache.get(t.name);
          if (!byTable) lineCache.set(t.name, (byTable = new Map()));
          const t0 = rules[0]?.target;
          const jumpsTo = t0 && (t0.kind === "jump" || t0.kind === "goto") ? t0.chain : null;
          byTable.set(lineText, { chain: chain.name, jumpsTo, notChains: jumpsTo === null ? targetCandidates(rest) : [], rules });
          lineCacheSize++;
        }
        continue;
      }
      case "-I":
      case "--insert": {
        const chain = needChain(rest[0], c0);
        let ws = rest.slice(1);
        let pos = 1;
        if (ws[0] && /^[0-9]+$/.test(ws[0].text)) {
          pos = Number(ws[0].text);
          if (pos < 1 || pos > chain.rules.length + 1) fail(`rule number ${pos} is out of range (chain ${chain.name} has ${chain.rules.length} rules)`, ws[0]);
          ws = ws.slice(1);
        }
        chain.rules.splice(pos - 1, 0, ...parseRule(chain.name, ws));
        continue;
      }
      case "-D":
      case "--delete": {
        const chain = needChain(rest[0], c0);
        const ws = rest.slice(1);
        if (ws.length === 1 && /^[0-9]+$/.test(ws[0]!.text)) {
          const n = Number(ws[0]!.text);
          if (n < 1 || n > chain.rules.length) fail(`rule number ${n} does not exist in chain ${chain.name}`, ws[0]!);
          chain.rules.splice(n - 1, 1);
          continue;
        }
        for (const r of parseRule(chain.name, ws)) {
          const k = chain.rules.findIndex((x) => x.text === r.text);
          if (k < 0) fail(`no rule like this in chain ${chain.name} to delete`, c0);
          chain.rules.splice(k, 1);
        }
        continue;
      }
      case "-N":
      case "--new-chain": {
        const n = rest[0];
        if (!n) fail("-N needs a chain name", c0);
        validateChainName(n!, fail);
        if (t.chains.has(n!.text)) fail(`chain ${n!.text} already exists`, n!);
        t.chains.set(n!.text, newChain(n!.text, false, null));
        owned.add(n!.text);
        deleted.delete(n!.text);
        continue;
      }
      case "-X":
      case "--delete-chain": {
        const targets = rest[0] ? [rest[0]] : [...t.chains.values()].filter((c) => !c.builtin).map((c) => ({ text: c.name, column: c0.column, quoted: false }));
        for (const n of targets) {
          const c = t.chains.get(n.text);
          if (!c) fail(`no chain named \`${n.text}\` to delete in table ${t.name}`, n);
          if (c!.builtin) fail(`cannot delete the built-in chain ${n.text}`, n);
          if (c!.rules.length > 0) fail(`cannot delete chain ${n.text}: it still has ${c!.rules.length} rule(s) (flush it first)`, n);
          t.chains.delete(n.text);
          owned.delete(n.text);
          deleted.set(n.text, { line: lineNo, column: n.column, text: n.text, lineText });
        }
        continue;
      }
      case "-F":
      case "--flush": {
        const names = rest[0] ? [rest[0].text] : [...t.chains.keys()];
        if (rest[0]) needChain(rest[0], c0);
        for (const n of names) {
          const c = t.chains.get(n)!;
          t.chains.set(n, newChain(n, c.builtin, c.policy, c.counters));
          owned.add(n);
        }
        continue;
      }
      case "-P":
      case "--policy": {
        const n = rest[0];
        const p = rest[1];
        if (!n || !p) fail("-P needs a chain and a policy", c0);
        if (!isBuiltin(n!.text)) fail(`only built-in chains have a policy (${n!.text} is not one in table ${t.name})`, n!);
        if (p!.text !== "ACCEPT" && p!.text !== "DROP") fail(`invalid policy \`${p!.text}\``, p!, "ACCEPT or DROP");
        if (p!.text === "DROP" && t.name === "nat") fail('the "nat" table is not intended for filtering, iptables refuses a DROP policy there', p!);
        own(n!.text).policy = p!.text as Policy;
        continue;
      }
      case "-Z":
      case "--zero":
        continue;
      case "-t":
      case "--table":
        return fail("-t is not allowed inside a restore file (use a `*table` line)", c0);
      default:
        return fail(`unknown command \`${c0.text}\``, c0, "-A, -I, -D, -N, -X, -F, -P, a `:CHAIN` declaration or COMMIT");
    }
  }
  if (table) {
    lineNo = lines.length;
    lineText = lines[lines.length - 1] ?? "";
    fail(`COMMIT expected: table ${table.name} (opened on line ${tableLine}) is never committed`, null, "add a COMMIT line");
  }
  return result;
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

function validateChainName(tok: Token, fail: (m: string, at: Token | null, s?: string) => never): void {
  const n = tok.text;
  // XT_EXTENSION_MAXNAMELEN is 29 including the NUL.
  if (n.length > 28) fail(`chain name \`${n}\` is longer than 28 characters`, tok);
  if (n.startsWith("-") || n.startsWith("!") || /\s/.test(n)) fail(`invalid chain name \`${n}\``, tok);
  if (["ACCEPT", "DROP", "RETURN", "QUEUE"].includes(n)) fail(`\`${n}\` is a target and cannot be a chain name`, tok);
}

/** The checks iptables-restore/the kernel make when a table is committed. */
function commitChecks(table: Table, deleted: Map<string, { line: number; column: number; text: string; lineText: string }>, file: string): void {
  const ruleError = (r: Rule, message: string, column = 1, token = ""): never => {
    throw new RulesetParseError(message, { file: r.src.file, line: r.src.line, column, token, sourceLine: r.src.lineText });
  };
  // 1. Every jump/goto target exists (a chain deleted with -X while still referenced).
  for (const c of table.chains.values()) {
    for (const r of c.rules) {
      const t = r.target;
      if ((t.kind === "jump" || t.kind === "goto") && !table.chains.has(t.chain)) {
        const d = deleted.get(t.chain);
        if (d) {
          throw new RulesetParseError(`cannot delete chain ${t.chain}: it is still referenced by \`${r.text}\` (line ${r.src.line})`, {
            file,
            line: d.line,
            column: d.column,
            token: d.text,
            sourceLine: d.lineText,
          });
        }
        ruleError(r, `chain ${t.chain} does not exist`);
      }
    }
  }
  // 2. Loops, and 3. which hooks reach each chain (for targets restricted to some hooks).
  const mask = new Map<string, number>();
  for (const h of HOOKS) if (table.chains.get(h)?.builtin) mask.set(h, HOOK_BIT[h]);
  const state = new Map<string, 1 | 2>(); // 1 = on the DFS path, 2 = done
  for (const start of table.chains.keys()) {
    if (state.has(start)) continue;
    // Iterative DFS over jump/goto edges; a back edge is a loop.
    const stack: Array<{ chain: Chain; i: number }> = [{ chain: table.chains.get(start)!, i: 0 }];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.chain.rules.length) {
        state.set(top.chain.name, 2);
        stack.pop();
        continue;
      }
      const r = top.chain.rules[top.i++]!;
      const t = r.target;
      if (t.kind !== "jump" && t.kind !== "goto") continue;
      const s = state.get(t.chain);
      if (s === 1) {
        const path = stack.map((f) => f.chain.name);
        const from = path.indexOf(t.chain);
        ruleError(r, `chain loop: ${[...path.slice(from), t.chain].join(" -> ")} (iptables-restore refuses it: "Too many levels of links")`);
      }
      if (s === undefined) {
        state.set(t.chain, 1);
        stack.push({ chain: table.chains.get(t.chain)!, i: 0 });
      }
    }
  }
  // Hook masks: propagate from built-in chains along edges until nothing changes (acyclic now).
  const work = [...mask.keys()];
  while (work.length) {
    const name = work.pop()!;
    const m = mask.get(name)!;
    for (const r of table.chains.get(name)!.rules) {
      const t = r.target;
      if (t.kind !== "jump" && t.kind !== "goto") continue;
      const old = mask.get(t.chain) ?? 0;
      if ((old | m) !== old) {
        mask.set(t.chain, old | m);
        work.push(t.chain);
      }
    }
  }
  for (const c of table.chains.values()) {
    const m = mask.get(c.name) ?? 0;
    if (!m) continue;
    for (const r of c.rules) {
      const hc = r.hookCheck;
      if (!hc) continue;
      let allowed = 0;
      for (const h of hc.hooks) allowed |= HOOK_BIT[h];
      const bad = HOOKS.filter((h) => m & HOOK_BIT[h] & ~allowed);
      if (bad.length)
        ruleError(
          r,
          `the ${hc.target} target is only valid from ${hc.hooks.join("/")}, but chain ${c.name} is reached from ${bad.join("/")}`,
          hc.column,
          hc.token,
        );
    }
  }
}
