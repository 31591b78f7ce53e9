// The .svcspec parser: a chevrotain EmbeddedActionsParser that builds the typed AST of ast.ts
// directly. It is created once at module load and reused for every file.
//
// Error recovery works line by line. Every statement is followed by a Newline token and no
// statement rule consumes its own, so chevrotain's re-sync (skip to a token in the follow set)
// lands on the end of the bad line. Lines that start with a word no statement starts with are
// taken by an `unknownLine` alternative that says so (with a "did you mean") instead of failing
// the enclosing block. A block missing its `}` ends, with an error at its `{`, where the next
// top-level statement begins. A statement with any error is left out of the AST.

import {
  EmbeddedActionsParser,
  EOF,
  getLookaheadPaths,
  LLkLookaheadStrategy,
  tokenLabel,
  type ILookaheadStrategy,
  type IOrAlt,
  type IParserErrorMessageProvider,
  type LookaheadProductionType,
  type IToken,
  type OrMethodOpts,
  type Rule,
  type TokenType,
} from "chevrotain";
import type * as A from "./ast.js";
import type { Diagnostic, Position } from "./diagnostic.js";
import * as L from "./lexer.js";
import { checkCidr, checkIpv4 } from "./literals.js";
import { suggest } from "./suggest.js";
import { decodeGrammar } from "./gast-table.js";
import { alternationLookahead, decisionKey, decodeLookahead, optionalLookahead, type Paths } from "./lookahead.js";
import { RECORDED_GRAMMAR, RECORDED_LOOKAHEAD } from "./recorded-grammar.js";

const KW = L.KW;
type Kw = L.KeywordWord;

export type BlockKind = "top" | "cluster" | "service" | "scenario";

const TOP_STARTERS: Kw[] = ["spec", "cluster", "service", "apply", "scenario"];
const CIDR_SETTINGS = ["pod-cidr", "service-cidr", "lb-pool", "node-network"] as const;
const SWITCH_SETTINGS = ["masquerade-all", "masquerade", "br-netfilter", "cloud-provider", "localhost-nodeports", "kube-dns"] as const;
const CLUSTER_STARTERS: Kw[] = [
  ...CIDR_SETTINGS, ...SWITCH_SETTINGS, "node-port-range", "proxy-mode", "hairpin-mode", "cluster-domain",
  "nodeport-addresses", "router", "node", "pod", "deployment", "client", "route", "namespace",
];
const SERVICE_FIELDS: Kw[] = [
  "namespace", "selector", "port", "cluster-ip", "external-traffic-policy", "internal-traffic-policy", "external-ips",
  "external-name", "load-balancer-ip", "load-balancer-source-ranges", "health-check-node-port", "session-affinity",
  "publish-not-ready-addresses", "type",
];
const SCENARIO_STARTERS: Kw[] = ["send", "trace", "resolve", "nslookup", "show", "set", "delete", "apply", "stop", "fail", "expect", "always", "sometimes", "never"];
const STARTERS: Record<BlockKind, Kw[]> = {
  top: TOP_STARTERS,
  cluster: CLUSTER_STARTERS,
  service: SERVICE_FIELDS,
  scenario: SCENARIO_STARTERS,
};
/** What ends a block whose `}` is missing: the start of the next top-level statement. */
const BLOCK_BREAKERS: Record<BlockKind, Set<TokenType>> = {
  top: new Set(),
  cluster: new Set([EOF, ...TOP_STARTERS.map((k) => KW[k])]),
  service: new Set([EOF, ...TOP_STARTERS.map((k) => KW[k])]),
  scenario: new Set([EOF, ...TOP_STARTERS.filter((k) => k !== "apply").map((k) => KW[k])]),
};
const STARTER_TYPES: Record<BlockKind, Set<TokenType>> = {
  top: new Set(TOP_STARTERS.map((k) => KW[k])),
  cluster: new Set(CLUSTER_STARTERS.map((k) => KW[k])),
  service: new Set(SERVICE_FIELDS.map((k) => KW[k])),
  scenario: new Set(SCENARIO_STARTERS.map((k) => KW[k])),
};
const BLOCK_WORDS: Record<BlockKind, string> = {
  top: "at the top level",
  cluster: "in a cluster block",
  service: "in a service block",
  scenario: "in a scenario",
};

const PACKET_CHECKS = new Set(["connected", "dropped", "rejected", "refused", "unreachable", "masqueraded", "reply-from", "delivered-to", "source-seen", "via"]);
const DNS_CHECKS = new Set(["answer", "cname", "nxdomain", "fails"]);
const SHOW_CHECKS = new Set(["contains", "lines", "text"]);
const CHECK_STARTS = new Set<TokenType>(
  [...PACKET_CHECKS, ...DNS_CHECKS, "contains", "lines", "always", "sometimes", "never"].map((k) => KW[k as Kw]),
);

/** What starts an expectation line below a probe. */
const EXPECT_LINE_STARTS = new Set<TokenType>([KW.expect, KW.always, KW.sometimes, KW.never]);

/** How a rule's value tokens are called in messages ("expected a port number"). */
const RULE_LABELS: Record<string, string> = {
  portNumber: "a port number",
  count: "a number",
  ip: "an IPv4 address",
  cidr: "a CIDR (address/prefix, e.g. `10.0.0.0/16`)",
  name: "a name",
  protocol: "`tcp` or `udp`",
  switchValue: "`on` or `off`",
  serviceType: "a Service type (`ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`)",
  check: "an expectation (`connected`, `dropped`, `reply-from`, `answer`, `contains`, ...)",
  clusterSetting: "a cluster setting",
  serviceField: "a Service field",
  showProbe: "what to show (`iptables`, `endpoints`, `services`, `routes`, `conntrack`, `hairpin`, `bridge`, `pods`)",
  target: "a target (a name, an IPv4 address, a DNS name or `lb:SERVICE`)",
  hostRef: "a host name or an IPv4 address",
  labelValue: "a label value",
  expectClause: "an expectation (`connected`, `dropped`, `reply-from`, `answer`, `contains`, ...)",
  labelList: "a label `key=value`",
  listenList: "a listen port (`tcp/80`, `udp/53`, `http=tcp/8080`)",
  nameList: "a name",
  ipList: "an IPv4 address",
  cidrList: "a CIDR (address/prefix, e.g. `10.0.0.0/16`)",
};

/** State the error-message provider reads while the parser runs. */
interface ParseState {
  blocks: { kind: BlockKind; open: IToken }[];
  suggestions: Map<IToken, string>;
}

function showToken(t: IToken): string {
  if (t.tokenType === EOF) return "end of file";
  if (t.tokenType === L.Newline) return "end of line";
  if (t.tokenType === L.Heredoc) return "a heredoc";
  return "`" + t.image + "`";
}

function listLabels(labels: string[]): string {
  if (labels.length <= 1) return labels[0] ?? "something else";
  return labels.slice(0, -1).join(", ") + " or " + labels[labels.length - 1];
}

function after(prev: IToken | undefined): string {
  if (!prev || prev.tokenType === L.Newline || prev.image === undefined || Number.isNaN(prev.startOffset)) return "";
  if (prev.tokenType === L.Heredoc) return " after the heredoc";
  return " after `" + prev.image + "`";
}

function makeErrorProvider(state: ParseState): IParserErrorMessageProvider {
  const suggestFrom = (actual: IToken, types: TokenType[]): void => {
    if (actual.tokenType === EOF || actual.tokenType === L.Newline) return;
    const words = types.map((t) => L.keywordOf(t)).filter((w): w is string => w !== undefined);
    const s = suggest(actual.image, words);
    if (s) state.suggestions.set(actual, s);
  };
  return {
    buildMismatchTokenMessage({ expected, actual, previous, ruleName }) {
      suggestFrom(actual, [expected]);
      const label = expected === L.NumberLiteral && RULE_LABELS[ruleName] ? RULE_LABELS[ruleName]! : (RULE_LABELS[ruleName] && [L.IpAddress, L.Cidr].includes(expected) ? RULE_LABELS[ruleName]! : tokenLabel(expected));
      if (expected === L.RBrace) {
        const block = state.blocks[state.blocks.length - 1];
        if (block) return `expected \`}\` to close the ${block.kind} block opened on line ${block.open.startLine}, got ${showToken(actual)}`;
      }
      if (expected === L.Newline) return `expected the end of the line${after(previous)}, got ${showToken(actual)} (one statement per line)`;
      if (expected === L.Cidr && actual.tokenType === L.IpAddress) {
        return `expected ${label}${after(previous)}, got the address \`${actual.image}\` without a prefix length`;
      }
      return `expected ${label}${after(previous)}, got ${showToken(actual)}`;
    },
    buildNotAllInputParsedMessage({ firstRedundant }) {
      return `unexpected ${showToken(firstRedundant)}`;
    },
    buildNoViableAltMessage({ expectedPathsPerAlt, actual, previous, ruleName }) {
      const firsts: TokenType[] = [];
      for (const alt of expectedPathsPerAlt) for (const path of alt) if (path[0] && !firsts.includes(path[0])) firsts.push(path[0]);
      const tok = actual[0]!;
      suggestFrom(tok, firsts);
      // A short choice of keywords is spelt out; a long one is named by its rule.
      const allKeywords = firsts.every((t) => L.keywordOf(t) !== undefined);
      const label = (allKeywords && firsts.length <= 6) || !RULE_LABELS[ruleName] ? listLabels(firsts.map((t) => tokenLabel(t))) : RULE_LABELS[ruleName]!;
      return `expected ${label}${after(previous)}, got ${showToken(tok)}`;
    },
    buildEarlyExitMessage({ expectedIterationPaths, actual, previous, ruleName }) {
      const firsts = [...new Set(expectedIterationPaths.map((p) => p[0]).filter((t): t is TokenType => !!t))];
      const tok = actual[0]!;
      suggestFrom(tok, firsts);
      const label = RULE_LABELS[ruleName] ?? listLabels(firsts.map((t) => tokenLabel(t)));
      return `expected ${label}${after(previous)}, got ${showToken(tok)}`;
    },
  };
}

const dedent = (body: string): string => {
  const lines = body.split("\n");
  let indent: string | null = null;
  for (const l of lines) {
    if (l.trim() === "") continue;
    const lead = /^[ \t]*/.exec(l)![0];
    if (indent === null || !lead.startsWith(indent)) {
      // Common prefix of the two indentations.
      let i = 0;
      const cur: string = indent ?? lead;
      while (i < cur.length && i < lead.length && cur[i] === lead[i]) i++;
      indent = indent === null ? lead : cur.slice(0, i);
    }
  }
  if (!indent) return body;
  const n = indent.length;
  return lines.map((l) => (l.startsWith(indent!) ? l.slice(n) : l.trimStart())).join("\n");
};

/**
 * chevrotain's LL(k) lookahead, each decision's function computed when the parser first takes
 * that decision instead of for the whole grammar at construction: same functions, same parses,
 * but a small spec pays only for the statements it uses (computing them all was ~20-35 ms of a
 * run's start-up, bench/ cold_start_ratio). chevrotain calls them with the parser as `this`.
 * The functions are built from the decision's paths in the recorded table when it has them
 * (lookahead.ts), else from the paths chevrotain computes.
 */
type AltLookahead = ReturnType<ILookaheadStrategy["buildLookaheadForAlternation"]>;
type OptLookahead = ReturnType<ILookaheadStrategy["buildLookaheadForOptional"]>;
type AltOptions = Parameters<ILookaheadStrategy["buildLookaheadForAlternation"]>[0];
type OptOptions = Parameters<ILookaheadStrategy["buildLookaheadForOptional"]>[0];

/** A lookahead decision the parser asked for: what the table is made from (and tested on). */
export type Decision =
  | { key: string; kind: "alternation"; options: AltOptions; built(): AltLookahead }
  | { key: string; kind: "optional"; options: OptOptions; built(): OptLookahead };

class OnDemandLookahead extends LLkLookaheadStrategy {
  /** Every decision, in the order chevrotain asked for them. */
  readonly decisions: Decision[] = [];

  /** The recorded paths by decision; null: compute them (the grammar is not the table's). */
  table: Map<string, Paths[]> | null;

  constructor(maxLookahead: number, table: Map<string, Paths[]> | null) {
    super({ maxLookahead });
    this.table = table;
  }

  /** A decision's paths: from the table, or computed (one list of paths per alternative). */
  private paths(key: string, occurrence: number, rule: Rule, prodType: LookaheadProductionType, maxLookahead: number): Paths[] {
    const known = this.table?.get(key);
    if (known !== undefined) return known;
    const computed = getLookaheadPaths({ occurrence, rule, prodType, maxLookahead });
    // An optional production's second list is what may follow it, which its function ignores.
    return prodType === "Alternation" ? computed : [computed[0]!];
  }

  override buildLookaheadForAlternation(options: AltOptions): AltLookahead {
    const key = decisionKey(options.rule.name, "Alternation", options.prodOccurrence, options.maxLookahead);
    let built: AltLookahead | undefined;
    const build = (): AltLookahead =>
      (built ??= options.dynamicTokensEnabled
        ? super.buildLookaheadForAlternation(options)
        : (alternationLookahead(this.paths(key, options.prodOccurrence, options.rule, "Alternation", options.maxLookahead), options.hasPredicates) as AltLookahead));
    this.decisions.push({ key, kind: "alternation", options, built: build });
    let replaced = false;
    const onDemand = function (this: unknown, orAlts: Parameters<AltLookahead>[0]) {
      const f = build();
      if (!replaced) {
        replaced = true;
        replaceLookahead(this, onDemand, f);
      }
      return f.call(this, orAlts);
    };
    return onDemand;
  }

  override buildLookaheadForOptional(options: OptOptions): OptLookahead {
    const key = decisionKey(options.rule.name, options.prodType, options.prodOccurrence, options.maxLookahead);
    let built: OptLookahead | undefined;
    const build = (): OptLookahead =>
      (built ??= options.dynamicTokensEnabled
        ? super.buildLookaheadForOptional(options)
        : (optionalLookahead(this.paths(key, options.prodOccurrence, options.rule, options.prodType, options.maxLookahead)[0]!) as OptLookahead));
    this.decisions.push({ key, kind: "optional", options, built: build });
    // A repetition's loop keeps the function it read from the cache for all its iterations, so
    // the stand-in is called again after it was replaced: it then goes straight to the built one
    // (looking for itself in the cache on each such call was ≈ 17 ms of a run's first file).
    let replaced = false;
    const onDemand = function (this: unknown) {
      const f = build();
      if (!replaced) {
        replaced = true;
        replaceLookahead(this, onDemand, f);
      }
      return f.call(this);
    };
    return onDemand;
  }
}

/**
 * Puts a decision's built lookahead function in the parser's cache (a field chevrotain does not
 * declare) in place of its on-demand stand-in: later decisions call it directly, not through
 * two more calls each.
 */
function replaceLookahead(parser: unknown, standIn: unknown, built: unknown): void {
  const cache = (parser as { lookAheadFuncsCache?: Map<unknown, unknown> }).lookAheadFuncsCache;
  if (!(cache instanceof Map)) return;
  const known = lookaheadKeys.get(standIn as object);
  if (known !== undefined && cache.get(known) === standIn) {
    cache.set(known, built);
    return;
  }
  for (const [key, f] of cache) {
    if (f === standIn) {
      cache.set(key, built);
      return;
    }
  }
}

/** Each lookahead function's key in chevrotain's cache, as the parser stored it (setLaFuncCache). */
const lookaheadKeys = new WeakMap<object, unknown>();

/** The DSL methods chevrotain's enableRecording replaces on the parser, with suffixes "" and 1-9. */
const RECORDED_DSL = ["CONSUME", "SUBRULE", "OPTION", "OR", "MANY", "MANY_SEP", "AT_LEAST_ONE", "AT_LEAST_ONE_SEP"] as const;
/** ... and those it replaces once (chevrotain 11's gast_recorder enableRecording/disableRecording). */
const RECORDED_METHODS = ["consume", "subrule", "option", "or", "many", "atLeastOne", "ACTION", "BACKTRACK", "LA"] as const;

/** chevrotain's re-sync follow sets of a parser (a field it does not declare). */
const followSetsOf = (p: EmbeddedActionsParser): Record<string, TokenType[]> => (p as unknown as { resyncFollows: Record<string, TokenType[]> }).resyncFollows;

/** Shared by the one parser instance and its error-message provider. */
const parseState: ParseState = { blocks: [], suggestions: new Map() };

class SvcspecParser extends EmbeddedActionsParser {
  file = "";
  semantic: Diagnostic[] = [];
  readonly state: ParseState = parseState;

  /**
   * The grammar's productions read from recorded-grammar.ts (see gast-table.ts), which
   * performSelfAnalysis then takes instead of recording each rule; null: record them.
   */
  private tableRules: Map<string, Rule> | null = null;

  /**
   * followsNow: compute the re-sync follow sets in performSelfAnalysis (see below).
   * record: record the grammar from the rules, as chevrotain does, instead of reading the table.
   */
  constructor(followsNow = false, record = false) {
    super(L.allTokens, {
      recoveryEnabled: true,
      maxLookahead: 3,
      lookaheadStrategy: new OnDemandLookahead(3, record ? null : decodeLookahead(RECORDED_LOOKAHEAD, L.allTokens)),
      errorMessageProvider: makeErrorProvider(parseState),
      // The grammar checks (ambiguities, left recursion ...) depend only on this file, and the
      // test suite runs them on every change; a user's `svcspec run` would pay ~30 ms of
      // start-up for them (bench/ cold_start_ratio).
      skipValidations: process.env.VITEST === undefined,
    });
    // The recording's stand-ins then overwrite properties the parser already has, instead of
    // adding ~90 to an object chevrotain has made a prototype (see disableRecording).
    this.ownDslMethods();
    if (!record) {
      // The table holds exactly these rules, in this order, or it is not used at all.
      const rules = decodeGrammar(RECORDED_GRAMMAR, L.allTokens);
      const names = (this as unknown as { definedRulesNames: string[] }).definedRulesNames;
      let i = 0;
      let same = names.length === rules.size;
      for (const n of rules.keys()) if (names[i++] !== n) same = false;
      if (same) this.tableRules = rules;
      // The recorded lookahead paths belong to the recorded grammar (functions are built later, when first used).
      else (this as unknown as { lookaheadStrategy: OnDemandLookahead }).lookaheadStrategy.table = null;
    }
    if (followsNow) {
      this.performSelfAnalysis();
      return;
    }
    // The re-sync follow sets (what may come after each rule call) are read only to recover from
    // a syntax error, and performSelfAnalysis computes them only with recovery on (~10 ms of
    // every run's start-up). So: analysed with recovery off, then on; the sets come, on the first
    // error, from a parser that computed them (the same grammar, so the same sets).
    const recovery = this as unknown as { recoveryEnabled: boolean };
    recovery.recoveryEnabled = false;
    this.performSelfAnalysis();
    recovery.recoveryEnabled = true;
    let follows: Record<string, TokenType[]> | undefined;
    Object.defineProperty(this, "resyncFollows", { get: () => (follows ??= followSetsOf(new SvcspecParser(true))) });
  }

  /**
   * The end of chevrotain's grammar recording. Recording puts stand-ins for the DSL methods
   * (CONSUME, OR2, MANY_SEP3, ACTION ...) on the parser itself, and chevrotain then deletes
   * them so that the prototype's real methods are found again; those ~90 deletes, on an object
   * chevrotain has made a prototype (toFastProperties), cost 7-16 ms of every run's start-up.
   * Here each stand-in is overwritten with the prototype's own method instead: the same
   * function is found and called with the same receiver, for well under a millisecond.
   */
  disableRecording(): void {
    (this as unknown as { RECORDING_PHASE: boolean }).RECORDING_PHASE = false;
    this.ownDslMethods();
  }

  /** A rule's recorded production: from the table when there is one (see tableRules). */
  topLevelRuleRecord(name: string, impl: (...args: unknown[]) => unknown): Rule {
    const fromTable = this.tableRules?.get(name);
    if (fromTable !== undefined) return fromTable;
    const record = (EmbeddedActionsParser.prototype as unknown as { topLevelRuleRecord(n: string, f: unknown): Rule }).topLevelRuleRecord;
    return record.call(this, name, impl);
  }

  /** chevrotain's store of a decision's lookahead function, noting its key for replaceLookahead. */
  setLaFuncCache(key: unknown, value: unknown): void {
    if (typeof value === "function") lookaheadKeys.set(value, key);
    (this as unknown as { lookAheadFuncsCache: Map<unknown, unknown> }).lookAheadFuncsCache.set(key, value);
  }

  /** The prototype's DSL methods that recording replaces, as the parser's own properties. */
  ownDslMethods(): void {
    const self = this as unknown as Record<string, unknown>;
    const proto = Object.getPrototypeOf(this) as Record<string, unknown>;
    for (let i = 0; i < 10; i++) {
      const idx = i > 0 ? i : "";
      for (const dsl of RECORDED_DSL) self[`${dsl}${idx}`] = proto[`${dsl}${idx}`];
    }
    for (const name of RECORDED_METHODS) self[name] = proto[name];
  }

  // ---- helpers (not grammar) ----------------------------------------------------------------

  /**
   * After error recovery a sub-rule yields undefined, so an action building a node from it may
   * throw. Such a statement is dropped anyway (it has an error), so the throw is swallowed — but
   * only then: with no error on record, a throw is a bug and must surface.
   */
  override ACTION<T>(impl: () => T): T {
    try {
      return impl.call(this);
    } catch (err) {
      if (this.syntaxErrorCount() + this.semantic.length > 0) return undefined as T;
      throw err;
    }
  }

  /**
   * Whether chevrotain is recording the grammar (rule bodies run with placeholder tokens and
   * sub-rule results): when ACTION skips its body. The busiest rules test it instead of passing a
   * closure to ACTION where their action cannot throw for any token or result (then ACTION's
   * try/catch never matters): ACTION's closures and calls were ≈ 7 % of a parse.
   */
  get recording(): boolean {
    return (this as unknown as { RECORDING_PHASE: boolean }).RECORDING_PHASE;
  }

  pos(t: IToken): Position {
    return { file: this.file, line: t.startLine!, column: t.startColumn!, endLine: t.endLine!, endColumn: t.endColumn! };
  }
  span(a: Position, b: Position | undefined): Position {
    if (!b || Number.isNaN(b.endLine)) return a;
    return { file: this.file, line: a.line, column: a.column, endLine: b.endLine, endColumn: b.endColumn };
  }
  /**
   * How many syntax errors chevrotain has recorded. Its `errors` getter returns a deep copy of the
   * list (lodash clone), and mark/clean ask for the count around every statement: the list itself
   * is read instead.
   */
  syntaxErrorCount(): number {
    return (this as unknown as { _errors: unknown[] })._errors.length;
  }
  mark(): number {
    return this.syntaxErrorCount() + this.semantic.length;
  }
  clean(mark: number): boolean {
    return this.syntaxErrorCount() + this.semantic.length === mark;
  }
  recovered(t: IToken): boolean {
    return (t as { isInsertedInRecovery?: boolean }).isInsertedInRecovery === true || Number.isNaN(t.startOffset);
  }
  report(pos: Position, message: string, extra: Partial<Diagnostic> = {}): void {
    this.semantic.push({ severity: "error", code: "parse", message, pos, ...extra });
  }
  nameOf(t: IToken): A.Name {
    return { text: t.image, pos: this.pos(t) };
  }
  heredocOf(t: IToken): A.Heredoc {
    const p = t.payload as L.HeredocPayload;
    const open = this.pos(t);
    const tagPos: Position = { file: this.file, line: open.line, column: open.column + 2, endLine: open.line, endColumn: open.column + 1 + p.tag.length };
    if (!p.terminated) {
      this.report({ ...open, endLine: open.line, endColumn: tagPos.endColumn }, `the heredoc \`<<${p.tag}\` is never closed: end it with a line holding only \`${p.tag}\``);
    }
    return { tag: { text: p.tag, pos: tagPos }, body: p.body, dedented: dedent(p.body), bodyLine: open.line + 1, pos: open };
  }
  stringOf(t: IToken): A.StringLit {
    const raw = t.image.endsWith('"') && t.image.length >= 2 ? t.image.slice(1, -1) : t.image.slice(1);
    // Most strings have no escapes: skip the replace (a regular-expression pass per string).
    return { value: raw.includes("\\") ? raw.replace(/\\(.)/g, "$1") : raw, pos: this.pos(t) };
  }
  portOf(t: IToken, what: string): A.NumberLit {
    const value = Number(t.image);
    const pos = this.pos(t);
    if (!this.recovered(t) && (value < 1 || value > 65535)) this.report(pos, `${what} ${t.image} is out of range: ports are 1-65535`);
    return { value, pos };
  }
  checkExpectations(probe: string, allowed: Set<string>, expects: A.Expectation[]): void {
    for (const e of expects) {
      if (!allowed.has(e.check.kind)) {
        const list = [...allowed].filter((k) => k !== "text").map((k) => "`" + k + "`").join(", ");
        const name = e.check.kind === "text" ? "a text block" : "`" + e.check.kind + "`";
        this.report(e.check.pos, `${name} is not an expectation of \`${probe}\`; \`${probe}\` takes ${list}${allowed.has("text") ? " or a text block" : ""}`);
      }
    }
  }

  /**
   * Where to resume after an error: the end of the line (or, for a block header, its `{`).
   * chevrotain's default resumes at the first token in any follow set on the rule stack, and
   * since an unknown line may start with any token, that would be the very next token, deep in
   * the broken line. Every statement is followed by a Newline, so resuming there is always
   * possible and loses nothing but the broken line.
   */
  findReSyncTokenType(): TokenType {
    const follows = (this as unknown as { flattenFollowSet(): TokenType[] }).flattenFollowSet();
    const headerOnStack = follows.includes(L.LBrace);
    for (let k = 1; ; k++) {
      const t = this.LA(k).tokenType;
      if (t === L.Newline || t === EOF) return t;
      if (headerOnStack && t === L.LBrace) return t;
    }
  }

  // ---- file structure -----------------------------------------------------------------------

  specFile = this.RULE("specFile", (): A.TopItem[] => {
    const items: A.TopItem[] = [];
    this.MANY(() => {
      this.OR([
        // Blank and comment lines at the start, and the rest of a line after a broken block header.
        { ALT: () => this.CONSUME(L.Newline) },
        {
          ALT: () => {
            const item = this.SUBRULE(this.topStatement);
            this.ACTION(() => item && items.push(item));
          },
        },
      ]);
    });
    return items;
  });

  private readonly topStatementChoice: OrMethodOpts<A.TopItem | undefined> = {
      MAX_LOOKAHEAD: 1,
      IGNORE_AMBIGUITIES: true,
      DEF: [
        {
          ALT: () => {
            const s = this.SUBRULE(this.specTitle);
            this.CONSUME(L.Newline);
            return s;
          },
        },
        {
          ALT: () => {
            const s = this.SUBRULE(this.applyStmt);
            this.CONSUME2(L.Newline);
            return s;
          },
        },
        { ALT: () => this.SUBRULE(this.clusterBlock) },
        { ALT: () => this.SUBRULE(this.serviceBlock) },
        { ALT: () => this.SUBRULE(this.scenarioBlock) },
        {
          ALT: () => {
            this.SUBRULE(this.strayBrace);
            this.CONSUME3(L.Newline);
            return undefined;
          },
        },
        {
          GATE: () => this.unknownAllowed("top"),
          ALT: () => {
            this.SUBRULE(this.unknownLine, { ARGS: ["top"] });
            this.CONSUME4(L.Newline);
            return undefined;
          },
        },
      ],
    };

  topStatement = this.RULE("topStatement", (): A.TopItem | undefined => this.OR(this.topStatementChoice));

  unknownAllowed(kind: BlockKind): boolean {
    const t = this.LA(1).tokenType;
    return !STARTER_TYPES[kind].has(t) && !BLOCK_BREAKERS[kind].has(t);
  }

  /** A line no statement starts like: one error for the whole line. */
  unknownLine = this.RULE("unknownLine", (kind: BlockKind): undefined => {
    const first = this.CONSUME(L.LineToken);
    this.MANY(() => this.CONSUME2(L.LineToken));
    this.ACTION(() => {
      const words = STARTERS[kind].filter((w) => !["expect", "always", "sometimes", "never"].includes(w));
      const s = first.tokenType === L.Identifier || L.keywordOf(first.tokenType) ? suggest(first.image, words) : undefined;
      const what = L.keywordOf(first.tokenType) || first.tokenType === L.Identifier ? `\`${first.image}\`` : showToken(first);
      this.report(this.pos(first), `unknown statement ${what} ${BLOCK_WORDS[kind]}`, {
        // With a likely fix at hand, the full list is noise.
        ...(s ? { suggestion: `did you mean \`${s}\`?` } : { notes: [`${BLOCK_WORDS[kind]} a line starts with ${words.map((w) => "`" + w + "`").join(", ")}`] }),
      });
    });
    return undefined;
  });

  strayBrace = this.RULE("strayBrace", (): undefined => {
    const t = this.CONSUME(L.RBrace);
    this.ACTION(() => this.report(this.pos(t), "unexpected `}`: no block is open here"));
    return undefined;
  });

  /** `}` ending a block, or the start of the next top-level statement when `}` was forgotten. */
  blockEnd = this.RULE("blockEnd", (kind: BlockKind): IToken | undefined => {
    return this.OR([
      {
        ALT: () => {
          const t = this.CONSUME(L.RBrace);
          this.CONSUME(L.Newline);
          return t;
        },
      },
      {
        GATE: () => BLOCK_BREAKERS[kind].has(this.LA(1).tokenType),
        ALT: () => {
          this.ACTION(() => {
            const block = this.state.blocks[this.state.blocks.length - 1];
            const next = this.LA(1);
            // A `{` put in by recovery was reported missing already.
            if (!block || this.recovered(block.open)) return;
            const where = next.tokenType === EOF ? "the end of the file" : `\`${next.image}\` on line ${next.startLine}`;
            this.report(this.pos(block.open), `this \`{\` of the ${kind} block is never closed: add \`}\` before ${where}`);
          });
          return undefined;
        },
      },
    ]);
  });

  specTitle = this.RULE("specTitle", (): A.SpecTitle | undefined => {
    const m = this.mark();
    const k = this.CONSUME(KW.spec);
    const s = this.CONSUME(L.StringLiteral);
    return this.ACTION(() => (this.clean(m) ? { kind: "spec" as const, title: this.stringOf(s), pos: this.span(this.pos(k), this.pos(s)) } : undefined));
  });

  applyStmt = this.RULE("applyStmt", (): A.ApplyStmt | undefined => {
    const m = this.mark();
    const k = this.CONSUME(KW.apply);
    const src = this.OR([
      { ALT: () => this.CONSUME(L.StringLiteral) },
      { ALT: () => this.CONSUME(L.Heredoc) },
    ]);
    return this.ACTION(() => {
      const source: A.ApplyStmt["source"] =
        src.tokenType === L.Heredoc ? { kind: "inline", heredoc: this.heredocOf(src) } : { kind: "file", path: this.stringOf(src) };
      if (source.kind === "file" && source.path.value.trim() === "") this.report(source.path.pos, "`apply` needs a file name");
      return this.clean(m) ? { kind: "apply" as const, source, pos: this.span(this.pos(k), this.pos(src)) } : undefined;
    });
  });

  // ---- cluster -------------------------------------------------------------------------------

  clusterBlock = this.RULE("clusterBlock", (): A.ClusterBlock | undefined => {
    const header = this.SUBRULE(this.clusterHeader);
    const open = this.CONSUME(L.LBrace);
    this.ACTION(() => this.state.blocks.push({ kind: "cluster", open }));
    this.OPTION2(() => this.CONSUME(L.Newline));
    const statements: A.ClusterStmt[] = [];
    this.MANY({
      // A top-level keyword ends a block whose `}` was forgotten (blockEnd reports it).
      GATE: () => !BLOCK_BREAKERS.cluster.has(this.LA(1).tokenType),
      DEF: () => {
      const s = this.SUBRULE(this.clusterStatement);
      this.CONSUME2(L.Newline);
      if (!this.recording && s) statements.push(s);
    }});
    const close = this.SUBRULE(this.blockEnd, { ARGS: ["cluster"] });
    return this.ACTION(() => {
      this.state.blocks.pop();
      const last = close ? this.pos(close) : statements.length ? statements[statements.length - 1]!.pos : this.pos(open);
      if (!header) return undefined;
      return { kind: "cluster" as const, name: header.name, statements, pos: this.span(header.pos, last) };
    });
  });

  private readonly optionalClusterName = (): A.Name => this.SUBRULE(this.name);

  clusterHeader = this.RULE("clusterHeader", (): { name: A.Name | null; pos: Position } | undefined => {
    const m = this.mark();
    const k = this.CONSUME(KW.cluster);
    const name = this.OPTION(this.optionalClusterName);
    return this.ACTION(() => (this.clean(m) ? { name: name ?? null, pos: this.pos(k) } : undefined));
  });

  // The alternatives of the busiest choices (a statement, an expectation) are made once per
  // parser, not once per statement: chevrotain's advice for OR, and their arrays and closures were
  // a large part of the garbage a parse makes. Only choices whose alternatives use nothing but
  // `this` can be shared.
  private readonly clusterStatementChoice: OrMethodOpts<A.ClusterStmt | undefined> = {
    MAX_LOOKAHEAD: 1,
    IGNORE_AMBIGUITIES: true,
    DEF: [
      { ALT: () => this.SUBRULE(this.clusterSetting) },
      { ALT: () => this.SUBRULE(this.nodeStmt) },
      { ALT: () => this.SUBRULE(this.podStmt) },
      { ALT: () => this.SUBRULE(this.deploymentStmt) },
      { ALT: () => this.SUBRULE(this.clientStmt) },
      { ALT: () => this.SUBRULE(this.routeStmt) },
      { ALT: () => this.SUBRULE(this.namespaceStmt) },
      { GATE: () => this.unknownAllowed("cluster"), ALT: () => this.SUBRULE(this.unknownLine, { ARGS: ["cluster"] }) },
    ],
  };

  clusterStatement = this.RULE("clusterStatement", (): A.ClusterStmt | undefined => {
    const m = this.mark();
    const s = this.OR(this.clusterStatementChoice);
    return this.recording || !this.clean(m) ? undefined : s;
  });

  clusterSetting = this.RULE("clusterSetting", (): A.ClusterSetting | undefined => {
    const setting = <K extends string, V>(key: K, k: IToken, value: V, end: Position | undefined) =>
      ({ kind: "setting" as const, key, keyPos: this.pos(k), value, pos: this.span(this.pos(k), end) });
    return this.OR([
      {
        ALT: () => {
          const k = this.OR2(CIDR_SETTINGS.map((w) => ({ ALT: () => this.CONSUME(KW[w]) })));
          const v = this.SUBRULE(this.cidr);
          return this.ACTION(() => setting(k.image as (typeof CIDR_SETTINGS)[number], k, v, v?.pos) as A.ClusterSetting);
        },
      },
      {
        ALT: () => {
          const k = this.OR3(SWITCH_SETTINGS.map((w) => ({ ALT: () => this.CONSUME2(KW[w]) })));
          const v = this.SUBRULE(this.switchValue);
          return this.ACTION(() => setting(k.image as (typeof SWITCH_SETTINGS)[number], k, v, v.pos) as A.ClusterSetting);
        },
      },
      {
        ALT: () => {
          const k = this.CONSUME(KW["node-port-range"]);
          const r = this.CONSUME(L.Range);
          return this.ACTION(() => {
            const [a, b] = r.image.split("-");
            const p = this.pos(r);
            const base = this.portOf({ ...r, image: a! }, "node port range start");
            const max = this.portOf({ ...r, image: b! }, "node port range end");
            base.pos = max.pos = p;
            if (base.value > max.value) this.report(p, `node port range \`${r.image}\` is empty: ${base.value} is above ${max.value}`);
            return setting("node-port-range", k, { base, max, pos: p }, p);
          });
        },
      },
      {
        ALT: () => {
          const k = this.CONSUME(KW["proxy-mode"]);
          const v = this.CONSUME(KW.iptables);
          return this.ACTION(() => setting("proxy-mode", k, { value: "iptables" as const, pos: this.pos(v) }, this.pos(v)));
        },
      },
      {
        ALT: () => {
          const k = this.CONSUME(KW["hairpin-mode"]);
          const v = this.OR4([
            { ALT: () => this.CONSUME(KW["hairpin-veth"]) },
            { ALT: () => this.CONSUME(KW["promiscuous-bridge"]) },
            { ALT: () => this.CONSUME(KW.none) },
          ]);
          return this.ACTION(() =>
            setting("hairpin-mode", k, { value: v.image as "hairpin-veth" | "promiscuous-bridge" | "none", pos: this.pos(v) }, this.pos(v)),
          );
        },
      },
      {
        ALT: () => {
          const k = this.CONSUME(KW["cluster-domain"]);
          const v = this.SUBRULE(this.name);
          return this.ACTION(() => setting("cluster-domain", k, v, v.pos));
        },
      },
      {
        ALT: () => {
          const k = this.CONSUME(KW["nodeport-addresses"]);
          const v = this.SUBRULE(this.cidrList);
          return this.ACTION(() => setting("nodeport-addresses", k, v, v[v.length - 1]?.pos ?? this.pos(k)));
        },
      },
      {
        ALT: () => {
          const k = this.CONSUME(KW.router);
          const v = this.SUBRULE(this.ip);
          return this.ACTION(() => setting("router", k, v, v?.pos));
        },
      },
    ]);
  });

  private readonly nodePodCidr = (): A.CidrLit | undefined => {
    this.CONSUME(KW["pod-cidr"]);
    return this.SUBRULE(this.cidr);
  };

  nodeStmt = this.RULE("nodeStmt", (): A.NodeStmt => {
    const k = this.CONSUME(KW.node);
    const name = this.SUBRULE(this.name);
    const ip = this.SUBRULE(this.ip);
    const podCidr = this.OPTION(this.nodePodCidr);
    return this.ACTION(() => ({ kind: "node" as const, name, ip: ip!, podCidr: podCidr ?? null, pos: this.span(this.pos(k), (podCidr ?? ip)?.pos) }));
  });

  podStmt = this.RULE("podStmt", (): A.PodStmt => {
    const k = this.CONSUME(KW.pod);
    const name = this.SUBRULE(this.name);
    this.CONSUME(KW.on);
    const node = this.SUBRULE2(this.name);
    const pod: A.PodStmt = { kind: "pod", name, node, ip: null, labels: [], listen: [], ready: true, namespace: null, pos: undefined as unknown as Position };
    let end: Position | undefined;
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(KW.ip);
            const ip = this.SUBRULE(this.ip);
            this.ACTION(() => ((pod.ip = ip ?? null), (end = ip?.pos)));
          },
        },
        {
          ALT: () => {
            this.CONSUME(KW.labels);
            const labels = this.SUBRULE(this.labelList);
            this.ACTION(() => (pod.labels.push(...labels), (end = labels[labels.length - 1]?.pos)));
          },
        },
        {
          ALT: () => {
            this.CONSUME(KW.listen);
            const items = this.SUBRULE(this.listenList);
            this.ACTION(() => (pod.listen.push(...items), (end = items[items.length - 1]?.pos)));
          },
        },
        {
          ALT: () => {
            const t = this.CONSUME(KW["not-ready"]);
            this.ACTION(() => ((pod.ready = false), (end = this.pos(t))));
          },
        },
        {
          ALT: () => {
            this.CONSUME(KW.namespace);
            const ns = this.SUBRULE3(this.name);
            this.ACTION(() => ((pod.namespace = ns), (end = ns.pos)));
          },
        },
      ]);
    });
    // The statement object itself, its position filled in (a copy by spread took V8's slow path).
    return this.ACTION(() => ((pod.pos = this.span(this.pos(k), end ?? node.pos)), pod));
  });

  deploymentStmt = this.RULE("deploymentStmt", (): A.DeploymentStmt => {
    const k = this.CONSUME(KW.deployment);
    const name = this.SUBRULE(this.name);
    this.CONSUME(KW.replicas);
    const replicas = this.SUBRULE(this.count);
    const d: A.DeploymentStmt = { kind: "deployment", name, replicas, nodes: [], labels: [], listen: [], namespace: null, pos: undefined as unknown as Position };
    let end: Position | undefined;
    this.MANY(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(KW.on);
            const nodes = this.SUBRULE(this.nameList);
            this.ACTION(() => (d.nodes.push(...nodes), (end = nodes[nodes.length - 1]?.pos)));
          },
        },
        {
          ALT: () => {
            this.CONSUME(KW.labels);
            const labels = this.SUBRULE(this.labelList);
            this.ACTION(() => (d.labels.push(...labels), (end = labels[labels.length - 1]?.pos)));
          },
        },
        {
          ALT: () => {
            this.CONSUME(KW.listen);
            const items = this.SUBRULE(this.listenList);
            this.ACTION(() => (d.listen.push(...items), (end = items[items.length - 1]?.pos)));
          },
        },
        {
          ALT: () => {
            this.CONSUME(KW.namespace);
            const ns = this.SUBRULE2(this.name);
            this.ACTION(() => ((d.namespace = ns), (end = ns.pos)));
          },
        },
      ]);
    });
    return this.ACTION(() => {
      if (replicas.value < 1) this.report(replicas.pos, "a deployment needs at least 1 replica");
      return { ...d, pos: this.span(this.pos(k), end ?? replicas.pos) };
    });
  });

  clientStmt = this.RULE("clientStmt", (): A.ClientStmt => {
    const k = this.CONSUME(KW.client);
    const name = this.SUBRULE(this.name);
    const ip = this.SUBRULE(this.ip);
    return this.ACTION(() => ({ kind: "client" as const, name, ip: ip!, pos: this.span(this.pos(k), ip?.pos) }));
  });

  routeStmt = this.RULE("routeStmt", (): A.RouteStmt => {
    const k = this.CONSUME(KW.route);
    const cidr = this.SUBRULE(this.cidr);
    this.CONSUME(KW.via);
    const via = this.SUBRULE(this.nameList);
    return this.ACTION(() => ({ kind: "route" as const, cidr: cidr!, via, pos: this.span(this.pos(k), via[via.length - 1]?.pos) }));
  });

  namespaceStmt = this.RULE("namespaceStmt", (): A.NamespaceStmt => {
    const k = this.CONSUME(KW.namespace);
    const name = this.SUBRULE(this.name);
    return this.ACTION(() => ({ kind: "namespace" as const, name, pos: this.span(this.pos(k), name.pos) }));
  });

  labelList = this.RULE("labelList", (): A.Label[] => {
    const labels: A.Label[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: L.Comma,
      DEF: () => {
        const l = this.SUBRULE(this.label);
        if (!this.recording) labels.push(l);
      },
    });
    return labels;
  });

  /** The name after `prefix/` in a label key. */
  private readonly labelKeyName = (): IToken => {
    this.CONSUME(L.Slash);
    return this.CONSUME2(L.AnyWord);
  };

  label = this.RULE("label", (): A.Label => {
    const k1 = this.CONSUME(L.AnyWord);
    const k2 = this.OPTION(this.labelKeyName);
    this.CONSUME(L.Equals);
    const v = this.SUBRULE(this.labelValue);
    return this.ACTION(() => {
      const keyPos = this.span(this.pos(k1), k2 ? this.pos(k2) : undefined);
      const key: A.Name = { text: k2 ? `${k1.image}/${k2.image}` : k1.image, pos: keyPos };
      return { key, value: v, pos: this.span(keyPos, v.pos) };
    });
  });

  private readonly labelValueTokens: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(L.AnyWord) },
    { ALT: () => this.CONSUME(L.NumberLiteral) },
    { ALT: () => this.CONSUME(L.IpAddress) },
    { ALT: () => this.CONSUME(L.Range) },
    { ALT: () => this.CONSUME(L.StringLiteral) },
  ];

  labelValue = this.RULE("labelValue", (): A.Name => {
    const t = this.OR(this.labelValueTokens);
    return this.ACTION(() => (t.tokenType === L.StringLiteral ? { text: this.stringOf(t).value, pos: this.pos(t) } : this.nameOf(t)));
  });

  listenList = this.RULE("listenList", (): A.ListenItem[] => {
    const items: A.ListenItem[] = [];
    this.AT_LEAST_ONE({
      // `tcp/80` or `name=tcp/80`; any other word is the pod's next option (`not-ready`, `namespace`).
      GATE: () => this.LA(1).tokenType === KW.tcp || this.LA(1).tokenType === KW.udp || this.LA(2).tokenType === L.Equals,
      DEF: () => {
        const i = this.SUBRULE(this.listenItem);
        if (!this.recording) items.push(i);
      },
    });
    return items;
  });

  private readonly listenName = (): A.Name => {
    const n = this.SUBRULE(this.name);
    this.CONSUME(L.Equals);
    return n;
  };

  listenItem = this.RULE("listenItem", (): A.ListenItem => {
    const name = this.OPTION(this.listenName);
    const proto = this.SUBRULE(this.protocol);
    this.CONSUME(L.Slash);
    const port = this.SUBRULE(this.portNumber);
    return this.ACTION(() => ({ name: name ?? null, protocol: proto, port, pos: this.span((name ?? proto).pos, port.pos) }));
  });

  // ---- service -------------------------------------------------------------------------------

  serviceBlock = this.RULE("serviceBlock", (): A.ServiceBlock | undefined => {
    const header = this.SUBRULE(this.serviceHeader);
    const open = this.CONSUME(L.LBrace);
    this.ACTION(() => this.state.blocks.push({ kind: "service", open }));
    this.OPTION2(() => this.CONSUME(L.Newline));
    const fields: A.ServiceField[] = [];
    this.MANY({
      // A top-level keyword ends a block whose `}` was forgotten (blockEnd reports it).
      GATE: () => !BLOCK_BREAKERS.service.has(this.LA(1).tokenType),
      DEF: () => {
      const f = this.SUBRULE(this.serviceStatement);
      this.CONSUME2(L.Newline);
      if (!this.recording && f) fields.push(f);
    }});
    const close = this.SUBRULE(this.blockEnd, { ARGS: ["service"] });
    return this.ACTION(() => {
      this.state.blocks.pop();
      if (!header) return undefined;
      const last = close ? this.pos(close) : fields.length ? fields[fields.length - 1]!.pos : this.pos(open);
      return { kind: "service" as const, name: header.name, type: header.type, fields, pos: this.span(header.pos, last) };
    });
  });

  private readonly optionalServiceType = (): A.WordLit<A.ServiceTypeName> => this.SUBRULE(this.serviceType);

  serviceHeader = this.RULE("serviceHeader", () => {
    const m = this.mark();
    const k = this.CONSUME(KW.service);
    const name = this.SUBRULE(this.name);
    const type = this.OPTION(this.optionalServiceType);
    return this.ACTION(() => (this.clean(m) ? { name, type: type ?? null, pos: this.pos(k) } : undefined));
  });

  private readonly serviceStatementChoice: OrMethodOpts<A.ServiceField | undefined> = {
    MAX_LOOKAHEAD: 1,
    IGNORE_AMBIGUITIES: true,
    DEF: [
      { ALT: () => this.SUBRULE(this.serviceField) },
      { GATE: () => this.unknownAllowed("service"), ALT: () => this.SUBRULE(this.unknownLine, { ARGS: ["service"] }) },
    ],
  };

  serviceStatement = this.RULE("serviceStatement", (): A.ServiceField | undefined => {
    const m = this.mark();
    const f = this.OR(this.serviceStatementChoice);
    return this.recording || !this.clean(m) ? undefined : f;
  });

  /** A Service field's node: the key's token, its value and where the value ends. */
  fieldOf<K extends string, V>(key: K, k: IToken, value: V, end: Position | undefined) {
    return { kind: "field" as const, key, keyPos: this.pos(k), value, pos: this.span(this.pos(k), end) };
  }

  private readonly serviceFields: IOrAlt<A.ServiceField>[] = [
    {
      ALT: () => {
        const k = this.CONSUME(KW.namespace);
        const v = this.SUBRULE(this.name);
        return this.ACTION(() => this.fieldOf("namespace", k, v, v.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.selector);
        const v = this.SUBRULE(this.labelList);
        return this.ACTION(() => this.fieldOf("selector", k, v, v[v.length - 1]?.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.port);
        const v = this.SUBRULE(this.portSpec);
        return this.ACTION(() => this.fieldOf("port", k, v, v.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["cluster-ip"]);
        const v = this.OR2([
          { ALT: () => this.SUBRULE(this.ip) },
          {
            ALT: () => {
              const t = this.CONSUME(KW.None);
              return this.ACTION(() => ({ value: "None" as const, pos: this.pos(t) }));
            },
          },
        ]);
        return this.ACTION(() => this.fieldOf("cluster-ip", k, v!, v?.pos));
      },
    },
    {
      ALT: () => {
        const k = this.OR3([
          { ALT: () => this.CONSUME(KW["external-traffic-policy"]) },
          { ALT: () => this.CONSUME(KW["internal-traffic-policy"]) },
        ]);
        const v = this.OR4([{ ALT: () => this.CONSUME(KW.Cluster) }, { ALT: () => this.CONSUME(KW.Local) }]);
        return this.ACTION(() =>
          this.fieldOf(k.image as "external-traffic-policy" | "internal-traffic-policy", k, { value: v.image as "Cluster" | "Local", pos: this.pos(v) }, this.pos(v)),
        );
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["external-ips"]);
        const v = this.SUBRULE(this.ipList);
        return this.ACTION(() => this.fieldOf("external-ips", k, v, v[v.length - 1]?.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["external-name"]);
        const v = this.SUBRULE2(this.name);
        return this.ACTION(() => this.fieldOf("external-name", k, v, v.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["load-balancer-ip"]);
        const v = this.SUBRULE2(this.ip);
        return this.ACTION(() => this.fieldOf("load-balancer-ip", k, v!, v?.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["load-balancer-source-ranges"]);
        const v = this.SUBRULE(this.cidrList);
        return this.ACTION(() => this.fieldOf("load-balancer-source-ranges", k, v, v[v.length - 1]?.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["health-check-node-port"]);
        const v = this.SUBRULE(this.portNumber);
        return this.ACTION(() => this.fieldOf("health-check-node-port", k, v, v.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["session-affinity"]);
        const mode = this.OR5([{ ALT: () => this.CONSUME2(KW.None) }, { ALT: () => this.CONSUME(KW.ClientIP) }]);
        const timeout = this.OPTION(() => {
          this.CONSUME(KW.timeout);
          return this.SUBRULE(this.count);
        });
        return this.ACTION(() => {
          const mp = this.pos(mode);
          if (timeout && mode.image === "None") this.report(timeout.pos, "a `timeout` only applies to `session-affinity ClientIP`");
          if (timeout && (timeout.value < 1 || timeout.value > 86400)) this.report(timeout.pos, `session affinity timeout ${timeout.value} is out of range: 1-86400 seconds`);
          const value = { mode: { value: mode.image as "None" | "ClientIP", pos: mp }, timeout: timeout ?? null, pos: this.span(mp, timeout?.pos) };
          return this.fieldOf("session-affinity", k, value, value.pos);
        });
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["publish-not-ready-addresses"]);
        const v = this.SUBRULE(this.switchValue);
        return this.ACTION(() => this.fieldOf("publish-not-ready-addresses", k, v, v.pos));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.type);
        const v = this.SUBRULE(this.serviceType);
        return this.ACTION(() => this.fieldOf("type", k, v, v.pos));
      },
    },
  ] as IOrAlt<A.ServiceField>[];

  serviceField = this.RULE("serviceField", (): A.ServiceField => this.OR(this.serviceFields));

  private readonly portName = (): IToken => this.CONSUME(L.Identifier);
  private readonly portProtocol = (): A.WordLit<A.Protocol> => this.SUBRULE(this.protocol);
  private readonly portTargets: IOrAlt<NonNullable<A.PortSpec["target"]>>[] = [
    {
      ALT: () => {
        const p = this.SUBRULE2(this.portNumber);
        return this.ACTION(() => ({ kind: "number" as const, port: p, pos: p.pos }));
      },
    },
    {
      ALT: () => {
        const n = this.SUBRULE(this.name);
        return this.ACTION(() => ({ kind: "name" as const, name: n, pos: n.pos }));
      },
    },
  ];
  private readonly portTarget = (): NonNullable<A.PortSpec["target"]> => {
    this.CONSUME(L.Arrow);
    return this.OR(this.portTargets);
  };
  private readonly portNodePort = (): A.NumberLit => {
    this.CONSUME(KW["node-port"]);
    return this.SUBRULE3(this.portNumber);
  };

  portSpec = this.RULE("portSpec", (): A.PortSpec => {
    // The port name is a plain identifier: `tcp`/`udp` right after `port` are the protocol.
    const name = this.OPTION(this.portName);
    const proto = this.OPTION2(this.portProtocol);
    const port = this.SUBRULE(this.portNumber);
    const target = this.OPTION3(this.portTarget);
    const nodePort = this.OPTION4(this.portNodePort);
    return this.ACTION(() => {
      const start = name ? this.pos(name) : proto ? proto.pos : port.pos;
      return {
        name: name ? this.nameOf(name) : null,
        protocol: proto ?? null,
        port,
        target: target ?? null,
        nodePort: nodePort ?? null,
        pos: this.span(start, (nodePort ?? target ?? port).pos),
      };
    });
  });

  private readonly serviceTypes: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(KW.ClusterIP) },
    { ALT: () => this.CONSUME(KW.NodePort) },
    { ALT: () => this.CONSUME(KW.LoadBalancer) },
    { ALT: () => this.CONSUME(KW.ExternalName) },
  ];

  serviceType = this.RULE("serviceType", (): A.WordLit<A.ServiceTypeName> => {
    const t = this.OR(this.serviceTypes);
    return this.ACTION(() => ({ value: t.image as A.ServiceTypeName, pos: this.pos(t) }));
  });

  // ---- scenario ------------------------------------------------------------------------------

  scenarioBlock = this.RULE("scenarioBlock", (): A.ScenarioBlock | undefined => {
    const header = this.SUBRULE(this.scenarioHeader);
    const open = this.CONSUME(L.LBrace);
    this.ACTION(() => this.state.blocks.push({ kind: "scenario", open }));
    this.OPTION2(() => this.CONSUME(L.Newline));
    const statements: A.ScenarioStmt[] = [];
    this.MANY({
      // A top-level keyword ends a block whose `}` was forgotten (blockEnd reports it).
      GATE: () => !BLOCK_BREAKERS.scenario.has(this.LA(1).tokenType),
      DEF: () => {
      const s = this.SUBRULE(this.scenarioStatement);
      this.CONSUME2(L.Newline);
      if (!this.recording && s) statements.push(s);
    }});
    const close = this.SUBRULE(this.blockEnd, { ARGS: ["scenario"] });
    return this.ACTION(() => {
      this.state.blocks.pop();
      if (!header) return undefined;
      const last = close ? this.pos(close) : statements.length ? statements[statements.length - 1]!.pos : this.pos(open);
      return { kind: "scenario" as const, title: header.title, tags: header.tags, statements, pos: this.span(header.pos, last) };
    });
  });

  private readonly scenarioTags = (): A.Name[] => {
    this.CONSUME(KW.tags);
    return this.SUBRULE(this.nameList);
  };

  scenarioHeader = this.RULE("scenarioHeader", () => {
    const m = this.mark();
    const k = this.CONSUME(KW.scenario);
    const title = this.CONSUME(L.StringLiteral);
    const tags = this.OPTION(this.scenarioTags);
    return this.ACTION(() => (this.clean(m) ? { title: this.stringOf(title), tags: tags ?? [], pos: this.pos(k) } : undefined));
  });

  private readonly scenarioStatementChoice: OrMethodOpts<A.ScenarioStmt | undefined> = {
    MAX_LOOKAHEAD: 1,
    IGNORE_AMBIGUITIES: true,
    DEF: [
      { ALT: () => this.SUBRULE(this.packetProbe) },
      { ALT: () => this.SUBRULE(this.dnsProbe) },
      { ALT: () => this.SUBRULE(this.showProbe) },
      { ALT: () => this.SUBRULE(this.setStmt) },
      { ALT: () => this.SUBRULE(this.deleteStmt) },
      { ALT: () => this.SUBRULE(this.applyStmt) },
      { ALT: () => this.SUBRULE(this.stopStmt) },
      { ALT: () => this.SUBRULE(this.failStmt) },
      { ALT: () => this.SUBRULE(this.orphanExpect) },
      { GATE: () => this.unknownAllowed("scenario"), ALT: () => this.SUBRULE(this.unknownLine, { ARGS: ["scenario"] }) },
    ],
  };

  scenarioStatement = this.RULE("scenarioStatement", (): A.ScenarioStmt | undefined => {
    const m = this.mark();
    const s = this.OR(this.scenarioStatementChoice);
    return this.recording || !this.clean(m) ? undefined : s;
  });

  private readonly sendOrTrace: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(KW.send) }, { ALT: () => this.CONSUME(KW.trace) }];

  packetProbe = this.RULE("packetProbe", (): A.PacketProbe => {
    const k = this.OR(this.sendOrTrace);
    const protocol = this.SUBRULE(this.protocol);
    this.CONSUME(KW.from);
    const from = this.SUBRULE(this.name);
    this.CONSUME(KW.to);
    const to = this.SUBRULE(this.target);
    this.CONSUME(L.Colon);
    const port = this.SUBRULE(this.portNumber);
    const expects = this.SUBRULE(this.expectations);
    return this.ACTION(() => {
      this.checkExpectations(k.image, PACKET_CHECKS, expects);
      const end = expects.length ? expects[expects.length - 1]!.pos : port.pos;
      return { kind: k.image as "send" | "trace", protocol, from, to, port, expects: expects as A.Expectation<A.PacketCheck>[], pos: this.span(this.pos(k), end) };
    });
  });

  private readonly targets: OrMethodOpts<A.Target> = {
    IGNORE_AMBIGUITIES: true,
    DEF: [
      {
        // `lb:SERVICE` — but `lb:80` is a host called `lb`: the third token decides.
        GATE: () => this.LA(2).tokenType === L.Colon && this.LA(3).tokenType !== L.NumberLiteral,
        ALT: () => {
          const lb = this.CONSUME(KW.lb);
          this.CONSUME(L.Colon);
          const service = this.SUBRULE(this.name);
          return this.ACTION(() => ({ kind: "lb" as const, service, pos: this.span(this.pos(lb), service.pos) }));
        },
      },
      {
        ALT: () => {
          const ip = this.SUBRULE(this.ip);
          return this.ACTION(() => ({ kind: "ip" as const, ip: ip!, pos: ip!.pos }));
        },
      },
      {
        ALT: () => {
          const n = this.SUBRULE2(this.name);
          return this.ACTION(() => (n.text.includes(".") ? { kind: "dns" as const, name: n, pos: n.pos } : { kind: "name" as const, name: n, pos: n.pos }));
        },
      },
    ],
  };

  target = this.RULE("target", (): A.Target => this.OR(this.targets));

  private readonly resolveOrNslookup: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(KW.resolve) }, { ALT: () => this.CONSUME(KW.nslookup) }];

  dnsProbe = this.RULE("dnsProbe", (): A.DnsProbe => {
    const k = this.OR(this.resolveOrNslookup);
    const query = this.SUBRULE(this.name);
    this.CONSUME(KW.from);
    const from = this.SUBRULE2(this.name);
    const expects = this.SUBRULE(this.expectations);
    return this.ACTION(() => {
      this.checkExpectations(k.image, DNS_CHECKS, expects);
      const end = expects.length ? expects[expects.length - 1]!.pos : from.pos;
      return { kind: k.image as "resolve" | "nslookup", query, from, expects: expects as A.Expectation<A.DnsCheck>[], pos: this.span(this.pos(k), end) };
    });
  });

  showProbe = this.RULE("showProbe", (): A.ShowProbe => {
    const k = this.CONSUME(KW.show);
    const subject = this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.iptables);
          const node = this.SUBRULE(this.name);
          const table = this.OPTION(() => this.OR2([{ ALT: () => this.CONSUME(KW.nat) }, { ALT: () => this.CONSUME(KW.filter) }]));
          // A chain is a plain identifier (KUBE-SERVICES): a keyword here is the next clause.
          const chain = this.OPTION2(() => this.CONSUME(L.Identifier));
          return this.ACTION(() => {
            const t = table ? { value: table.image as "nat" | "filter", pos: this.pos(table) } : null;
            const c = chain ? this.nameOf(chain) : null;
            return [{ subject: "iptables" as const, node, table: t, chain: c }, (c ?? t ?? node).pos] as const;
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(KW.endpoints);
          const service = this.SUBRULE2(this.name);
          return this.ACTION(() => [{ subject: "endpoints" as const, service }, service.pos] as const);
        },
      },
      {
        ALT: () => {
          const t = this.OR3([{ ALT: () => this.CONSUME(KW.services) }, { ALT: () => this.CONSUME(KW.pods) }]);
          return this.ACTION(() => [{ subject: t.image as "services" | "pods" }, this.pos(t)] as const);
        },
      },
      {
        ALT: () => {
          const t = this.OR4([
            { ALT: () => this.CONSUME(KW.routes) },
            { ALT: () => this.CONSUME(KW.conntrack) },
            { ALT: () => this.CONSUME(KW.hairpin) },
            { ALT: () => this.CONSUME(KW.bridge) },
          ]);
          const node = this.SUBRULE3(this.name);
          return this.ACTION(() => [{ subject: t.image as "routes" | "conntrack" | "hairpin" | "bridge", node }, node.pos] as const);
        },
      },
    ]);
    const expects = this.SUBRULE(this.expectations);
    return this.ACTION(() => {
      const [what, whatEnd] = subject;
      this.checkExpectations("show", SHOW_CHECKS, expects);
      const end = expects.length ? expects[expects.length - 1]!.pos : whatEnd;
      return { kind: "show" as const, what: what as A.ShowSubject, expects: expects as A.Expectation<A.ShowCheck>[], pos: this.span(this.pos(k), end) };
    });
  });

  // The expectation lists being built. The rules below fill them from option and repetition
  // bodies made once per parser (objects and closures per probe and per line were a large part
  // of a parse's garbage): each rule sets its list on entry, and neither rule nests in itself.
  private expectationsSoFar: A.Expectation[] = [];
  private clauseSoFar: A.Expectation[] = [];

  /** `expect ...` on the probe's line. */
  private readonly inlineExpect = {
    // On the probe's own line the word `expect` is required.
    GATE: () => this.LA(1).tokenType === KW.expect,
    DEF: () => {
      const e = this.SUBRULE(this.expectClause);
      if (!this.recording && e) this.expectationsSoFar.push(...e);
    },
  };

  /** An `expect` line below the probe. */
  private readonly expectLine = {
    // The rule's own lookahead cannot see past its end: say that an `expect` must follow.
    GATE: () => EXPECT_LINE_STARTS.has(this.LA(2).tokenType),
    DEF: () => {
      this.CONSUME(L.Newline);
      const e = this.SUBRULE2(this.expectClause);
      if (!this.recording && e) this.expectationsSoFar.push(...e);
    },
  };

  /** `expect ...` on the probe's line, then any number of `expect` lines right below it. */
  expectations = this.RULE("expectations", (): A.Expectation[] => {
    const all: A.Expectation[] = [];
    this.expectationsSoFar = all;
    this.OPTION(this.inlineExpect);
    // expectClause does not reach back here: the list is still `all`.
    this.MANY(this.expectLine);
    return all;
  });

  /** `expect CHECK, ...` — or, on a line of its own, `always|sometimes|never CHECK, ...` (expect implied). */
  private readonly optionalExpect = { GATE: () => this.LA(1).tokenType === KW.expect, DEF: () => this.CONSUME(KW.expect) };

  private readonly clauseItems = {
    SEP: L.Comma,
    DEF: () => {
      const e = this.SUBRULE(this.expectation);
      if (!this.recording) this.clauseSoFar.push(e);
    },
  };

  expectClause = this.RULE("expectClause", (): A.Expectation[] => {
    this.OPTION(this.optionalExpect);
    const list: A.Expectation[] = [];
    this.clauseSoFar = list;
    this.AT_LEAST_ONE_SEP(this.clauseItems);
    return list;
  });

  private readonly quantifiers: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(KW.always) },
    { ALT: () => this.CONSUME(KW.sometimes) },
    { ALT: () => this.CONSUME(KW.never) },
  ];

  private readonly optionalQuantifier = (): IToken => this.OR(this.quantifiers);

  expectation = this.RULE("expectation", (): A.Expectation => {
    const q = this.OPTION(this.optionalQuantifier);
    const check = this.SUBRULE(this.check);
    return this.ACTION(() => ({
      quantifier: (q?.image ?? "always") as A.Quantifier,
      quantifierPos: q ? this.pos(q) : null,
      check,
      pos: this.span(q ? this.pos(q) : check.pos, check.pos),
    }));
  });

  private readonly plainChecks: IOrAlt<IToken>[] = (
    ["connected", "dropped", "rejected", "refused", "unreachable", "masqueraded", "nxdomain", "fails"] as const
  ).map((w) => ({ ALT: () => this.CONSUME(KW[w]) }));

  private readonly checks: IOrAlt<A.Check>[] = [
    {
      ALT: () => {
        const t = this.OR2(this.plainChecks);
        return this.recording ? (undefined as never) : ({ kind: t.image, pos: this.pos(t) } as A.Check);
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["reply-from"]);
        const host = this.SUBRULE(this.hostRef);
        const port = this.OPTION(() => {
          this.CONSUME(L.Colon);
          return this.SUBRULE(this.portNumber);
        });
        return this.ACTION(() => ({ kind: "reply-from" as const, host, port: port ?? null, pos: this.span(this.pos(k), (port ?? host).pos) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["delivered-to"]);
        const anyOf = this.OPTION2(() => this.CONSUME(KW["any-of"]));
        const pods: A.Name[] = [];
        const first = this.SUBRULE(this.name);
        this.ACTION(() => pods.push(first));
        this.MANY({
          // A comma followed by an expectation word separates expectations, not pods.
          GATE: () => anyOf !== undefined && !CHECK_STARTS.has(this.LA(2).tokenType),
          DEF: () => {
            this.CONSUME(L.Comma);
            const n = this.SUBRULE2(this.name);
            this.ACTION(() => pods.push(n));
          },
        });
        return this.ACTION(() => ({ kind: "delivered-to" as const, pods, anyOf: anyOf !== undefined, pos: this.span(this.pos(k), pods[pods.length - 1]!.pos) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW["source-seen"]);
        const host = this.SUBRULE2(this.hostRef);
        return this.ACTION(() => ({ kind: "source-seen" as const, host, pos: this.span(this.pos(k), host.pos) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.via);
        const node = this.SUBRULE3(this.name);
        return this.ACTION(() => ({ kind: "via" as const, node, pos: this.span(this.pos(k), node.pos) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.answer);
        const ips: A.IpLit[] = [];
        this.AT_LEAST_ONE(() => {
          const ip = this.SUBRULE(this.ip);
          this.ACTION(() => ip && ips.push(ip));
        });
        return this.ACTION(() => ({ kind: "answer" as const, ips, pos: this.span(this.pos(k), ips[ips.length - 1]?.pos) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.cname);
        const host = this.SUBRULE4(this.name);
        return this.ACTION(() => ({ kind: "cname" as const, host, pos: this.span(this.pos(k), host.pos) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.contains);
        const s = this.CONSUME(L.StringLiteral);
        return this.ACTION(() => ({ kind: "contains" as const, text: this.stringOf(s), pos: this.span(this.pos(k), this.pos(s)) }));
      },
    },
    {
      ALT: () => {
        const k = this.CONSUME(KW.lines);
        const n = this.SUBRULE(this.count);
        return this.ACTION(() => ({ kind: "lines" as const, count: n, pos: this.span(this.pos(k), n.pos) }));
      },
    },
    {
      ALT: () => {
        const h = this.CONSUME(L.Heredoc);
        return this.ACTION(() => {
          const heredoc = this.heredocOf(h);
          return { kind: "text" as const, heredoc, pos: heredoc.pos };
        });
      },
    },
  ];

  check = this.RULE("check", (): A.Check => this.OR(this.checks));

  private readonly hostRefs: IOrAlt<A.HostRef>[] = [
    {
      ALT: () => {
        const ip = this.SUBRULE(this.ip);
        return this.ACTION(() => ({ kind: "ip" as const, ip: ip!, pos: ip!.pos }));
      },
    },
    {
      ALT: () => {
        const n = this.SUBRULE(this.name);
        return this.ACTION(() => ({ kind: "name" as const, name: n, pos: n.pos }));
      },
    },
  ];

  hostRef = this.RULE("hostRef", (): A.HostRef => this.OR(this.hostRefs));

  /** `expect` with no probe above it: one clear error instead of a confusing one. */
  orphanExpect = this.RULE("orphanExpect", (): undefined => {
    const k = this.OR(
      (["expect", "always", "sometimes", "never"] as const).map((w) => ({ ALT: () => this.CONSUME(KW[w]) })),
    );
    this.MANY(() => this.CONSUME(L.LineToken));
    this.ACTION(() =>
      this.report(this.pos(k), `\`${k.image}\` must follow a probe: put it on the line of a \`send\`, \`trace\`, \`resolve\`, \`nslookup\` or \`show\`, or on the lines right below it`),
    );
    return undefined;
  });

  setStmt = this.RULE("setStmt", (): A.Change => {
    const k = this.CONSUME(KW.set);
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.pod);
          const pod = this.SUBRULE(this.name);
          const v = this.OR2([{ ALT: () => this.CONSUME(KW.ready) }, { ALT: () => this.CONSUME(KW["not-ready"]) }]);
          return this.ACTION(() => ({ kind: "set-pod" as const, pod, ready: { value: v.image as "ready" | "not-ready", pos: this.pos(v) }, pos: this.span(this.pos(k), this.pos(v)) }));
        },
      },
      {
        ALT: () => {
          this.CONSUME(KW.service);
          const service = this.SUBRULE2(this.name);
          const field = this.SUBRULE(this.serviceField);
          return this.ACTION(() => ({ kind: "set-service" as const, service, field, pos: this.span(this.pos(k), field.pos) }));
        },
      },
    ]);
  });

  deleteStmt = this.RULE("deleteStmt", (): A.Change => {
    const k = this.CONSUME(KW.delete);
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(KW.pod);
          const pod = this.SUBRULE(this.name);
          return this.ACTION(() => ({ kind: "delete-pod" as const, pod, pos: this.span(this.pos(k), pod.pos) }));
        },
      },
      {
        ALT: () => {
          this.CONSUME(KW.service);
          const service = this.SUBRULE2(this.name);
          return this.ACTION(() => ({ kind: "delete-service" as const, service, pos: this.span(this.pos(k), service.pos) }));
        },
      },
    ]);
  });

  stopStmt = this.RULE("stopStmt", (): A.Change => {
    const k = this.CONSUME(KW.stop);
    return this.OR([
      {
        ALT: () => {
          this.CONSUME(KW["kube-proxy"]);
          this.CONSUME(KW.on);
          const node = this.SUBRULE(this.name);
          return this.ACTION(() => ({ kind: "stop-kube-proxy" as const, node, pos: this.span(this.pos(k), node.pos) }));
        },
      },
      {
        ALT: () => {
          const t = this.CONSUME(KW["kube-dns"]);
          return this.ACTION(() => ({ kind: "stop-kube-dns" as const, pos: this.span(this.pos(k), this.pos(t)) }));
        },
      },
    ]);
  });

  failStmt = this.RULE("failStmt", (): A.Change => {
    const k = this.CONSUME(KW.fail);
    this.CONSUME(KW.node);
    const node = this.SUBRULE(this.name);
    return this.ACTION(() => ({ kind: "fail-node" as const, node, pos: this.span(this.pos(k), node.pos) }));
  });

  // ---- values --------------------------------------------------------------------------------

  name = this.RULE("name", (): A.Name => {
    const t = this.CONSUME(L.AnyWord);
    return this.recording ? (undefined as never) : this.nameOf(t);
  });

  nameList = this.RULE("nameList", (): A.Name[] => {
    const names: A.Name[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: L.Comma,
      DEF: () => {
        const n = this.SUBRULE(this.name);
        if (!this.recording) names.push(n);
      },
    });
    return names;
  });

  ip = this.RULE("ip", (): A.IpLit | undefined => {
    const t = this.CONSUME(L.IpAddress);
    return this.ACTION(() => {
      if (this.recovered(t)) return undefined;
      const r = checkIpv4(t.image);
      if (!r.ok) {
        this.report(this.pos(t), r.reason);
        return undefined;
      }
      // Field by field: a spread into a literal takes V8's slow generic path.
      return { text: r.value.text, value: r.value.value, pos: this.pos(t) };
    });
  });

  ipList = this.RULE("ipList", (): A.IpLit[] => {
    const ips: A.IpLit[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: L.Comma,
      DEF: () => {
        const ip = this.SUBRULE(this.ip);
        if (!this.recording && ip) ips.push(ip);
      },
    });
    return ips;
  });

  cidr = this.RULE("cidr", (): A.CidrLit | undefined => {
    const t = this.CONSUME(L.Cidr);
    return this.ACTION(() => {
      if (this.recovered(t)) return undefined;
      const r = checkCidr(t.image);
      if (!r.ok) {
        this.report(this.pos(t), r.reason);
        return undefined;
      }
      return { text: r.value.text, base: r.value.base, prefix: r.value.prefix, pos: this.pos(t) };
    });
  });

  cidrList = this.RULE("cidrList", (): A.CidrLit[] => {
    const cidrs: A.CidrLit[] = [];
    this.AT_LEAST_ONE_SEP({
      SEP: L.Comma,
      DEF: () => {
        const c = this.SUBRULE(this.cidr);
        if (!this.recording && c) cidrs.push(c);
      },
    });
    return cidrs;
  });

  portNumber = this.RULE("portNumber", (): A.NumberLit => {
    const t = this.CONSUME(L.NumberLiteral);
    return this.recording ? (undefined as never) : this.portOf(t, "port");
  });

  count = this.RULE("count", (): A.NumberLit => {
    const t = this.CONSUME(L.NumberLiteral);
    return this.recording ? (undefined as never) : { value: Number(t.image), pos: this.pos(t) };
  });

  private readonly onOff: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(KW.on) }, { ALT: () => this.CONSUME(KW.off) }];

  switchValue = this.RULE("switchValue", (): A.SwitchLit => {
    const t = this.OR(this.onOff);
    return this.ACTION(() => ({ value: t.image === "on", pos: this.pos(t) }));
  });

  private readonly protocols: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(KW.tcp) }, { ALT: () => this.CONSUME(KW.udp) }];

  protocol = this.RULE("protocol", (): A.WordLit<A.Protocol> => {
    const t = this.OR(this.protocols);
    return this.recording ? (undefined as never) : { value: t.image.toLowerCase() === "udp" ? ("UDP" as const) : ("TCP" as const), pos: this.pos(t) };
  });
}

/** The one parser instance (chevrotain parsers are built once and reused: self-analysis is costly). */
export const svcspecParser = new SvcspecParser();
export type { SvcspecParser };

/** The lookahead decisions of the one parser (each built when asked). */
export const parserDecisions = (): Decision[] =>
  ((svcspecParser as unknown as { lookaheadStrategy: OnDemandLookahead }).lookaheadStrategy).decisions;

/** The lookahead decisions of a parser that records its grammar and computes every path (the table's source). */
export const recordedDecisions = (): Decision[] =>
  ((new SvcspecParser(false, true) as unknown as { lookaheadStrategy: OnDemandLookahead }).lookaheadStrategy).decisions;

/** The grammar's productions recorded from the rules, as chevrotain records them (the table's source). */
export const recordedProductions = (): Record<string, Rule> => new SvcspecParser(false, true).getGAstProductions();

/** The grammar's productions of the one parser (from the table, unless it did not fit). */
export const parserProductions = (): Record<string, Rule> => svcspecParser.getGAstProductions();

/** Every grammar rule, serialised: what the railroad diagram is drawn from. */
export const serializedGrammar = () => svcspecParser.getSerializedGastProductions();
