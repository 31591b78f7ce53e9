// A node's tables as `iptables-save` prints them after kube-proxy's first full sync: the
// built-in chains with their jump rules (each prepended with `iptables -I`, so the last one
// ensured comes first), then kube-proxy's chains, all in iptables-save's normalised rule form.
// The normalisation was checked against the real kernel (iptables 1.8.9, nf_tables and legacy):
// -s/-d/-p move to the front (! -s, -d, -p), addresses gain /32 (/128), comments are always
// quoted, --nfacct-name is followed by two spaces, --or-mark X prints as --set-xmark X/X and --xor-mark X as --set-xmark X/0x0, REJECT
// gains its default --reject-with, -m recent spells out --mask/--rsource, and statistic
// probabilities round-trip through the kernel's 31-bit fixed point (%.11f).

import type { EndpointSlice, Service } from "../../world/k8s.js";
import type { ProxierConfig } from "./config.js";
import { type NodeReads, proxierFamily, writeRestore } from "./writer.js";
import { formatExactHalfEven } from "./names.js";

export interface JumpRule {
  table: "filter" | "nat";
  /** The built-in chain the rule is inserted into. */
  chain: string;
  target: string;
  /** The rule as kube-proxy passes it to `iptables -I chain`: extra matches, comment, -j. */
  args: string;
}

/** kube-proxy's iptablesJumpChains then iptablesKubeletJumpChains, in the order it ensures them. */
const JUMPS: Array<{ table: "filter" | "nat"; dst: string; src: string; comment: string; extra: string }> = [
  { table: "filter", dst: "KUBE-EXTERNAL-SERVICES", src: "INPUT", comment: "kubernetes externally-visible service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", dst: "KUBE-EXTERNAL-SERVICES", src: "FORWARD", comment: "kubernetes externally-visible service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", dst: "KUBE-NODEPORTS", src: "INPUT", comment: "kubernetes health check service ports", extra: "" },
  { table: "filter", dst: "KUBE-SERVICES", src: "FORWARD", comment: "kubernetes service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", dst: "KUBE-SERVICES", src: "OUTPUT", comment: "kubernetes service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", dst: "KUBE-FORWARD", src: "FORWARD", comment: "kubernetes forwarding rules", extra: "" },
  { table: "filter", dst: "KUBE-PROXY-FIREWALL", src: "INPUT", comment: "kubernetes load balancer firewall", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", dst: "KUBE-PROXY-FIREWALL", src: "OUTPUT", comment: "kubernetes load balancer firewall", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", dst: "KUBE-PROXY-FIREWALL", src: "FORWARD", comment: "kubernetes load balancer firewall", extra: "-m conntrack --ctstate NEW" },
  { table: "nat", dst: "KUBE-SERVICES", src: "OUTPUT", comment: "kubernetes service portals", extra: "" },
  { table: "nat", dst: "KUBE-SERVICES", src: "PREROUTING", comment: "kubernetes service portals", extra: "" },
  { table: "nat", dst: "KUBE-POSTROUTING", src: "POSTROUTING", comment: "kubernetes postrouting rules", extra: "" },
  // Duplicates of kubelet's jumps; kube-proxy ensures them (and the chain) on every full sync.
  { table: "filter", dst: "KUBE-FIREWALL", src: "INPUT", comment: "", extra: "" },
  { table: "filter", dst: "KUBE-FIREWALL", src: "OUTPUT", comment: "", extra: "" },
];

/** The jump rules in the order kube-proxy runs `iptables -t T -I CHAIN <args>` (each at position 1). */
export function jumpRules(cfg: ProxierConfig): JumpRule[] {
  void cfg; // the list is the same for every configuration; kept as a parameter for the contract
  return allJumpRules();
}

function allJumpRules(): JumpRule[] {
  return JUMPS.map((j) => {
    const parts = [j.extra, j.comment ? `-m comment --comment "${j.comment}"` : "", `-j ${j.dst}`].filter((s) => s !== "");
    return { table: j.table, chain: j.src, target: j.dst, args: parts.join(" ") };
  });
}

const JUMP_RULES = allJumpRules();

const BUILTIN: Record<string, string[]> = {
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
};

/** Split a rule into words; a double-quoted string is one word (quotes kept off). */
export function splitRuleWords(rule: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = rule.length;
  while (i < n) {
    while (i < n && rule[i] === " ") i++;
    if (i >= n) break;
    if (rule[i] === '"') {
      const end = rule.indexOf('"', i + 1);
      words.push(rule.slice(i + 1, end === -1 ? n : end));
      i = end === -1 ? n : end + 1;
    } else {
      let j = i;
      while (j < n && rule[j] !== " ") j++;
      words.push(rule.slice(i, j));
      i = j;
    }
  }
  return words;
}

/** The probability the kernel stores (31-bit fixed point) printed back as xt_statistic does. */
export function kernelProbability(p: string): string {
  const stored = Math.round(Number(p) * 0x80000000);
  return formatExactHalfEven(stored / 0x80000000, 11);
}

function normalizeMark(v: string): string {
  const [value, mask] = v.split("/");
  const hex = (s: string) => "0x" + parseInt(s, 16).toString(16);
  return mask === undefined ? hex(value!) : `${hex(value!)}/${hex(mask)}`;
}

/** One restore-format rule ("-A CHAIN ...") in iptables-save's normalised form. */
export function normalizeRule(rule: string, family: 4 | 6): string {
  const w = splitRuleWords(rule);
  const chain = w[1]!;
  let src: string | null = null;
  let dst: string | null = null;
  let proto: string | null = null;
  const rest: string[] = [];
  const addr = (a: string) => (a.includes("/") ? a : `${a}/${family === 4 ? 32 : 128}`);
  let neg = false;
  for (let i = 2; i < w.length; i++) {
    const t = w[i]!;
    if (t === "!") {
      neg = true;
      continue;
    }
    const bang = neg ? "! " : "";
    neg = false;
    if (t === "-s") src = `${bang}-s ${addr(w[++i]!)}`;
    else if (t === "-d") dst = `${bang}-d ${addr(w[++i]!)}`;
    else if (t === "-p") proto = `${bang}-p ${w[++i]!}`;
    else rest.push(bang + t);
  }
  // Walk the matches/target in order, rewriting what the kernel stores differently.
  const out: string[] = [];
  const mask = family === 4 ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  for (let i = 0; i < rest.length; i++) {
    const t = rest[i]!;
    if (t === "--comment") {
      out.push(`--comment "${rest[++i]}"`);
    } else if (t === "-m" && rest[i + 1] === "recent") {
      i++;
      let name = "";
      let op = "";
      let seconds: string | null = null;
      let reap = false;
      while (i + 1 < rest.length && rest[i + 1] !== "-m" && rest[i + 1] !== "-j") {
        const o = rest[++i]!;
        if (o === "--name") name = rest[++i]!;
        else if (o === "--seconds") seconds = rest[++i]!;
        else if (o === "--reap") reap = true;
        else op = o;
      }
      const parts = ["-m recent", op];
      if (seconds !== null) parts.push(`--seconds ${seconds}`);
      if (reap) parts.push("--reap");
      parts.push(`--name ${name} --mask ${mask} --rsource`);
      out.push(parts.join(" "));
    } else if (t === "--nfacct-name") {
      // libxt_nfacct prints the option with two spaces before the name (checked on iptables 1.8.9).
      out.push(`--nfacct-name  ${rest[++i]}`);
    } else if (t === "--probability") {
      out.push(`--probability ${kernelProbability(rest[++i]!)}`);
    } else if (t === "--or-mark") {
      const m = normalizeMark(rest[++i]!);
      out.push(`--set-xmark ${m}/${m}`);
    } else if (t === "--xor-mark") {
      out.push(`--set-xmark ${normalizeMark(rest[++i]!)}/0x0`);
    } else if (t === "--mark") {
      out.push(`--mark ${normalizeMark(rest[++i]!)}`);
    } else if (t === "-j" && rest[i + 1] === "REJECT") {
      i++;
      out.push(`-j REJECT --reject-with ${family === 4 ? "icmp-port-unreachable" : "icmp6-port-unreachable"}`);
    } else {
      out.push(t);
    }
  }
  const head = [`-A ${chain}`, src, dst, proto].filter((s): s is string => s !== null);
  return [...head, ...out].join(" ");
}

/**
 * The node's filter and nat tables as iptables-save prints them after kube-proxy's first sync
 * (without iptables-save's "# Generated/Completed" timestamp lines). `table` restricts the
 * output to one table.
 */
// normalizeRule is a pure function of (line, family), and every scenario change re-syncs every
// node with nearly the same lines: remember the results for moderate rulesets (a 10k-Service
// sync has no repeats worth keeping). Bounded; cleared whole when full.
const NORMALIZED_MAX = 20_000;
const NORMALIZE_TEXT_MAX = 200_000;
const normalized: Record<4 | 6, Map<string, string>> = { 4: new Map(), 6: new Map() };

/**
 * A copy of `s` that does not keep the text it was cut from alive. V8 makes a line of
 * `restore.split("\n")` (13 characters or more) a slice pointing into the whole restore text, so a
 * line kept as a cache key, or a chain name kept in the saved tables, kept that sync's entire
 * text: 494 texts, 5.8 MB, after a 300-file suite. Only what outlives the sync is copied.
 */
function detached(s: string): string {
  return (" " + s).slice(1);
}

function normalizeRuleCached(rule: string, family: 4 | 6): string {
  const m = normalized[family];
  let n = m.get(rule);
  if (n === undefined) {
    n = normalizeRule(rule, family);
    if (m.size >= NORMALIZED_MAX) m.clear();
    m.set(detached(rule), n);
  }
  return n;
}


export function nodeTables(services: Service[], slices: EndpointSlice[], cfg: ProxierConfig, table?: "filter" | "nat"): string {
  return printSaved(savedTablesOfRestore(writeRestore(services, slices, cfg), proxierFamily(cfg), table));
}

/**
 * One table of an iptables-save dump, line for line: `*name`, each chain's line, each chain's
 * rules in chain order, then COMMIT (printSaved). The simulator compiles its rules from these
 * very lines (src/cluster), so what is shown is what the packets walk.
 */
export interface SavedTable {
  readonly name: "filter" | "nat";
  /** Built-in chains first (in iptables-save's order), then user chains by name. */
  readonly chains: readonly SavedChain[];
}

export interface SavedChain {
  readonly name: string;
  /** The chain's line: `:INPUT ACCEPT [0:0]`, `:KUBE-SERVICES - [0:0]`. */
  readonly decl: string;
  /** The chain's rules as iptables-save prints them (`-A NAME ...`), in order. */
  readonly rules: readonly string[];
}

/** A node's kube-proxy tables: the iptables-save text and the lines it was printed from. */
export interface NodeSaved {
  readonly text: string;
  readonly tables: readonly SavedTable[];
}

/** The text iptables-save prints for these tables. */
export function printSaved(tables: readonly SavedTable[]): string {
  let out = "";
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += c.decl + "\n";
    // One join per chain rather than a concatenation per rule (fewer string pieces to keep).
    for (const c of t.chains) if (c.rules.length > 0) out += c.rules.join("\n") + "\n";
    out += "COMMIT\n";
  }
  return out;
}

/**
 * nodeTables for the nodes of one cluster (one set of Services and EndpointSlices), written once
 * for all the nodes it cannot differ between: when a node's sync read nothing of its node (see
 * NodeReads), every node of that IP family with the same cluster-wide configuration gets the
 * very same text (in the bench suite, half of all syncs). Each node's text is still exactly its
 * own nodeTables.
 */
export class ClusterNodeTables {
  /** Cluster-wide configuration key → the tables every node with it writes, or null: node-specific. */
  private readonly byConfig = new Map<string, NodeSaved | null>();

  constructor(
    private readonly services: Service[],
    private readonly slices: EndpointSlice[],
  ) {}

  forNode(cfg: ProxierConfig): string {
    return this.savedForNode(cfg).text;
  }

  /** The node's tables, text and lines (the same object for every node that shares them). */
  savedForNode(cfg: ProxierConfig): NodeSaved {
    const family = proxierFamily(cfg);
    const key = clusterWideKey(cfg, family);
    const shared = this.byConfig.get(key);
    if (shared != null) return shared;
    const reads: NodeReads = { nodeSpecific: true };
    const tables = savedTablesOfRestore(writeRestore(this.services, this.slices, cfg, reads), family, undefined);
    const saved: NodeSaved = { text: printSaved(tables), tables };
    // Whether a sync is node-specific depends only on this key, the Services and the slices.
    if (shared === undefined) this.byConfig.set(key, reads.nodeSpecific ? null : saved);
    return saved;
  }
}

/**
 * Every ProxierConfig field, and whether it is the node's own. The type makes a field added to
 * ProxierConfig a compile error until it is placed here, so the key below can never miss one.
 */
const NODE_OWN: Record<keyof ProxierConfig, boolean> = {
  nodeName: true,
  nodeIPs: true,
  clusterCIDR: false,
  masqueradeAll: false,
  masqueradeMark: false,
  nodePortAddresses: false,
  localhostNodePorts: false,
  nfacct: false,
  randomFully: false,
  conntrackTCPLiberal: false,
  masquerade: false,
};
const CLUSTER_WIDE_FIELDS = (Object.keys(NODE_OWN) as Array<keyof ProxierConfig>).filter((k) => !NODE_OWN[k]);

/** The configuration's cluster-wide fields (not the node's name and addresses), and the IP family the node's address picks. */
function clusterWideKey(cfg: ProxierConfig, family: 4 | 6): string {
  let key = family === 4 ? "4" : "6";
  for (const f of CLUSTER_WIDE_FIELDS) {
    const v = cfg[f];
    // A plain (unquoted) value is a boolean, null or undefined; strings and arrays are JSON.
    key += "\u0000" + (typeof v === "string" || Array.isArray(v) ? JSON.stringify(v) : String(v));
  }
  return key;
}

// Not remembered by restore text: since ClusterNodeTables writes a world's text once for all its
// nodes, a repeat is rare (14 of 363 syncs in the bench suite), and hashing a whole restore text
// per sync to find one cost as much as it saved.
function savedTablesOfRestore(restore: string, family: 4 | 6, table: "filter" | "nat" | undefined): SavedTable[] {
  return saveTables(restore, family, table, restore.length > NORMALIZE_TEXT_MAX ? normalizeRule : normalizeRuleCached);
}

// The jump rules in iptables-save's form, per family: the same for every sync (normalizeRule is
// pure), made once instead of a line built and looked up per rule per sync.
const JUMP_RULES_SAVED: Record<4 | 6, string[] | undefined> = { 4: undefined, 6: undefined };
function savedJumpRules(family: 4 | 6): string[] {
  return (JUMP_RULES_SAVED[family] ??= JUMP_RULES.map((j) => normalizeRule(`-A ${j.chain} ${j.args}`, family)));
}

function saveTables(restore: string, family: 4 | 6, table: "filter" | "nat" | undefined, normalize: (rule: string, family: 4 | 6) => string): SavedTable[] {
  const chains: Record<string, Map<string, string[]>> = { filter: new Map(), nat: new Map() };
  for (const t of ["filter", "nat"]) for (const b of BUILTIN[t]!) chains[t]!.set(b, []);
  // Jump rules: each is inserted at position 1, so later ones end up above earlier ones.
  const saved = savedJumpRules(family);
  for (let i = 0; i < JUMP_RULES.length; i++) {
    const j = JUMP_RULES[i]!;
    chains[j.table]!.get(j.chain)!.unshift(saved[i]!);
    if (!chains[j.table]!.has(j.target)) chains[j.table]!.set(j.target, []);
  }
  restoreInto(chains, restore, family, normalize);
  const out: SavedTable[] = [];
  for (const t of table ? [table] : (["filter", "nat"] as const)) out.push(savedTable(t, chains[t]!));
  return out;
}

/**
 * The restore's chains and -A lines added to `chains` (per table). Its own small function: the
 * per-line loop is what runs most, and is taken by the optimising compiler early on its own.
 */
function restoreInto(chains: Record<string, Map<string, string[]>>, restore: string, family: 4 | 6, normalize: (rule: string, family: 4 | 6) => string): void {
  let current: Map<string, string[]> | null = null;
  const lines = restore.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    if (line.startsWith("*")) current = chains[line.slice(1)] ?? null;
    else if (!current) continue;
    else if (line.startsWith(":")) {
      const sp = line.indexOf(" ");
      // A declared chain is created, or flushed by --noflush restore when it exists.
      current.set(detached(sp < 0 ? line.slice(1) : line.slice(1, sp)), []);
    } else if (line.startsWith("-A ")) {
      const sp = line.indexOf(" ", 3);
      const name = sp < 0 ? line.slice(3) : line.slice(3, sp);
      current.get(name)!.push(normalize(line, family));
    }
  }
}

/** One table in iptables-save's order: built-in chains first, then user chains by name (strcmp order). */
function savedTable(t: "filter" | "nat", m: Map<string, string[]>): SavedTable {
  const builtins = BUILTIN[t]!;
  const user = [...m.keys()].filter((c) => !builtins.includes(c)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const chains: SavedChain[] = [];
  for (const b of builtins) chains.push({ name: b, decl: BUILTIN_DECL[b]!, rules: m.get(b)! });
  for (const c of user) chains.push({ name: c, decl: `:${c} - [0:0]`, rules: m.get(c)! });
  return { name: t, chains };
}

const BUILTIN_DECL: Record<string, string> = Object.fromEntries(
  [...new Set([...BUILTIN.filter!, ...BUILTIN.nat!])].map((b) => [b, `:${b} ACCEPT [0:0]`]),
);
