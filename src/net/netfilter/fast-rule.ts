// The rule shapes kube-proxy writes, compiled straight from the `-A` line: the general parser
// (rule-parse.ts) splits a line into word objects, loads extension instances that parse their
// options into objects of their own, then builds the rule from all of them — a dozen short-lived
// objects per line, and a 10,000-Service dump has 440k lines. Here a line is read in place, in
// the one word order iptables-save prints (which is the order kube-proxy writes):
//
//   -A CHAIN [[!] -s A.B.C.D/N] [[!] -d A.B.C.D/N] [-p tcp|udp|sctp]
//            { -m comment --comment "TEXT" | -m tcp|udp|sctp [--dport N]
//              | -m statistic --mode random --probability P }
//            -j USER-CHAIN | -j ACCEPT | -j DROP | -j RETURN | -j DNAT --to-destination A.B.C.D[:PORT]
//
// and every word in the form iptables-save prints it, so that the rule's save text is the line
// itself. The Rule is the one the general parser builds from the line, made by the same matcher
// factories (test/net/netfilter/fast-path.test.ts compares them line for line). Anything else —
// another option, another order, a `!` elsewhere, a word iptables-save would print differently,
// anything the general parser would refuse — gives null, and the line goes the general way, which
// also makes every error message.

import { prefixMask } from "./addr.js";
import { dportTest } from "./match/ports.js";
import { fixed11, randomMatcher, TWO31 } from "./match/statistic.js";
import { dstTest, protoTest, srcTest } from "./rule-parse.js";
import type { Matcher, Rule, Table, Target } from "./ruleset.js";
import { BUILTIN_CHAINS } from "./ruleset.js";
import { dnatTarget } from "./target/nat.js";

// What the scanners below read, in module variables rather than a result object per word.
let scannedNumber = 0;
let scannedAddr = 0;
let scannedMask = 0;

/**
 * A decimal number at `i` as iptables-save prints one (no sign, no leading zero), at most
 * `max`; its end index (the number in scannedNumber), or -1.
 */
function scanDecimal(line: string, i: number, max: number): number {
  const start = i;
  let v = 0;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    if (v > max) return -1;
  }
  if (i === start || (i - start > 1 && line.charCodeAt(start) === 48)) return -1;
  scannedNumber = v;
  return i;
}

/** A dotted quad as formatIPv4 prints it; its end index (the address in scannedAddr), or -1. */
function scanIPv4(line: string, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (line.charCodeAt(i) !== 46) return -1;
      i++;
    }
    i = scanDecimal(line, i, 255);
    if (i < 0) return -1;
    v = v * 256 + scannedNumber;
  }
  scannedAddr = v >>> 0;
  return i;
}

/**
 * `A.B.C.D/N` as formatAddrMask prints it (N from 1 to 32, the address already masked), followed
 * by a blank; its end index (scannedAddr, scannedMask), or -1. /0 is left to the general parser
 * (without `!` it adds no matcher and is not printed back).
 */
function scanAddrMask(line: string, i: number): number {
  i = scanIPv4(line, i);
  if (i < 0 || line.charCodeAt(i) !== 47) return -1;
  i = scanDecimal(line, i + 1, 32);
  if (i < 0 || scannedNumber === 0 || line.charCodeAt(i) !== 32) return -1;
  const mask = prefixMask(scannedNumber);
  if (((scannedAddr & mask) >>> 0) !== scannedAddr) return -1;
  scannedMask = mask;
  return i;
}

/**
 * The text of `--comment "TEXT"` from just after the opening quote: printable ASCII without the
 * characters saveString escapes (`"`, `\`, `'`), at most 255 of them, the closing quote followed
 * by a blank. Its end index, or -1. A comment starting with `-` is left to the general parser:
 * the line cache takes any word after a `-j`/`-g` word for a possible target name
 * (targetCandidates in restore.ts), and a quoted `-j` is such a word.
 */
function scanComment(line: string, i: number): number {
  const start = i;
  if (line.charCodeAt(i) === 45) return -1;
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) break;
    if (c < 32 || c > 126 || c === 92 || c === 39) return -1;
  }
  if (i >= line.length || i - start > 255 || line.charCodeAt(i + 1) !== 32) return -1;
  return i + 1;
}

function wordEnd(line: string, i: number): number {
  const sp = line.indexOf(" ", i);
  return sp < 0 ? line.length : sp;
}

// The statistic match of a `--probability` text, null for a text iptables-save would not print
// back as it is. kube-proxy writes a few dozen distinct ones (1/n for each endpoint count), each
// over and over: one matcher each, shared by every rule that has it (matchers are immutable, as
// the shared protocol tests and the line cache's shared rules have it), made and printed back
// (fixed11, BigInt arithmetic) once.
const PROBABILITIES_MAX = 1000;
const probabilities = new Map<string, Matcher | null>();

function probabilityMatcher(text: string): Matcher | null {
  let m = probabilities.get(text);
  if (m === undefined) {
    const v = Number(text);
    // The general parser's checks (statistic.ts), then the printed-back form.
    const q = /^[0-9.eE+-]+$/.test(text) && Number.isFinite(v) && v >= 0 && v <= 1 ? Math.round(v * TWO31) : -1;
    m = q >= 0 && fixed11(q) === text ? randomMatcher(q, false) : null;
    if (probabilities.size >= PROBABILITIES_MAX) probabilities.clear();
    probabilities.set(text, m);
  }
  return m;
}

// The last jump target made, and the last DNAT hook check: shared by the rules that follow with
// the same (every KUBE-SEP chain's first rule jumps to KUBE-MARK-MASQ; every DNAT of a dump's
// KUBE-SEP chains, names all of one length, has its target word at the same column). Targets and
// hook checks are immutable.
let lastJump: Target & { kind: "jump" } = { kind: "jump", chain: "" };
let lastDnatCheck: NonNullable<Rule["hookCheck"]> = { target: "DNAT", hooks: [], column: 0, token: "DNAT" };

/** The -j name of a rule compiled here whose target is not a jump (for the line cache). */
export function kubeTargetName(t: Target): string {
  return t.kind === "nat" ? t.action.kind : t.kind.toUpperCase();
}

// The rule's matchers are gathered here, then copied into an array of exactly their number.
const scratch: Matcher[] = [];

/**
 * The rule of the `-A` line `line` (its chain name, an existing chain of `table`, ends at
 * `chainEnd`), or null: the line is not one of the shapes above and goes the general way.
 */
export function compileKubeRule(line: string, chainEnd: number, table: Table, file: string, lineNo: number): Rule | null {
  const n = line.length;
  let i = chainEnd;
  let count = 0;

  let srcNeg = false;
  let hasSrc = false;
  if (line.startsWith(" ! -s ", i)) {
    srcNeg = hasSrc = true;
    i += 6;
  } else if (line.startsWith(" -s ", i)) {
    hasSrc = true;
    i += 4;
  }
  if (hasSrc) {
    i = scanAddrMask(line, i);
    if (i < 0) return null;
    scratch[count++] = srcTest(scannedAddr, scannedMask, srcNeg);
  }

  let dstNeg = false;
  let hasDst = false;
  if (line.startsWith(" ! -d ", i)) {
    dstNeg = hasDst = true;
    i += 6;
  } else if (line.startsWith(" -d ", i)) {
    hasDst = true;
    i += 4;
  }
  let keyDst: number | null = null;
  if (hasDst) {
    i = scanAddrMask(line, i);
    if (i < 0) return null;
    scratch[count++] = dstTest(scannedAddr, scannedMask, dstNeg);
    if (!dstNeg && scannedMask === 0xffffffff) keyDst = scannedAddr;
  }

  let proto = 0;
  let protoWord = "";
  if (line.startsWith(" -p tcp ", i)) {
    proto = 6;
    protoWord = "tcp";
  } else if (line.startsWith(" -p udp ", i)) {
    proto = 17;
    protoWord = "udp";
  } else if (line.startsWith(" -p sctp ", i)) {
    proto = 132;
    protoWord = "sctp";
  }
  if (proto !== 0) {
    i += 4 + protoWord.length;
    scratch[count++] = protoTest(proto, false);
  }

  // The matches, each at most once (a second instance of one is left to the general parser).
  let comment = false;
  let ports = false;
  let statistic = false;
  let keyProtoPort: number | null = null;
  while (line.startsWith(" -m ", i)) {
    i += 4;
    if (!comment && line.startsWith('comment --comment "', i)) {
      i = scanComment(line, i + 19);
      if (i < 0) return null;
      comment = true;
    } else if (!statistic && line.startsWith("statistic --mode random --probability ", i)) {
      i += 38;
      const end = wordEnd(line, i);
      const random = probabilityMatcher(line.slice(i, end));
      if (random === null) return null;
      scratch[count++] = random;
      i = end;
      statistic = true;
    } else if (!ports && proto !== 0 && line.startsWith(protoWord, i) && line.charCodeAt(i + protoWord.length) === 32) {
      // The port match of the rule's own protocol (the kernel refuses any other).
      i += protoWord.length;
      if (line.startsWith(" --dport ", i)) {
        i = scanDecimal(line, i + 9, 65535);
        if (i < 0 || line.charCodeAt(i) !== 32) return null;
        const port = scannedNumber;
        scratch[count++] = dportTest(port, port, false);
        keyProtoPort = (proto << 16) | port;
      }
      ports = true;
    } else {
      return null;
    }
  }

  if (!line.startsWith(" -j ", i)) return null;
  const nameStart = i + 4;
  const nameEnd = wordEnd(line, nameStart);
  const name = line.slice(nameStart, nameEnd);
  const builtin = BUILTIN_CHAINS[table.name].includes(name);
  const jumpTo = table.chains.get(name);
  let target: Target;
  let hookCheck: Rule["hookCheck"] = undefined;
  if (jumpTo !== undefined) {
    if (builtin || nameEnd !== n) return null;
    if (lastJump.chain !== jumpTo.name) lastJump = { kind: "jump", chain: jumpTo.name };
    target = lastJump;
  } else if (name === "DNAT") {
    if (table.name !== "nat" || !line.startsWith(" --to-destination ", nameEnd)) return null;
    i = scanIPv4(line, nameEnd + 18);
    if (i < 0) return null;
    const ip = scannedAddr;
    let port: number | null = null;
    if (i < n && line.charCodeAt(i) === 58 && proto !== 0) {
      i = scanDecimal(line, i + 1, 65535);
      if (i < 0) return null;
      port = scannedNumber;
    }
    if (i !== n) return null;
    target = { kind: "nat", action: { kind: "DNAT", ip, port } };
    if (lastDnatCheck.column !== nameStart + 1) {
      lastDnatCheck = { target: dnatTarget.name, hooks: dnatTarget.hooks!, column: nameStart + 1, token: dnatTarget.name };
    }
    hookCheck = lastDnatCheck;
  } else if (nameEnd === n && (name === "ACCEPT" || name === "RETURN" || (name === "DROP" && table.name !== "nat"))) {
    target = name === "ACCEPT" ? { kind: "accept" } : name === "DROP" ? { kind: "drop" } : { kind: "return" };
  } else {
    return null;
  }

  const matchers = count === 0 ? [] : scratch.slice(0, count);
  scratch.fill(undefined as unknown as Matcher);
  const src = { file, line: lineNo, lineText: line };
  return hookCheck === undefined
    ? { matchers, target, text: line, src, keyDst, keyProtoPort }
    : { matchers, target, text: line, src, keyDst, keyProtoPort, hookCheck };
}
