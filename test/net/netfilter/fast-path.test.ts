// The kube-proxy fast path (src/net/netfilter/fast-rule.ts) against the general parser: every
// line it takes must load to exactly the rules the general parser makes of it — same text,
// target, dispatch keys, hook check, source position, and matchers that answer alike on the same
// packets — and every line it declines must fail or load as the general parser has it, error
// message, line and column included. Lines: the upstream fixtures' dumps, a generated
// 1,000-Service dump, and kube-proxy lines mutated at random.

import { describe, expect, it } from "vitest";
import { benchProxierConfig, generateCluster, mulberry32 } from "../../../bench/gen.js";
import { nodeTables } from "../../../src/kube/proxier/index.js";
import type { PacketView } from "../../../src/net/netfilter/api.js";
import { RulesetParseError } from "../../../src/net/netfilter/errors.js";
import { compileKubeRule } from "../../../src/net/netfilter/fast-rule.js";
import { fixed11 } from "../../../src/net/netfilter/match/statistic.js";
import { LINE_CACHE_TEXT_MAX, applyRestore } from "../../../src/net/netfilter/restore.js";
import { emptyRuleset, type Ruleset, type Table } from "../../../src/net/netfilter/ruleset.js";
import { upstreamFixtures } from "../../kube/upstream-fixtures.js";
import { ctx, describeLoad } from "./helpers.js";

// A comment line long enough to put any text past the line cache's limit: every -A line of the
// load is then compiled by it (fast path or general parser), none taken from an earlier load.
const UNCACHED = `#${" ".repeat(LINE_CACHE_TEXT_MAX)}\n`;

/** Packets made of the addresses and numbers in a rule's text and their neighbours. */
function probes(text: string): PacketView[] {
  const addrs = [0, 0x0a000001, 0xc0a80111];
  for (const m of text.matchAll(/(\d+)\.(\d+)\.(\d+)\.(\d+)/g)) {
    const v = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    addrs.push(v, (v + 1) >>> 0, (v ^ 0x80000000) >>> 0, (v ^ 0x00100000) >>> 0);
  }
  const ports = [0, 80, 65535];
  for (const m of text.matchAll(/\b\d{1,5}\b/g)) {
    const p = Number(m[0]);
    if (p <= 65535) ports.push(p, Math.min(p + 1, 65535), Math.max(p - 1, 0));
  }
  const protos = [6, 17, 132, 1, 0];
  const out: PacketView[] = [];
  for (let i = 0; i < 48; i++) {
    out.push({
      src: addrs[i % addrs.length]!,
      dst: addrs[(i * 7 + 3) % addrs.length]!,
      proto: protos[i % protos.length]!,
      sport: ports[(i * 3) % ports.length]!,
      dport: ports[(i * 5 + 1) % ports.length]!,
      mark: 0,
      inIface: "eth0",
      outIface: null,
    });
  }
  return out;
}

/** describeLoad, and what each rule's test matchers answer on packets made from its text. */
function deepDescribe(rs: Ruleset): unknown {
  const c = ctx();
  const answers: string[] = [];
  for (const t of rs.tables.values()) {
    for (const chain of t.chains.values()) {
      for (const r of chain.rules) {
        const ps = probes(r.text);
        answers.push(r.matchers.map((m) => (m.kind === "test" ? ps.map((p) => (m.test(p, c) ? "1" : "0")).join("") : m.kind)).join(" "));
      }
    }
  }
  return { load: describeLoad(rs), answers };
}

type Outcome = { loaded: unknown } | { error: { message: string; pos: unknown; suggestion: string | undefined } };

function outcome(text: string, generic: boolean, noflush = false): Outcome {
  try {
    return { loaded: deepDescribe(applyRestore(emptyRuleset(), text, { noflush, file: "t.rules", generic })) };
  } catch (e) {
    if (e instanceof RulesetParseError) return { error: { message: e.message, pos: e.pos, suggestion: e.suggestion } };
    throw e;
  }
}

/** The text loaded with the fast path (uncached), and with the line cache (twice), each as the general parser loads it. */
function expectSameAsGeneric(text: string, what: string): void {
  const reference = outcome(UNCACHED + text, true);
  expect(outcome(UNCACHED + text, false), what).toEqual(reference);
  if (text.length <= LINE_CACHE_TEXT_MAX) {
    const cachedReference = outcome(text, true);
    expect(outcome(text, false), `${what} (line cache)`).toEqual(cachedReference);
    expect(outcome(text, false), `${what} (line cache, remembered lines)`).toEqual(cachedReference);
  }
}

/** How many of a dump's -A lines the fast path compiles (in the tables as loaded). */
function fastShare(text: string, only: (line: string) => boolean = () => true): { fast: number; all: number } {
  const rs = applyRestore(emptyRuleset(), text, { noflush: false, generic: true });
  let table: Table | undefined;
  let fast = 0;
  let all = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) table = rs.tables.get(line.slice(1) as Table["name"]);
    if (!line.startsWith("-A ") || !table || !only(line)) continue;
    all++;
    const end = line.indexOf(" ", 3);
    if (end > 0 && table.chains.has(line.slice(3, end)) && compileKubeRule(line, end, table, "t.rules", 1) !== null) fast++;
  }
  return { fast, all };
}

const fixtures = upstreamFixtures();

function fixtureDumps(): Array<{ name: string; text: string }> {
  const out: Array<{ name: string; text: string }> = [];
  for (const f of fixtures) {
    for (const cfg of [f.proxier, { ...f.proxier, nodeName: "node-without-endpoints" }, { ...f.proxier, masqueradeAll: !f.proxier.masqueradeAll }]) {
      out.push({ name: `${f.name} ${cfg.nodeName} masqueradeAll=${cfg.masqueradeAll}`, text: nodeTables(f.services, f.slices, cfg) });
    }
  }
  return out;
}

// Words that kube-proxy lines are made of, and near misses of them.
const WORDS = [
  "!", "-s", "-d", "--source", "--dst", "-p", "tcp", "udp", "sctp", "icmp", "TCP", "all", "6", "-m", "comment", "--comment",
  '"a comment"', '"it\'s"', '"a \\"quoted\\" word"', '"é"', '""', '"-j"', "bare-comment", "--dport", "--sport", "--dports", "080", "65535",
  "65536", "0", "8080", "statistic", "--mode", "random", "nth", "--every", "3", "--probability", "0.50000000000", "0.5", "0.33333333349",
  "0.33333333333", "1.5", "1e-1", "-j", "-g", "--jump", "DNAT", "SNAT", "ACCEPT", "DROP", "RETURN", "REJECT", "MASQUERADE", "KUBE-MARK-MASQ",
  "KUBE-NOPE", "PREROUTING", "POSTROUTING", "--to-destination", "10.0.0.1:80", "10.0.0.1", "10.0.0.1:080", "10.0.0.1:99999",
  "10.0.0.1-10.0.0.2:80", "10.0.0.1/32", "010.0.0.1/32", "10.0.0.1/33", "10.0.0.1/0", "10.0.0.0/8", "10.0.0.1/8", "10.0.0.1/255.0.0.0",
  "256.1.1.1/32", "10.0.0.1,10.0.0.2", "-m tcp", "nfacct", "addrtype", "--dst-type", "LOCAL", "[0:0]", "-c", "--random",
];

const ADDRS = ["10.1.2.3/32", "10.0.0.0/8", "10.64.0.0/10", "10.64.0.1/10", "0.0.0.0/0", "255.255.255.255/32", "1.2.3.4/31", "128.0.0.0/1", "010.1.2.3/32", "10.1.2.3/032", "10.1.2.3/255.255.255.255", "10.1.2.3", "10.1.2/32"];
const PORTS = ["1", "0", "65535", "65536", "01", "80", "443", "8080", "1:2", "-1"];
const NAT_ADDRS = ["10.1.2.3:1", "10.1.2.3:0", "10.1.2.3", "10.1.2.3:65535", "10.1.2.3:65536", "1.2.3.4:08", "1.2.3.4:", "1.2.3.256:80", "0.0.0.0:80"];
const COMMENT_CHARS = "abc XYZ/:-_.019#!$%&()*+,;<=>?@[]^`{|}~'\"\\\tüé☃";

/** A word replaced by another of its kind: an address, a port, a probability, a comment ... */
function revalue(word: string, prev: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  if (prev === "-s" || prev === "-d") return pick(ADDRS);
  if (prev === "--dport") return pick(PORTS);
  if (prev === "--to-destination") return pick(NAT_ADDRS);
  if (prev === "--probability") {
    const q = Math.floor(rand() * 2 ** 31);
    return pick([fixed11(q), fixed11(2 ** 31), fixed11(0), String(q / 2 ** 31), "0.5", fixed11(q).slice(0, -1), `${fixed11(q)}0`]);
  }
  if (prev === "--comment") {
    const n = pick([0, 1, 5, 20, 254, 255, 256]);
    let text = "";
    for (let k = 0; k < n; k++) text += n > 30 ? "a" : COMMENT_CHARS[Math.floor(rand() * COMMENT_CHARS.length)];
    return rand() < 0.8 ? `"${text.replace(/["\\]/g, "")}"` : `"${text}"`;
  }
  if (prev === "-j") return pick(["KUBE-MARK-MASQ", "KUBE-SERVICES", "KUBE-NOPE", "ACCEPT", "DROP", "RETURN", "DNAT", "PREROUTING"]);
  if (word === "tcp" || word === "udp" || word === "sctp") return pick(["tcp", "udp", "sctp"]);
  return word;
}

function mutate(line: string, rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // Words as the line has them (a quoted comment stays one word).
  const words: string[] = [...(line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [])];
  if (rand() < 0.5) {
    // Values changed, the options kept: mostly lines the fast path still takes, or nearly.
    // The protocol, -p and -m alike (or now and then one of them alone).
    const protoSwap = rand() < 0.3 ? pick(["udp", "sctp"]) : null;
    for (let k = 2; k < words.length; k++) {
      if (protoSwap !== null && words[k] === "tcp") words[k] = protoSwap;
      else if (rand() < 0.4) words[k] = revalue(words[k]!, words[k - 1]!, rand);
    }
    if (rand() < 0.1) {
      const at = words.findIndex((w) => w === "-s" || w === "-d");
      if (at > 0) words.splice(at, 0, "!");
    }
    return words.join(" ");
  }
  const k = 2 + Math.floor(rand() * Math.max(1, words.length - 2));
  switch (Math.floor(rand() * 12)) {
    case 0:
      words[k] = pick(WORDS);
      break;
    case 1:
      words.splice(k, 1);
      break;
    case 2:
      if (k + 1 < words.length) [words[k], words[k + 1]] = [words[k + 1]!, words[k]!];
      break;
    case 3:
      words.splice(k, 0, pick(WORDS));
      break;
    case 4:
      words.splice(k, 0, "!");
      break;
    case 5:
      words.splice(k, 0, words[k] ?? "-j");
      break;
    case 6: {
      // One character changed (a digit, a letter, a blank, something non-ASCII).
      const w = words[k] ?? "";
      const at = Math.floor(rand() * (w.length + 1));
      words[k] = w.slice(0, at) + pick(["0", "9", ".", "/", ":", "-", "x", " ", "\t", '"', "'", "\\", "ü", "\u00a0", "☃"]) + w.slice(at + 1);
      break;
    }
    case 7:
      // Another chain, maybe a built-in one.
      words[1] = pick(["KUBE-SERVICES", "KUBE-NOPE", "PREROUTING", "POSTROUTING", "OUTPUT", "INPUT", "KUBE-MARK-MASQ"]);
      break;
    case 8: {
      const joined = words.join(" ");
      return pick([`${joined} `, ` ${joined}`, `${joined}\r`, joined.replace(" ", "  "), joined.replace(/ (?=[^ ]*$)/, "\t"), `[1:2] ${joined}`]);
    }
    case 9:
      words.push(pick(WORDS));
      break;
    case 10:
      words.splice(k, 2);
      break;
    default:
      words[k] = pick(WORDS);
      words.splice(Math.floor(rand() * words.length), 0, pick(WORDS));
  }
  return words.join(" ");
}

/** A table holding the chains a kube-proxy line names (and those it may be mutated into), with the line. */
function oneLineTable(line: string, original: string, table: string): string {
  const chains = new Set(["KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-NODEPORTS"]);
  for (const w of original.split(" ")) if (/^KUBE-[A-Z0-9-]+$/.test(w)) chains.add(w);
  const builtins = table === "nat" ? ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] : ["INPUT", "FORWARD", "OUTPUT"];
  return [
    `*${table}`,
    ...builtins.map((b) => `:${b} ACCEPT [0:0]`),
    ...[...chains].map((c) => `:${c} - [0:0]`),
    // Reached from PREROUTING, so that a DNAT rule is in a chain it is valid in (and, moved to
    // POSTROUTING, is not).
    ...(table === "nat" ? ["-A PREROUTING -j KUBE-SERVICES"] : []),
    line,
    "COMMIT",
    "",
  ].join("\n");
}

describe("the kube-proxy fast path loads what the general parser loads", () => {
  it("every dump of the upstream fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    let fast = 0;
    let all = 0;
    for (const { name, text } of fixtureDumps()) {
      expectSameAsGeneric(text, name);
      const share = fastShare(text);
      fast += share.fast;
      all += share.all;
    }
    // The comparison is worth something only if the fast path took most lines.
    expect(fast / all).toBeGreaterThan(0.5);
  });

  it("a 1,000-Service dump", () => {
    const cluster = generateCluster({ services: 1000, endpoints: 10, nodes: 100, seed: 42 });
    const text = nodeTables(cluster.services, cluster.slices, benchProxierConfig(true));
    expect(text.length).toBeGreaterThan(LINE_CACHE_TEXT_MAX);
    expectSameAsGeneric(text, "1k dump");
    const share = fastShare(text);
    expect(share.fast / share.all).toBeGreaterThan(0.95);
  });

  it("kube-proxy lines mutated at random: the same rules or the same error", () => {
    const cluster = generateCluster({ services: 40, endpoints: 3, nodes: 4, seed: 7 });
    const sources = [
      ...fixtureDumps().map((d) => d.text),
      nodeTables(cluster.services, cluster.slices, benchProxierConfig(true)),
      nodeTables(cluster.services, cluster.slices, benchProxierConfig(false)),
    ];
    const lines = [...new Set(sources.flatMap((t) => t.split("\n")).filter((l) => l.startsWith("-A ")))];
    const rand = mulberry32(2024);
    let loaded = 0;
    let failed = 0;
    let mutatedFast = 0;
    for (let n = 0; n < 4000; n++) {
      const original = lines[Math.floor(rand() * lines.length)]!;
      const line = n % 10 === 0 ? original : mutate(original, rand);
      const text = oneLineTable(line, original, n % 4 === 3 ? "filter" : "nat");
      const reference = outcome(UNCACHED + text, true);
      expect(outcome(UNCACHED + text, false), line).toEqual(reference);
      expect(outcome(text, false), `${line} (line cache)`).toEqual(outcome(text, true));
      if ("loaded" in reference) {
        loaded++;
        if (line !== original) mutatedFast += fastShare(text, (l) => l === line).fast;
      } else {
        failed++;
      }
    }
    // Both sides exercised: lines that load and lines that fail.
    expect(loaded).toBeGreaterThan(1000);
    expect(failed).toBeGreaterThan(1000);
    // And mutated lines the fast path takes (a changed address, port, comment, chain ...).
    expect(mutatedFast).toBeGreaterThan(400);
  });

  it("lines of several chains, one after another and between other commands", () => {
    // Chain names that are prefixes of one another, so that a line is not taken for the
    // previous line's chain; chains flushed, deleted and made again in between. Commands are
    // mostly valid for the chains as they are at that point, so that most scripts load.
    const chains = ["KUBE-A", "KUBE-AB", "KUBE-ABC", "KUBE-B"];
    const ruleTo = (to: string): string =>
      to === "" ? "-j RETURN" : `${["", "-s 10.1.2.3/32 ", "-m statistic --mode random --probability 0.50000000000 ", '-d 10.96.0.1/32 -p tcp -m comment --comment "ns/svc:http" -m tcp --dport 80 '][to.length % 4]}-j ${to}`;
    const rand = mulberry32(99);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let loaded = 0;
    for (let n = 0; n < 400; n++) {
      const lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":KUBE-MARK-MASQ - [0:0]"];
      const exists = new Set<string>();
      const declared = new Set<string>();
      // The chains each chain's rules jump to.
      const jumps = new Map<string, Set<string>>();
      for (const c of chains) {
        if (rand() < 0.8) {
          lines.push(`:${c} - [0:0]`);
          exists.add(c);
          declared.add(c);
        }
      }
      const length = 2 + Math.floor(rand() * 25);
      for (let k = 0; k < length; k++) {
        const r = rand();
        // Mostly an existing chain (now and then one that is not: an error).
        const present = chains.filter((x) => exists.has(x));
        const c = r < 0.88 && present.length > 0 && rand() < 0.98 ? pick(present) : pick(chains);
        if (r < 0.75) {
          // A jump only to a chain further down the list (no loops), else a DNAT, a MASQ mark or a RETURN.
          const later = chains.slice(chains.indexOf(c) + 1).filter((x) => exists.has(x));
          const to = later.length > 0 && rand() < 0.5 ? pick(later) : null;
          const body = to !== null ? ruleTo(to) : pick([ruleTo(""), ruleTo("KUBE-MARK-MASQ"), "-p tcp -m tcp -j DNAT --to-destination 10.1.2.3:80"]);
          lines.push(`${rand() < 0.1 ? `-I ${c} 1` : `-A ${c}`} ${body}`);
          if (to !== null) jumps.set(c, (jumps.get(c) ?? new Set()).add(to));
        } else if (r < 0.82) {
          lines.push(`-F ${c}`);
          jumps.delete(c);
        } else if (r < 0.88) {
          // Deleted (mostly only when nothing jumps to it: a stale reference is an error).
          if ([...jumps.values()].some((to) => to.has(c)) && rand() < 0.9) continue;
          lines.push(`-F ${c}`, `-X ${c}`);
          exists.delete(c);
          jumps.delete(c);
        } else {
          // Made again, by -N or a declaration (declared twice is an error but with --noflush).
          const declare = !declared.has(c) || rand() < 0.1;
          lines.push(declare ? `:${c} - [0:0]` : exists.has(c) ? `-F ${c}` : `-N ${c}`);
          exists.add(c);
          declared.add(c);
          jumps.delete(c);
        }
      }
      if (exists.has("KUBE-A")) lines.push("-A PREROUTING -j KUBE-A");
      lines.push("COMMIT", "");
      const text = lines.join("\n");
      for (const noflush of [false, true]) {
        const reference = outcome(UNCACHED + text, true, noflush);
        if ("loaded" in reference) loaded++;
        expect(outcome(UNCACHED + text, false, noflush), text).toEqual(reference);
        expect(outcome(text, false, noflush), `${text} (line cache)`).toEqual(outcome(text, true, noflush));
      }
    }
    expect(loaded).toBeGreaterThan(400);
  });

  it("a line compiled here and remembered is parsed again when its target's name becomes a chain", () => {
    const line = "-A KUBE-SEP-X -p tcp -m tcp -j DNAT --to-destination 10.1.2.3:80";
    const before = `*nat\n:KUBE-SEP-X - [0:0]\n${line}\nCOMMIT\n`;
    expect(outcome(before, false)).toEqual(outcome(before, true));
    // With a chain called DNAT, `-j DNAT` jumps to it and --to-destination belongs to nobody.
    const after = `*nat\n:KUBE-SEP-X - [0:0]\n:DNAT - [0:0]\n${line}\nCOMMIT\n`;
    const reference = outcome(after, true);
    expect(reference).toMatchObject({ error: { message: expect.stringContaining("--to-destination") } });
    expect(outcome(after, false)).toEqual(reference);
  });
});
