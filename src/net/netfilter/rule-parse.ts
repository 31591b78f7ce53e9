// One rule's words (after `-A CHAIN`) → compiled Rules, the way iptables parses a command:
// `!` negates the next option, `-m NAME` loads a match, an option goes to whichever loaded
// extension owns it (the target first, then the latest match), and `--dport` after `-p tcp`
// loads the tcp match implicitly. `-s a,b` expands into one rule per address, as iptables does.

import type { PacketView, TableName } from "./api.js";
import { type AddrMask, formatAddrMask, parseAddrMask } from "./addr.js";
import type { CompiledMatch, MatchInstance, OptionCursor, RuleFacts, TargetInstance, TargetModule } from "./ext.js";
import type { Token } from "./lex.js";
import { MATCHES, UNSUPPORTED_MATCHES } from "./match/registry.js";
import { ifaceMatches, validIfaceName } from "./match/iface.js";
import { PROTO_NUMBERS, protoName } from "./match/ports.js";
import type { Matcher, Rule, SourceRef, Target } from "./ruleset.js";
import { BUILTIN_CHAINS } from "./ruleset.js";
import { TARGETS, UNSUPPORTED_TARGETS } from "./target/registry.js";

export interface RuleParseEnv {
  table: TableName;
  chain: string;
  /** Does a chain of this name exist in the table (at this point of the restore)? */
  chainExists(name: string): boolean;
  /**
   * The existing chain's own name string, when the restore can give it: a jump target that is
   * the very string keying the chain map makes COMMIT's graph checks cheap (hash computed once,
   * identity compare) and stores one copy of the name instead of one per rule.
   */
  chainName?(name: string): string | undefined;
  /** Known chain names, for "did you mean" suggestions. */
  chainNames(): Iterable<string>;
  src: SourceRef;
  fail(message: string, at: Token, suggestion?: string): never;
}

const IN_FORBIDDEN = new Set(["OUTPUT", "POSTROUTING"]);
const OUT_FORBIDDEN = new Set(["PREROUTING", "INPUT"]);

function closest(word: string, options: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? `did you mean \`${best}\`?` : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

// Matcher closures are made here, outside parseRuleWords: a closure created inside it would keep
// the parser's whole scope alive (the line's tokens, the restore's environment and its closures)
// for as long as the rule lives — about a kilobyte per rule, most of a 10k-Service ruleset's
// memory.
function ifaceTest(input: boolean, name: string, neg: boolean): Matcher {
  return input
    ? { kind: "test", test: (pk: PacketView) => ifaceMatches(pk.inIface ?? "", name) !== neg }
    : { kind: "test", test: (pk: PacketView) => ifaceMatches(pk.outIface ?? "", name) !== neg };
}
// A handful of protocol tests cover every rule: share them (fewer objects for the GC to copy
// while a 10k-Service ruleset is built; matchers are immutable).
const protoTests = new Map<number, Matcher>();
export function protoTest(n: number, neg: boolean): Matcher {
  const key = neg ? -1 - n : n;
  let m = protoTests.get(key);
  if (!m) protoTests.set(key, (m = { kind: "test", test: (pk: PacketView) => (pk.proto === n) !== neg }));
  return m;
}
function constTest(result: boolean): Matcher {
  return { kind: "test", test: () => result };
}
// Address tests are one object each (a class instance with its test on the prototype), not an
// object, a closure and the closure's context: a 10k-Service dump has 130k of them. Two classes
// rather than one with a flag: each test reads its one field with no branch.
class SrcTest {
  readonly kind = "test";
  constructor(
    readonly addr: number,
    readonly mask: number,
    readonly neg: boolean,
  ) {}
  test(pk: PacketView): boolean {
    return (((pk.src & this.mask) >>> 0) === this.addr) !== this.neg;
  }
}
class DstTest {
  readonly kind = "test";
  constructor(
    readonly addr: number,
    readonly mask: number,
    readonly neg: boolean,
  ) {}
  test(pk: PacketView): boolean {
    return (((pk.dst & this.mask) >>> 0) === this.addr) !== this.neg;
  }
}
export function srcTest(addr: number, mask: number, neg: boolean): Matcher {
  return new SrcTest(addr, mask, neg);
}
export function dstTest(addr: number, mask: number, neg: boolean): Matcher {
  return new DstTest(addr, mask, neg);
}

/** The words of one rule, read left to right by the parser and the extensions' option parsers. */
class WordCursor implements OptionCursor {
  i = 0;
  constructor(
    readonly words: Token[],
    readonly env: RuleParseEnv,
  ) {}
  arg(opt: Token, what: string): Token {
    const t = this.words[this.i];
    if (!t) this.env.fail(`option ${opt.text} needs an argument (${what})`, opt);
    this.i++;
    return t!;
  }
  peekValue(): Token | null {
    const t = this.words[this.i];
    return t && !t.text.startsWith("-") && t.text !== "!" ? t : null;
  }
  fail(message: string, at: Token, suggestion?: string): never {
    return this.env.fail(message, at, suggestion);
  }
  /** A `!` read and not yet used by an option. */
  negPending: Token | null = null;
  /** Whether the option being read is negated (and the `!` is used up). */
  takeNeg(): boolean {
    const n = this.negPending !== null;
    this.negPending = null;
    return n;
  }
}

function addrList(cur: WordCursor, env: RuleParseEnv, opt: Token): AddrMask[] {
  const a = cur.arg(opt, "an address");
  return a.text.split(",").map((part) => {
    const am = parseAddrMask(part);
    if (!am) env.fail(`invalid address \`${part}\` (an IPv4 address, optionally /prefix; host names are not resolved)`, a);
    return am;
  });
}

interface AddrOption {
  list: AddrMask[];
  neg: boolean;
  tok: Token;
}
interface IfaceOption {
  name: string;
  neg: boolean;
}
interface ProtoOption {
  n: number;
  neg: boolean;
}
interface LoadedMatch {
  name: string;
  inst: MatchInstance;
  at: Token;
}
type ParsedTarget = { kind: "standard"; t: Target; tok: Token; save: string } | { kind: "ext"; mod: TargetModule; inst: TargetInstance; tok: Token };

export function parseRuleWords(words: Token[], env: RuleParseEnv): Rule[] {
  // A cursor object rather than closures over the parser's locals (no closures made per rule).
  const cur = new WordCursor(words, env);
  let src: AddrOption | null = null;
  let dst: AddrOption | null = null;
  let inIf: IfaceOption | null = null;
  let outIf: IfaceOption | null = null;
  let proto: ProtoOption | null = null;
  let frag: { neg: boolean } | null = null;
  const matches: LoadedMatch[] = [];
  let target: ParsedTarget | null = null;

  while (cur.i < words.length) {
    const w = words[cur.i]!;
    cur.i++;
    if (w.text === "!") {
      if (cur.negPending) env.fail("two `!` in a row", w);
      cur.negPending = w;
      continue;
    }
    switch (w.text) {
      case "-s":
      case "--source":
      case "--src":
      case "-d":
      case "--destination":
      case "--dst": {
        const isSrc = w.text === "-s" || w.text === "--source" || w.text === "--src";
        if (isSrc ? src : dst) env.fail(`${w.text} given twice`, w);
        const neg = cur.takeNeg();
        const list = addrList(cur, env, w);
        if (neg && list.length > 1) env.fail("`!` cannot be used with a list of addresses", w);
        if (isSrc) src = { list, neg, tok: w };
        else dst = { list, neg, tok: w };
        continue;
      }
      case "-p":
      case "--protocol": {
        if (proto) env.fail("-p given twice", w);
        const neg = cur.takeNeg();
        const a = cur.arg(w, "a protocol");
        const lower = a.text.toLowerCase();
        let n: number | undefined = PROTO_NUMBERS[lower];
        if (n === undefined && /^[0-9]{1,3}$/.test(a.text) && Number(a.text) <= 255) n = Number(a.text);
        if (n === undefined) env.fail(`unknown protocol \`${a.text}\``, a, closest(lower, Object.keys(PROTO_NUMBERS)) ?? "tcp, udp, icmp, sctp, all or a number");
        if (n === 0 && neg) env.fail("`! -p all` matches nothing; iptables refuses it", w);
        proto = { n, neg };
        continue;
      }
      case "-i":
      case "--in-interface":
      case "-o":
      case "--out-interface": {
        const isIn = w.text === "-i" || w.text === "--in-interface";
        const neg = cur.takeNeg();
        const a = cur.arg(w, "an interface name");
        if (!validIfaceName(a.text)) env.fail(`invalid interface name \`${a.text}\` (at most 15 characters)`, a);
        if (isIn && IN_FORBIDDEN.has(env.chain) && BUILTIN_CHAINS[env.table].includes(env.chain)) env.fail(`-i cannot be used in the ${env.chain} chain (packets there have no input interface)`, w);
        if (!isIn && OUT_FORBIDDEN.has(env.chain) && BUILTIN_CHAINS[env.table].includes(env.chain)) env.fail(`-o cannot be used in the ${env.chain} chain (packets there have no output interface yet)`, w);
        if (isIn) inIf = { name: a.text, neg };
        else outIf = { name: a.text, neg };
        continue;
      }
      case "-f":
      case "--fragment":
        frag = { neg: cur.takeNeg() };
        continue;
      case "-m":
      case "--match": {
        if (cur.negPending) env.fail("`!` cannot negate -m; put it before the match's option", cur.negPending);
        const a = cur.arg(w, "a match name");
        const mod = MATCHES.get(a.text);
        if (!mod) {
          const why = UNSUPPORTED_MATCHES.get(a.text);
          if (why) env.fail(why, a);
          env.fail(`unknown match \`${a.text}\` (svcspec does not implement it, and skipping it would change verdicts)`, a, closest(a.text, MATCHES.keys()));
        }
        matches.push({ name: a.text, inst: mod.create(), at: a });
        continue;
      }
      case "-j":
      case "--jump":
      case "-g":
      case "--goto": {
        if (cur.negPending) env.fail("`!` cannot negate a target", cur.negPending);
        if (target) env.fail("a rule has only one target (-j/-g given twice)", w);
        const isGoto = w.text === "-g" || w.text === "--goto";
        const a = cur.arg(w, "a target or chain name");
        const name = a.text;
        if (env.chainExists(name) && !BUILTIN_CHAINS[env.table].includes(name)) {
          const chain = env.chainName?.(name) ?? name;
          target = { kind: "standard", t: isGoto ? { kind: "goto", chain } : { kind: "jump", chain }, tok: a, save: ` ${isGoto ? "-g" : "-j"} ${name}` };
          continue;
        }
        if (BUILTIN_CHAINS[env.table].includes(name)) env.fail(`cannot jump to the built-in chain ${name}`, a);
        if (isGoto) env.fail(`no chain named \`${name}\` in table ${env.table} to go to`, a, closest(name, env.chainNames()));
        if (name === "ACCEPT" || name === "DROP" || name === "RETURN") {
          if (name === "DROP" && env.table === "nat")
            env.fail('the "nat" table is not intended for filtering, iptables refuses DROP there', a);
          const t: Target = name === "ACCEPT" ? { kind: "accept" } : name === "DROP" ? { kind: "drop" } : { kind: "return" };
          target = { kind: "standard", t, tok: a, save: ` -j ${name}` };
          continue;
        }
        const mod = TARGETS.get(name);
        if (!mod) {
          const why = UNSUPPORTED_TARGETS.get(name);
          if (why) env.fail(why, a);
          env.fail(`no chain or target named \`${name}\` in table ${env.table}`, a, closest(name, [...env.chainNames(), "ACCEPT", "DROP", "RETURN", ...TARGETS.keys()]));
        }
        if (mod.tables && !mod.tables.includes(env.table))
          env.fail(`the ${name} target is only valid in the ${mod.tables.join("/")} table, not ${env.table}`, a);
        target = { kind: "ext", mod, inst: mod.create(), tok: a };
        continue;
      }
      case "-c":
      case "--set-counters":
        // Rule counters (`-c PKTS BYTES`): accounting only.
        cur.arg(w, "a packet count");
        cur.arg(w, "a byte count");
        continue;
      default:
        break;
    }
    if (!w.text.startsWith("-")) env.fail(`unexpected word \`${w.text}\` (an option was expected)`, w);
    // An extension option: the target, then the latest match that takes it, then the
    // protocol's implicit match.
    const neg = cur.takeNeg();
    if (target && target.kind === "ext" && target.inst.takes(w.text)) {
      target.inst.parse(w, neg, cur);
      continue;
    }
    let owner: MatchInstance | null = null;
    for (let k = matches.length - 1; k >= 0; k--) {
      if (matches[k]!.inst.takes(w.text)) {
        owner = matches[k]!.inst;
        break;
      }
    }
    if (!owner && proto && !proto.neg) {
      const pname = protoName(proto.n);
      const mod = MATCHES.get(pname);
      if (mod && !matches.some((m) => m.name === pname)) {
        const inst = mod.create();
        if (inst.takes(w.text)) {
          matches.push({ name: pname, inst, at: w });
          owner = inst;
        }
      }
    }
    if (!owner) {
      const hint = proto ? undefined : w.text === "--dport" || w.text === "--sport" ? "add `-p tcp` (or udp/sctp) before it" : undefined;
      env.fail(`unknown option ${w.text} (no loaded match or target takes it)`, w, hint);
    }
    owner.parse(w, neg, cur);
  }
  if (cur.negPending) env.fail("`!` at the end of the rule negates nothing", cur.negPending);

  return buildRules(env, cur, src, dst, inIf, outIf, proto, frag, matches, target);
}

/** The rules of one parsed line: header matchers, extension matchers, target, one rule per -s/-d address pair. */
function buildRules(
  env: RuleParseEnv,
  cur: WordCursor,
  src: AddrOption | null,
  dst: AddrOption | null,
  inIf: IfaceOption | null,
  outIf: IfaceOption | null,
  proto: ProtoOption | null,
  frag: { neg: boolean } | null,
  matches: LoadedMatch[],
  target: ParsedTarget | null,
): Rule[] {
  const p = proto as { n: number; neg: boolean } | null;
  const facts: RuleFacts = { table: env.table, chain: env.chain, proto: p && p.n !== 0 ? p.n : null, protoNegated: p ? p.neg : false };

  // Header matchers (the kernel checks the IP header part before any extension match).
  const head: Matcher[] = [];
  let headSave = "";
  const pinIf = (x: { name: string; neg: boolean } | null, flag: "-i" | "-o"): void => {
    if (!x) return;
    const { name, neg } = x;
    head.push(ifaceTest(flag === "-i", name, neg));
  };
  pinIf(inIf, "-i");
  pinIf(outIf, "-o");
  if (p && p.n !== 0) {
    const { n, neg } = p;
    head.push(protoTest(n, neg));
  }
  if (frag) {
    // Packets are whole datagrams here: `-f` (non-first fragments) never matches.
    const neg = frag.neg;
    head.push(constTest(neg));
  }

  const compiled: CompiledMatch[] = matches.map((m) => m.inst.finish(facts, m.at, cur));
  let tgt: Target;
  let tgtSave: string;
  let tgtModule: TargetModule | null = null;
  let tgtTok: Token | null = null;
  const t = target as typeof target;
  if (!t) {
    tgt = { kind: "none" };
    tgtSave = "";
  } else if (t.kind === "standard") {
    tgt = t.t;
    tgtSave = t.save;
    tgtTok = t.tok;
  } else {
    const c = t.inst.finish(facts, t.tok, cur);
    tgt = c.target;
    tgtSave = c.save;
    tgtModule = t.mod;
    tgtTok = t.tok;
  }

  let keyProtoPort: number | null = null;
  if (p && !p.neg && p.n !== 0) for (const c of compiled) if (c.singleDport !== undefined) { keyProtoPort = (p.n << 16) | c.singleDport; break; }
  const extMatchers = compiled.flatMap((c) => c.matchers);
  const extSave = compiled.map((c) => c.save).join("");
  if (inIf) headSave += `${(inIf as { neg: boolean }).neg ? " !" : ""} -i ${(inIf as { name: string }).name}`;
  if (outIf) headSave += `${(outIf as { neg: boolean }).neg ? " !" : ""} -o ${(outIf as { name: string }).name}`;
  if (p && p.n !== 0) headSave += `${p.neg ? " !" : ""} -p ${protoName(p.n)}`;
  if (frag) headSave += `${(frag as { neg: boolean }).neg ? " !" : ""} -f`;

  const srcs = src ? (src as { list: AddrMask[] }).list : [null];
  const dsts = dst ? (dst as { list: AddrMask[] }).list : [null];
  const srcNeg = src ? (src as { neg: boolean }).neg : false;
  const dstNeg = dst ? (dst as { neg: boolean }).neg : false;
  const out: Rule[] = [];
  for (const s of srcs) {
    for (const d of dsts) {
      const addrMatchers: Matcher[] = [];
      let addrSave = "";
      if (s && !(s.mask === 0 && !srcNeg)) {
        const { addr, mask } = s;
        addrMatchers.push(srcTest(addr, mask, srcNeg));
        addrSave += `${srcNeg ? " !" : ""} -s ${formatAddrMask(s)}`;
      }
      if (d && !(d.mask === 0 && !dstNeg)) {
        const { addr, mask } = d;
        addrMatchers.push(dstTest(addr, mask, dstNeg));
        addrSave += `${dstNeg ? " !" : ""} -d ${formatAddrMask(d)}`;
      }
      // The save form is usually the line itself (kube-proxy and iptables-save write it so):
      // then keep the line (a slice of the source, kept anyway by src) instead of the text
      // built from parts, which V8 holds as a tree of pieces several times its size.
      const text = `-A ${env.chain}${addrSave}${headSave}${extSave}${tgtSave}`;
      out.push({
        // concat makes an array of exactly this length; a spread or a push leaves room for 17 or
        // more (≈ 130 bytes a rule: 60 MB over a 10,000-Service dump's 440k rules).
        matchers: addrMatchers.concat(head, extMatchers),
        target: tgt,
        text: text === env.src.lineText ? env.src.lineText : text,
        src: env.src,
        keyDst: d && !dstNeg && d.mask === 0xffffffff ? d.addr : null,
        keyProtoPort,
        ...(tgtModule?.hooks && tgtTok ? { hookCheck: { target: tgtModule.name, hooks: tgtModule.hooks, column: tgtTok.column, token: tgtTok.text } } : {}),
      });
    }
  }
  return out;
}
