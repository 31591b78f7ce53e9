// The packet engine: a network of simulated Linux hosts built from a Topology, and probes that
// walk kube-proxy's real rules through it (see walk.ts for the order of things).
//
// State that outlives a probe: each host's conntrack table (every branch's entries, as the
// union of what could have happened) and the `-m recent` lists that session affinity reads. The
// recent lists differ per branch (which endpoint a client stuck to), so the network keeps a set
// of weighted "worlds", one per distinct recent state; a later probe runs in each of them and its
// branches carry the world's probability. Without affinity there is only ever one world.

import { loadRuleset, runTable, type Ruleset } from "../netfilter/index.js";
import type { MatchContext, RecentLists } from "../netfilter/api.js";
import { PROTO_TCP, PROTO_UDP } from "../netfilter/api.js";
import type { ProbeBranch, ProbeOutcome, ProbeRequest } from "../outcome.js";
import type { HostSpec, Topology } from "../topology.js";
import { fmtIp, parseIp } from "./addr.js";
import { CtTable, formatEntry, stringHash } from "./conntrack.js";
import { SimHost } from "./host.js";
import { Segments } from "./l2.js";
import { type LazyEvent, NO_RECENT_LISTS, Path, traceEvents } from "./path.js";
import { type DnsHook, displayName, hookTables, Walk, type WalkHost } from "./walk.js";

export { displayName } from "./walk.js";

export interface SimOptions {
  dns?: DnsHook;
  /** The netfilter interpreter (src/net/netfilter runTable); a seam for tests and benches. */
  evaluate?: typeof runTable;
}

interface World {
  p: number;
  recent: Map<string, RecentLists>;
  /** The choices of the probe branch that made this world, for naming branches of later probes. */
  choices: readonly string[];
}

const FIRST_EPHEMERAL_PORT = 40000;

/**
 * A probe branch as the simulator hands it out. Its trace's events, and a connected branch's
 * explanation, are made when first read (most never are: a passing step's trace is dropped and
 * its sentence never printed), through own, enumerable accessors, so
 * JSON, spreads, structured clones (worker threads) and comparisons see a plain `trace` field.
 * The walk's raw record sits in private fields: defining hidden properties per branch cost
 * ~5 µs each, and per-branch accessor closures gave every branch its own hidden class, whose
 * pointers (from old space) to the young closures made the scavenger promote every trace.
 */
class SimBranch {
  probability: number;
  choices: string[];
  result: ProbeBranch["result"];
  signal: ProbeBranch["signal"];
  replyFrom: ProbeBranch["replyFrom"];
  deliveredTo: ProbeBranch["deliveredTo"];
  sourceSeen: ProbeBranch["sourceSeen"];
  via: string[];
  masqueraded: boolean;
  declare explanation: string;
  declare trace: ProbeBranch["trace"];
  declare dns?: ProbeBranch["dns"];
  /** The walk's newest event (the trace's events, made when read), until read or replaced. */
  #raw: LazyEvent | null;
  #trace: ProbeBranch["trace"] | undefined = undefined;
  /** The sentence, or what makes it on first read (connected branches: rarely read). */
  #explanation: string | (() => string);

  constructor(leaf: Path) {
    this.probability = leaf.p;
    this.choices = leaf.choices;
    this.result = leaf.result ?? "timeout";
    this.signal = leaf.signal;
    this.replyFrom = leaf.replyFrom;
    this.deliveredTo = leaf.deliveredTo;
    this.sourceSeen = leaf.sourceSeen;
    this.via = leaf.via;
    this.masqueraded = leaf.masqueraded;
    this.#explanation = leaf.explanation;
    // Defined here, in the key order the branch has always had (JSON reports print it so).
    Object.defineProperty(this, "explanation", SimBranch.#explanationAccessor);
    this.#raw = leaf.last;
    Object.defineProperty(this, "trace", SimBranch.#traceAccessor);
    if (leaf.dns) this.dns = leaf.dns;
  }

  static readonly #explanationAccessor: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: SimBranch): string {
      const e = this.#explanation;
      if (typeof e === "string") return e;
      return (this.#explanation = e());
    },
    set(this: SimBranch, v: string): void {
      this.#explanation = v;
    },
  };

  // One getter/setter pair shared by every branch.
  static readonly #traceAccessor: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: SimBranch): ProbeBranch["trace"] {
      let t = this.#trace;
      if (t === undefined) {
        t = this.#trace = traceEvents(this.#raw);
        this.#raw = null;
      }
      return t;
    },
    // Setting the trace (the executor empties a passing step's) lets go of the raw events.
    set(this: SimBranch, v: ProbeBranch["trace"]): void {
      this.#trace = v;
      this.#raw = null;
    },
  };
}

// Loaded rulesets by text, for a host whose rules were not provided with its spec (see
// provideRuleset: a stopped kube-proxy's frozen text, a Topology written by hand). A Ruleset is
// immutable once loaded (a restore builds new chains; the lazily built dispatch index and step
// records are pure caches), and the walker only reads it, so every host with the same rules
// shares one. A load is made under the first host's source name, which is what a failing load
// reports; a text that loaded once never fails, and the simulator never reads a loaded rule's
// position, so a host that reuses it loses nothing.
// Bounded so a long --watch session or a 10k-Service bench does not keep every version alive.
const RULESET_CACHE_MAX = 64;
// Keyed by the text itself (not a concatenation: that would copy a multi-megabyte dump on every
// lookup; a string's hash is computed once and kept on the string).
const rulesetCache = new Map<string, Ruleset>();

function cachedRuleset(text: string, file: string): Ruleset {
  const hit = rulesetCache.get(text);
  if (hit) return hit;
  const loaded = loadRuleset(text, file);
  // Oldest text first (Map iteration order is insertion order).
  if (rulesetCache.size >= RULESET_CACHE_MAX) rulesetCache.delete(rulesetCache.keys().next().value!);
  rulesetCache.set(text, loaded);
  return loaded;
}

// Rulesets compiled by whoever wrote a host's `iptables` text from the very lines it printed
// (src/cluster: loadSavedTables, proven equal to loading the text), kept with the text they
// belong to: a host whose text is that very string skips the load and the text lookup above.
const providedRulesets = new WeakMap<HostSpec, { text: string; make: () => Ruleset }>();

/** `make` gives what loading `spec.iptables` (as it is now) would; made on the simulator's first use. */
export function provideRuleset(spec: HostSpec, make: () => Ruleset): void {
  if (spec.iptables !== null) providedRulesets.set(spec, { text: spec.iptables, make });
}

/** The Ruleset the simulator runs for a host: loaded from its `iptables` text, or provided for that very text. */
export function hostRuleset(spec: HostSpec): Ruleset | null {
  if (spec.iptables === null) return null;
  const provided = providedRulesets.get(spec);
  if (provided !== undefined && provided.text === spec.iptables) return provided.make();
  return cachedRuleset(spec.iptables, `${spec.name} iptables`);
}

/**
 * The immutable part of a network built from a Topology: hosts (addresses, routes, bridges),
 * their loaded rulesets and the L2 segments. Probe state (conntrack, recent lists, clocks) lives
 * in each SimNetwork. The scenarios of a file share one Topology object (one control plane), so
 * they share this too.
 */
interface BuiltTopology {
  hosts: Array<{ host: SimHost; ruleset: Ruleset | null; iptables: string | null }>;
  segments: Segments;
}
const builtTopologies = new WeakMap<Topology, BuiltTopology>();

/** Hosts and segments, which depend on everything in the host specs but their rules. */
interface BuiltHosts {
  specs: readonly HostSpec[];
  hosts: SimHost[];
  segments: Segments;
}
// A scenario change (a pod not ready, a Service edited) makes a new Topology whose hosts differ
// from the base world's only in their rules, most of the time: the hosts and segments built for
// the same wiring are reused (a host never changes once built). The last few wirings are
// compared field by field (no key to build: a JSON key cost as much as building the hosts).
const RECENT_WIRINGS = 8;
const recentWirings: BuiltHosts[] = [];

/** Equal JSON-like data (the specs are plain objects, arrays, strings, numbers, booleans). */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** The same host but for its rules: every field except `iptables` equal. */
function sameWiring(a: HostSpec, b: HostSpec): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (k === "iptables") continue;
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameData((a as unknown as Record<string, unknown>)[k], (b as unknown as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function builtHosts(specs: readonly HostSpec[]): BuiltHosts {
  for (const w of recentWirings) {
    if (w.specs.length === specs.length && specs.every((s, i) => sameWiring(s, w.specs[i]!))) return w;
  }
  const built: BuiltHosts = { specs, hosts: [], segments: new Segments() };
  for (const spec of specs) {
    const host = new SimHost(spec);
    built.hosts.push(host);
    for (const iface of host.ifaces.values()) built.segments.add(iface);
  }
  // Newest first: a file's scenarios ask for its own wiring again and again.
  recentWirings.unshift(built);
  if (recentWirings.length > RECENT_WIRINGS) recentWirings.pop();
  return built;
}

function builtTopology(topology: Topology): BuiltTopology {
  let built = builtTopologies.get(topology);
  if (built) return built;
  const wired = builtHosts(topology.hosts);
  built = { hosts: [], segments: wired.segments };
  for (const [i, spec] of topology.hosts.entries()) {
    const ruleset = hostRuleset(spec);
    built.hosts.push({ host: wired.hosts[i]!, ruleset, iptables: spec.iptables });
  }
  builtTopologies.set(topology, built);
  return built;
}

/** The network's clock (seconds), one object every host's context reads. */
interface Clock {
  now: number;
}

/** What a host's matches read besides the packet; the walk sets ctstate and recent per table. */
class HostMatchContext implements MatchContext {
  ctstate = 0;
  // Set to a path's own lists before every table run.
  recent: RecentLists = NO_RECENT_LISTS;

  constructor(
    private readonly host: SimHost,
    private readonly clock: Clock,
  ) {}

  /** Read from the network's clock (only `-m recent` reads it): no store per host per probe. */
  get now(): number {
    return this.clock.now;
  }

  isLocal(a: number): boolean {
    return this.host.isLocal(a);
  }

  addrType(a: number): ReturnType<MatchContext["addrType"]> {
    return this.host.addrType(a);
  }
}

export class SimNetwork {
  private readonly hosts = new Map<string, WalkHost>();
  private readonly segments: Segments;
  private readonly ctBase = new Map<string, CtTable>();
  private worlds: World[] = [{ p: 1, recent: new Map(), choices: [] }];
  private nextPort = FIRST_EPHEMERAL_PORT;
  private readonly clock: Clock = { now: 1000 };

  constructor(topology: Topology, private readonly opts: SimOptions = {}) {
    const built = builtTopology(topology);
    this.segments = built.segments;
    for (const { host, ruleset, iptables } of built.hosts) {
      const ctx = new HostMatchContext(host, this.clock);
      this.hosts.set(host.name, { host, ruleset, iptables, ctx, tables: hookTables(ruleset) });
      if (ruleset) this.ctBase.set(host.name, new CtTable(null));
    }
  }

  probe(req: ProbeRequest): ProbeOutcome {
    const client = this.hosts.get(req.from);
    if (!client) throw new Error(`probe from unknown host ${JSON.stringify(req.from)}`);
    const dst = parseIp(req.dst);
    if (dst < 0) throw new Error(`probe to ${JSON.stringify(req.dst)}: not an IPv4 address`);
    const sport = req.sport ?? this.allocatePort();
    this.clock.now++;

    const h = client.host;
    const rt = h.routes.lookup(dst);
    const lip = rt.kind === "local" ? ((dst >>> 24) === 127 ? dst : dst) : rt.kind === "unicast" ? h.selectSource(rt.route, rt.route.hops[0]!.gw) : 0;
    const sock = { host: h.name, proto: req.protocol === "tcp" ? PROTO_TCP : PROTO_UDP, lip, lport: sport, rip: dst, rport: req.dport };

    const branches: ProbeBranch[] = [];
    const next: World[] = [];
    const leaves: Path[] = [];
    for (const world of this.worlds) {
      const path = new Path(world.p, this.ctBase, world.recent);
      // A world is named by the choices that made it, its own earlier ones included (a third probe
      // in two worlds would otherwise show two branches with the same name).
      if (this.worlds.length > 1) for (const c of world.choices) path.choices.push(c.startsWith("earlier: ") ? c : `earlier: ${c}`);
      const walk = new Walk(this.hosts, this.segments, req, sock, this.opts.dns, this.opts.evaluate ?? runTable);
      if (!h.up) {
        path.text({ phase: "request", host: h.name, kind: "drop", text: `${displayName(h.name)} is down` });
        path.result = "timeout";
        path.explanation = `${displayName(h.name)} is down and sends nothing`;
        walk.leaves.push(path);
      } else if (rt.kind === "unreachable") {
        path.text({ phase: "request", host: h.name, kind: "route", text: `${displayName(h.name)}: no route to ${req.dst}` });
        path.result = "net-unreachable";
        path.explanation = `${displayName(h.name)} has no route to ${req.dst}, so its connect failed at once with ENETUNREACH`;
        walk.leaves.push(path);
      } else {
        walk.start(path);
      }
      for (const leaf of walk.leaves) {
        branches.push(this.toBranch(leaf));
        leaves.push(leaf);
        next.push({ p: leaf.p, recent: leaf.recent, choices: leaf.choices });
      }
    }
    // Only now does the network keep what the branches left in conntrack: the worlds are
    // alternatives, and one world's connection (the same tuple: this probe's port) must not be
    // found by the walk in the next (it used to be, which sent every world after the first down
    // the first world's path, bypassing session affinity).
    for (const leaf of leaves) leaf.ctLayers().forEach((layer, host) => CtTable.mergeInto(this.ctBase.get(host)!, layer));
    this.worlds = mergeWorlds(next);
    return { request: req, branches, engine: "sim" };
  }

  private allocatePort(): number {
    const p = this.nextPort;
    this.nextPort = this.nextPort >= 60999 ? FIRST_EPHEMERAL_PORT : this.nextPort + 1;
    return p;
  }

  private toBranch(leaf: Path): ProbeBranch {
    return new SimBranch(leaf);
  }

  private host(name: string): SimHost {
    const wh = this.hosts.get(name);
    if (!wh) throw new Error(`unknown host ${JSON.stringify(name)}`);
    return wh.host;
  }

  /** Like `conntrack -L`: every entry the host's table holds after the probes so far. */
  conntrackList(host: string): string {
    this.host(host);
    const table = this.ctBase.get(host);
    if (!table) return "";
    const lines = table.all().map(formatEntry);
    return lines.join("\n") + (lines.length ? "\n" : "");
  }

  /** Like `ip route`. */
  routesText(host: string): string {
    return this.host(host).routes.text();
  }

  /** The hairpin_mode flag of every bridge port, as sysfs shows it. */
  hairpinText(host: string): string {
    const h = this.host(host);
    const lines: string[] = [];
    for (const br of h.bridges.values()) {
      for (const p of br.ports) lines.push(`/sys/class/net/${p.name}/brport/hairpin_mode: ${p.hairpin ? 1 : 0}`);
    }
    return lines.join("\n") + (lines.length ? "\n" : "");
  }

  /** Like `ip link show <bridge>` for each bridge, PROMISC among the flags when set. */
  bridgeText(host: string): string {
    const h = this.host(host);
    const lines: string[] = [];
    let index = 3;
    for (const br of h.bridges.values()) {
      const flags = ["BROADCAST", "MULTICAST", ...(br.promisc ? ["PROMISC"] : []), "UP", "LOWER_UP"].join(",");
      lines.push(`${index}: ${br.name}: <${flags}> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000`);
      lines.push(`    link/ether ${pseudoMac(`${h.name}/${br.name}`)} brd ff:ff:ff:ff:ff:ff`);
      index++;
    }
    return lines.join("\n") + (lines.length ? "\n" : "");
  }

  /** Addresses of a host, for callers that name hosts by address. */
  addressOf(host: string): string {
    return this.host(host).mainAddress();
  }
}

function pseudoMac(seed: string): string {
  const h = stringHash(seed);
  const b = [0x02, (h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, h & 255, seed.length & 255];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

function recentSignature(recent: Map<string, RecentLists>): string {
  // Without session affinity every list is empty: the common signature, with nothing to sort.
  let any = false;
  for (const lists of recent.values()) {
    for (const list of lists.values()) if (list.size > 0) any = true;
    if (any) break;
  }
  if (!any) return "";
  const parts: string[] = [];
  for (const [host, lists] of [...recent].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    for (const [name, list] of [...lists].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (list.size === 0) continue;
      const ips = [...list].sort((a, b) => a[0] - b[0]).map(([ip, t]) => `${fmtIp(ip)}@${t.join(",")}`);
      parts.push(`${host}/${name}:${ips.join(";")}`);
    }
  }
  return parts.join("|");
}

/** Branches that left the same recent state are one world for the next probe. */
function mergeWorlds(worlds: World[]): World[] {
  // One branch is one world, whatever its recent state (the usual case: no ECMP, one endpoint).
  if (worlds.length === 1) return [{ p: worlds[0]!.p, recent: worlds[0]!.recent, choices: [] }];
  // Without session affinity no branch has recent lists: one world (no signatures to make).
  let p = 0;
  for (const w of worlds) {
    if (w.recent.size > 0) return mergeBySignature(worlds);
    p += w.p;
  }
  return [{ p, recent: worlds[0]!.recent, choices: [] }];
}

function mergeBySignature(worlds: World[]): World[] {
  const bySig = new Map<string, World>();
  for (const w of worlds) {
    const sig = recentSignature(w.recent);
    const seen = bySig.get(sig);
    if (!seen) bySig.set(sig, { ...w });
    else {
      if (w.p > seen.p) seen.choices = w.choices;
      seen.p += w.p;
    }
  }
  const out = [...bySig.values()];
  if (out.length === 1) out[0]!.choices = [];
  return out;
}
