// The walk: one probe's packets through the hosts, the way the Linux kernel moves them.
//
// Local output:   route → OUTPUT (conntrack, raw, mangle, nat, filter) → reroute if DNAT → POSTROUTING → wire
// Reception:      [bridge: br_netfilter PREROUTING at the bridge] → PREROUTING (conntrack, raw, mangle, nat)
//                 → routing (martians, rp_filter) → INPUT (mangle, filter, nat) → socket
//                                                 → FORWARD (mangle, filter) → POSTROUTING (mangle, nat) → wire
// The nat table sees only a connection's first packet; conntrack translates every later one.
// Every branch a table returns, and every ECMP next hop, forks the walk; a branch ends when the
// client's socket decides (connected, refused, unreachable) or nothing more can come back.

import { CT, PROTO_ICMP, PROTO_SCTP, PROTO_TCP, PROTO_UDP } from "../netfilter/api.js";
import type { EvalBranch, HookName, MatchContext, NatAction, PacketView, TableName } from "../netfilter/api.js";
import { runTable } from "../netfilter/index.js";
import type { Ruleset } from "../netfilter/index.js";
import type { ClientResult, Endpoint4, ProbeBranch, ProbeRequest, Signal } from "../outcome.js";
import { fmtEp, fmtIp } from "./addr.js";
import { type CtEntry, type CtTable, Dir, newEntry, stringHash, tupleHash } from "./conntrack.js";
import type { SimBridge, SimHost, SimIface } from "./host.js";
import type { Segments } from "./l2.js";
import { describe, forkPacket, type IcmpKind, type Packet, type TcpFlags } from "./packet.js";
import { BridgeInEvent, CtEvent, HopEvent, NatRecord, PacketEvent, type Path, RouteEvent, StepsEvent } from "./path.js";
import type { NextHop } from "./routing.js";

export interface WalkHost {
  host: SimHost;
  ruleset: Ruleset | null;
  /** The rules' text, as loaded (for explanations). */
  iptables: string | null;
  ctx: MatchContext & { ctstate: number; now: number };
  /** The tables of each hook this host's ruleset has (hookTables), nat always. */
  tables: HookTables;
}

export interface Socket {
  host: string;
  proto: number;
  lip: number;
  lport: number;
  rip: number;
  rport: number;
}

export type DnsHook = (query: { name: string; type: "A" | "CNAME" | "ANY" }, clientIp: string) => ProbeBranch["dns"];

/** The tables each hook runs, in order, as a host's ruleset has them (see hookTables). */
export interface HookTables {
  pre: TableName[];
  out: TableName[];
  in: TableName[];
  fwd: TableName[];
  post: TableName[];
  /** INPUT of a packet looped back on the host itself. */
  loopbackIn: TableName[];
  /** POSTROUTING of a promiscuous bridge's copy (untracked: no nat). */
  promiscPost: TableName[];
}

const ALL_HOOK_TABLES: HookTables = {
  pre: ["raw", "mangle", "nat"],
  out: ["raw", "mangle", "nat", "filter"],
  in: ["mangle", "filter", "nat"],
  fwd: ["mangle", "filter"],
  post: ["mangle", "nat"],
  loopbackIn: ["mangle", "filter"],
  promiscPost: ["mangle"],
};
const hookTablesOf = new WeakMap<Ruleset, HookTables>();

/**
 * The tables each hook runs on a host with these rules: a table the ruleset lacks accepts the
 * packet untouched, with no trace, so it is left out (kube-proxy nodes have no raw or mangle
 * table: about half of a probe's tables; asking the ruleset at every hook was a sixth of the
 * walk's table-running time). Not so nat: a missing nat table still decides a null binding
 * (applyBranch), so it is always in.
 */
export function hookTables(ruleset: Ruleset | null): HookTables {
  if (ruleset === null) return ALL_HOOK_TABLES;
  let lists = hookTablesOf.get(ruleset);
  if (!lists) {
    const has = (l: TableName[]): TableName[] => l.filter((t) => t === "nat" || ruleset.tables.has(t));
    const a = ALL_HOOK_TABLES;
    lists = { pre: has(a.pre), out: has(a.out), in: has(a.in), fwd: has(a.fwd), post: has(a.post), loopbackIn: has(a.loopbackIn), promiscPost: has(a.promiscPost) };
    hookTablesOf.set(ruleset, lists);
  }
  return lists;
}
const DEFAULT_TTL = 64;
const HOOKS: HookName[] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
/** The words of a conntrack lookup's event, per hook (made once, not per packet). */
const CT_REPLY_OF = Object.fromEntries(HOOKS.map((h) => [h, `conntrack ${h}: reply of`])) as Record<HookName, string>;
const CT_ORIGINAL_OF = Object.fromEntries(HOOKS.map((h) => [h, `conntrack ${h}: original direction of`])) as Record<HookName, string>;
/** A safety net only: TTL exhaustion ends real loops long before this many hops. */
const MAX_HOPS = 512;

/** A friendly host name for sentences: "pod:default/nginx-1" → "nginx-1", "client:laptop" → "laptop". */
export function displayName(host: string): string {
  if (host.startsWith("pod:")) {
    const rest = host.slice(4);
    return rest.startsWith("default/") ? rest.slice(8) : rest;
  }
  if (host.startsWith("client:")) return host.slice(7);
  return host;
}

/** The comment of a rule as iptables-save prints it, or the rule itself. */
export function ruleReason(rule: string): string {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(rule);
  if (m) return (m[1] ?? m[2])!;
  return rule.replace(/^-A \S+ /, "");
}

/**
 * The rule that sent a packet to be marked for masquerading (the jump into the chain that set
 * 0x4000), as "chain" and its comment: KUBE-EXT-… "masquerade traffic for … external
 * destinations", KUBE-SEP-… (hairpin, `-s <pod IP>`), KUBE-SVC-… (not from the pod CIDR).
 */
function markingJump(b: EvalBranch): { chain: string; reason: string } | null {
  // Only a MARK rule can set the bit, and only a jump step's text holds `-j <chain>`: the
  // regular expressions run on those steps alone.
  const setAt = b.steps.findIndex((s) => s.action === "mark" && /-j MARK --(?:set-xmark|or-mark|set-mark) 0x4000\b/.test(s.text));
  if (setAt < 0) return null;
  const markChain = b.steps[setAt]!.chain;
  const jumpTo = jumpPattern(markChain);
  for (let i = setAt - 1; i >= 0; i--) {
    const s = b.steps[i]!;
    if (s.action === "jump" && jumpTo.test(s.text)) {
      const src = /(!\s+)?-s (\S+)/.exec(s.text);
      const reason = ruleReason(s.text);
      return { chain: s.chain, reason: src && !reason.includes(src[2]!) ? `${reason}, source ${src[1] ? "not " : ""}${src[2]}` : reason };
    }
  }
  return null;
}

/**
 * The sentence of a connected branch, as a function that makes it: it reads only what the branch
 * settled before it ended (nothing changes a finished path), not the path itself, so a branch whose
 * trace was dropped keeps none of it alive through this.
 */
function connectedSentence(
  clientName: string,
  proto: number,
  deliveredTo: Path["deliveredTo"],
  sourceSeen: Path["sourceSeen"],
  nat: readonly NatRecord[],
  markedBy: Path["markedBy"],
  marked: readonly string[],
  replyFrom: Endpoint4,
): () => string {
  return () => {
    const server = deliveredTo ? displayName(deliveredTo.host) : "the server";
    const to = deliveredTo ? `${server} (${deliveredTo.ip}:${deliveredTo.port})` : server;
    const dnat = nat.find((n) => n.phase === "request" && n.kind === "DNAT");
    const snat = nat.find((n) => n.phase === "request" && n.kind === "SNAT");
    let how = "";
    if (dnat) how += ` after ${displayName(dnat.host)} DNATed ${dnat.before} to ${dnat.after} (${dnat.chain})`;
    if (snat) {
      // The masquerade is decided where the packet was marked: name that rule, it is the "why".
      const mark = markedBy.find((m) => m.host === snat.host);
      how += `${dnat ? " and" : " after"} ${displayName(snat.host)} masqueraded the source to ${snat.after.replace(/:\d+$/, "")} (${snat.chain})`;
      if (mark) how += ` because ${mark.chain} marked it (${mark.reason})`;
    }
    // Forwarded through a Service without SNAT: say why not, it is what `masqueraded` asks.
    const unmasked = dnat && !snat ? (marked.includes(dnat.host) ? " (marked for masquerade, but no MASQUERADE rule matched)" : " (no rule marked it for masquerade)") : "";
    const seen = sourceSeen ? `, so ${server} saw the connection come from ${sourceSeen.ip}${unmasked}` : "";
    // A client that talked to a Service address gets its answer from that address, never from the
    // pod: conntrack on the DNATing node rewrites the reply's source.
    const back = dnat && `${replyFrom.ip}:${replyFrom.port}` === dnat.before ? `, and ${displayName(dnat.host)}'s conntrack sent the reply back from ${dnat.before}` : "";
    return `${clientName} ${proto === PROTO_TCP ? "connected to" : "got an answer from"} ${to}${how}${seen}${back}`;
  };
}

const jumpPatterns = new Map<string, RegExp>();

/** `-j <chain>` as a whole word, compiled once per chain name. */
function jumpPattern(chain: string): RegExp {
  let re = jumpPatterns.get(chain);
  if (!re) {
    re = new RegExp(`-j ${chain}(?:\\s|$)`);
    if (jumpPatterns.size < 1024) jumpPatterns.set(chain, re);
  }
  return re;
}

/**
 * The source port a source NAT (SNAT, MASQUERADE) gives a new connection, as nf_nat_core picks
 * it. Without --random-fully the connection keeps its port when the reply tuple is free (and the
 * port is in --to-ports); on a clash the next free port is taken. With --random-fully (kube-proxy
 * writes it whenever iptables supports it) the port is drawn at random from the range: 1024–65535
 * for a source port of 1024 and up, 600–1023 or 1–511 below (nf_nat_l4proto_unique_tuple), the
 * --to-ports range when given. The simulator draws it from a hash of the connection and the host,
 * so a run is repeatable; the kernel engine shows other, truly random, ports.
 */
function snatPort(table: CtTable, host: string, pkt: Packet, e: CtEntry, src: number, nat: Exclude<NatAction, { kind: "DNAT" }>): number {
  const taken = (port: number) => table.replyTaken(pkt.proto, { src: e.reply.src, sport: e.reply.sport, dst: src, dport: port });
  // Only TCP, UDP and SCTP have ports to rewrite (an ICMP echo's id is not modelled).
  if (pkt.proto !== PROTO_TCP && pkt.proto !== PROTO_UDP && pkt.proto !== PROTO_SCTP) return pkt.sport;
  const fixed = nat.kind === "SNAT" && nat.port !== null ? { lo: nat.port, hi: nat.port } : nat.kind === "MASQUERADE" ? (nat.toPorts ?? null) : null;
  if (!nat.randomFully) {
    let port = nat.kind === "SNAT" && nat.port !== null ? nat.port : pkt.sport;
    if (fixed && (port < fixed.lo || port > fixed.hi)) port = fixed.lo;
    const lo = fixed ? fixed.lo : 1024;
    const hi = fixed ? fixed.hi : 65535;
    for (let tries = 0; taken(port) && tries <= hi - lo; tries++) port = port >= hi ? lo : port + 1;
    return port;
  }
  const lo = fixed ? fixed.lo : pkt.sport >= 1024 ? 1024 : pkt.sport >= 512 ? 600 : 1;
  const hi = fixed ? fixed.hi : pkt.sport >= 1024 ? 65535 : pkt.sport >= 512 ? 1023 : 511;
  const size = hi - lo + 1;
  // The host's name too: two hosts masquerading one connection draw apart.
  let off = (tupleHash(pkt.proto, e.orig.src, e.orig.sport, e.orig.dst, e.orig.dport) ^ stringHash(host)) & 0xffff;
  for (let tries = 0; tries < size; tries++, off++) {
    const port = lo + (off % size);
    if (!taken(port)) return port;
  }
  return lo + (off % size);
}

// What the walk does once a packet has passed a hook's tables (the `then` of `tables`): a number
// and the arguments it needs, not a closure. A closure (and its context) per hook per packet was
// ≈ 35 MB of the 472 MB a 100-file suite allocated; a fork, the only place a continuation runs
// more than once, is rare. Arguments: `hop` the route's next hop, `dev` and `owner` interfaces, `n` a number.
/** output(): reroute if the nat table changed the destination (`n` = the destination before), else on to `hop`. */
const THEN_OUTPUT = 0;
/** Loopback: POSTROUTING done, now INPUT out of lo. */
const THEN_LOOPBACK_IN = 1;
/** INPUT done: confirm, then the socket. */
const THEN_SOCKET = 2;
/** POSTROUTING done: confirm, then onto the wire by `hop`. */
const THEN_TRANSMIT = 3;
/** br_netfilter PREROUTING done at bridge port `dev` (frame for `owner`; `n` = destination before). */
const THEN_BRIDGE_PRE = 4;
/** br_netfilter FORWARD done: POSTROUTING, out of bridge port `dev` towards `owner`. */
const THEN_BRIDGE_FORWARD = 5;
/** br_netfilter POSTROUTING done: confirm, then out of bridge port `dev` towards `owner`. */
const THEN_BRIDGE_OUT = 6;
/** PREROUTING done on a packet received on `dev`: routing. */
const THEN_ROUTE = 7;
/** FORWARD done: POSTROUTING towards `hop`. */
const THEN_POSTROUTING = 8;
/** A promiscuous bridge's copy passed FORWARD: POSTROUTING's mangle table, towards `hop`. */
const THEN_PROMISC_POSTROUTING = 9;
/** The promiscuous copy passed POSTROUTING: onto the wire by `hop`. */
const THEN_PROMISC_TRANSMIT = 10;

// What forEachHop does with each next hop (see THEN_*).
/** output(): the route's hop chosen, on to OUTPUT. */
const HOP_OUTPUT = 0;
/** Rerouted after DNAT in OUTPUT: POSTROUTING. */
const HOP_POSTROUTING = 1;
/** Forwarding a packet received on `dev`. */
const HOP_FORWARD = 2;


export class Walk {
  readonly leaves: Path[] = [];
  private hops = 0;
  private readonly clientName: string;
  private readonly view: PacketView = { src: 0, dst: 0, proto: 0, sport: 0, dport: 0, mark: 0, inIface: null, outIface: null };

  constructor(
    private readonly hosts: Map<string, WalkHost>,
    private readonly segments: Segments,
    private readonly req: ProbeRequest,
    private readonly sock: Socket,
    private readonly dns: DnsHook | undefined,
    private readonly evaluate: typeof runTable = runTable,
  ) {
    this.clientName = hosts.get(sock.host)?.host.displayName ?? displayName(sock.host);
  }

  // ---------------------------------------------------------------- start and end

  start(path: Path): void {
    const wh = this.hosts.get(this.sock.host)!;
    const pkt: Packet = {
      src: this.sock.lip,
      dst: this.sock.rip,
      proto: this.sock.proto,
      sport: this.sock.lport,
      dport: this.sock.rport,
      ttl: DEFAULT_TTL,
      mark: 0,
      flags: this.sock.proto === PROTO_TCP ? "SYN" : "",
      icmp: null,
      inner: null,
      ct: null,
      ctDir: Dir.Orig,
      ctState: 0,
      ctNew: false,
      ctAttached: false,
      localOrigin: null,
    };
    new PacketEvent(path, "request", wh.host.name, "send", wh.host.displayName, " sends ", pkt);
    this.output(wh, pkt, path);
  }

  private finish(path: Path, result: ClientResult, signal: Signal, explanation: Path["explanation"], replyFrom: Path["replyFrom"] = null): void {
    path.result = result;
    path.signal = signal;
    path.explanation = explanation;
    path.replyFrom = replyFrom;
    this.leaves.push(path);
  }

  /** The packet is gone: nothing comes back to the client, its connect (or recv) times out. */
  private lost(path: Path, host: string, text: string, explanation: string): void {
    path.text({ phase: path.phase, host, kind: "drop", text });
    this.finish(path, "timeout", "none", explanation);
  }

  // ---------------------------------------------------------------- local output

  private output(wh: WalkHost, pkt: Packet, path: Path): void {
    const h = wh.host;
    pkt.localOrigin = h.name;
    pkt.mark = 0;
    const rt = h.routes.lookup(pkt.dst);
    if (rt.kind === "unreachable") {
      path.text({ phase: path.phase, host: h.name, kind: "route", text: `${h.displayName}: no route to ${fmtIp(pkt.dst)}` });
      if (this.isClientSocketPacket(h, pkt)) {
        this.finish(path, "net-unreachable", "none", `${this.clientName} has no route to ${fmtIp(pkt.dst)}, so its connect failed at once with ENETUNREACH`);
      } else {
        this.lost(path, h.name, "no route: dropped", `${h.displayName} has no route back to ${fmtIp(pkt.dst)}, so its ${pkt.icmp ? "ICMP error" : "reply"} was lost and ${this.clientName} timed out`);
      }
      return;
    }
    if (rt.kind === "local") return this.outputHop(wh, null, pkt, path);
    this.forEachHop(wh, rt.route.hops, pkt, path, HOP_OUTPUT, null);
  }

  private outputHop(wh: WalkHost, hop: NextHop | null, pkt: Packet, path: Path): void {
    const h = wh.host;
    new RouteEvent(path, path.phase, h.name, h.displayName, false, pkt.dst, hop ? hop.gw : 0, hop ? hop.dev.name : null);
    const outName = hop ? hop.dev.name : "lo";
    this.conntrackIn(wh, pkt, path, "OUTPUT");
    // OUTPUT's nat can only DNAT (SNAT and MASQUERADE are refused there at load), which reads no hop.
    this.tables(wh, "OUTPUT", wh.tables.out, null, outName, pkt, path, THEN_OUTPUT, hop, null, null, pkt.dst, null, 0);
  }

  private afterOutput(wh: WalkHost, hop: NextHop | null, dstBefore: number, pkt: Packet, path: Path): void {
    const h = wh.host;
    if (pkt.dst !== dstBefore) {
      // ip_route_me_harder: the nat table changed the destination, route again.
      const rt2 = h.routes.lookup(pkt.dst);
      path.text({ phase: path.phase, host: h.name, kind: "route", text: `${h.displayName}: reroute after DNAT to ${fmtIp(pkt.dst)}` });
      if (rt2.kind === "unreachable") {
        this.lost(path, h.name, `no route to ${fmtIp(pkt.dst)}`, `${h.displayName} has no route to ${fmtIp(pkt.dst)} after DNAT`);
        return;
      }
      if (rt2.kind === "local") return this.outputLocal(wh, pkt, path);
      return this.forEachHop(wh, rt2.route.hops, pkt, path, HOP_POSTROUTING, null);
    }
    if (!hop) return this.outputLocal(wh, pkt, path);
    this.postrouting(wh, hop, pkt, path);
  }

  /** Loopback delivery: POSTROUTING out of lo, then INPUT (PREROUTING's nat has nothing left to do). */
  private outputLocal(wh: WalkHost, pkt: Packet, path: Path): void {
    this.tables(wh, "POSTROUTING", wh.tables.post, null, "lo", pkt, path, THEN_LOOPBACK_IN, null, null, null, 0, null, 0);
  }

  private postrouting(wh: WalkHost, hop: NextHop, pkt: Packet, path: Path): void {
    this.tables(wh, "POSTROUTING", wh.tables.post, null, hop.dev.name, pkt, path, THEN_TRANSMIT, hop, null, null, 0, null, 0);
  }

  /** What follows a hook's tables (see THEN_*), for the packet on this path. */
  private then(then: number, wh: WalkHost, hop: NextHop | null, dev: SimIface | null, owner: SimIface | null, n: number, pkt: Packet, path: Path): void {
    switch (then) {
      case THEN_OUTPUT:
        return this.afterOutput(wh, hop, n, pkt, path);
      case THEN_LOOPBACK_IN:
        return this.tables(wh, "INPUT", wh.tables.loopbackIn, "lo", null, pkt, path, THEN_SOCKET, null, null, null, 0, null, 0);
      case THEN_SOCKET:
        this.confirm(wh, pkt, path);
        return this.socket(wh, pkt, path);
      case THEN_TRANSMIT:
        this.confirm(wh, pkt, path);
        return this.transmit(wh, hop!, pkt, path);
      case THEN_BRIDGE_PRE:
        return this.afterBridgePre(wh, dev!, owner!, pkt, path, true, n);
      case THEN_BRIDGE_FORWARD: {
        const br = dev!.port!;
        return this.tables(wh, "POSTROUTING", wh.tables.post, null, br.name, pkt, path, THEN_BRIDGE_OUT, br.hop, dev, owner, 0, null, 0);
      }
      case THEN_BRIDGE_OUT:
        this.confirm(wh, pkt, path);
        return this.bridgeDeliver(wh, dev!, owner!, pkt, path);
      case THEN_ROUTE:
        return this.route(wh, dev!, pkt, path);
      case THEN_POSTROUTING:
        return this.postrouting(wh, hop!, pkt, path);
      case THEN_PROMISC_POSTROUTING:
        // Untracked: POSTROUTING's nat table is not consulted, so nothing masquerades the copy.
        return this.tables(wh, "POSTROUTING", wh.tables.promiscPost, null, hop!.dev.name, pkt, path, THEN_PROMISC_TRANSMIT, hop, null, null, 0, null, 0);
      case THEN_PROMISC_TRANSMIT:
        return this.transmit(wh, hop!, pkt, path);
    }
  }

  // ---------------------------------------------------------------- the wire

  private transmit(wh: WalkHost, hop: NextHop, pkt: Packet, path: Path): void {
    const h = wh.host;
    if (++this.hops > MAX_HOPS) {
      this.lost(path, h.name, "hop limit", `the packet was still moving after ${MAX_HOPS} hops, so the walk stopped it`);
      return;
    }
    const nh = hop.gw || pkt.dst;
    let target = hop.arpAnswer;
    if (hop.arpFor !== nh) {
      target = hop.arpAnswer = this.segments.resolve(hop.dev, nh);
      hop.arpFor = nh;
    }
    if (!target) {
      path.text({ phase: path.phase, host: h.name, kind: "interface", text: `${h.displayName}: no ARP answer for ${fmtIp(nh)} on ${hop.dev.name}` });
      if (pkt.localOrigin === h.name) {
        if (this.isClientSocketPacket(h, pkt)) {
          this.finish(path, "host-unreachable", "none", `nobody answered ${this.clientName}'s ARP for ${fmtIp(nh)} on ${hop.dev.name}, so its connect failed with EHOSTUNREACH`);
        } else {
          this.lost(path, h.name, "neighbour failed", `nobody answered ${h.displayName}'s ARP for ${fmtIp(nh)} on ${hop.dev.name}, so its reply was lost`);
        }
        return;
      }
      const why = `nobody answered ${h.displayName}'s ARP for ${fmtIp(nh)} on ${hop.dev.name}`;
      this.icmpError(wh, pkt, path, "host-unreachable", why);
      return;
    }
    // Out of a bridge device: the bridge forwards the frame to the port the owner sits behind.
    const rx = hop.dev.bridge ? target.owner : target.rx;
    new HopEvent(path, path.phase, h.name, "interface", h.displayName, hop.dev.name, hop.dev.bridge ? target.rx.name : null, rx.host.displayName, rx.name);
    const q = pkt;
    q.localOrigin = null;
    this.receive(rx, target.owner, q, path);
  }

  private receive(rx: SimIface, owner: SimIface, pkt: Packet, path: Path): void {
    const wh = this.hosts.get(rx.host.name)!;
    const h = wh.host;
    // A new network namespace: no conntrack attachment, no mark.
    pkt.ct = null;
    pkt.ctNew = false;
    pkt.ctAttached = false;
    pkt.ctState = 0;
    pkt.mark = 0;
    if (path.phase === "request" && h.kind === "node" && path.via[path.via.length - 1] !== h.name) path.via.push(h.name);
    if (rx.port) return this.bridgeIn(wh, rx.port, rx, owner, pkt, path);
    if (owner !== rx) {
      this.lost(path, h.name, `frame for another host ignored on ${rx.name}`, `${h.displayName} ignored a frame not addressed to it`);
      return;
    }
    this.ipReceive(wh, rx, pkt, path, false);
  }

  // ---------------------------------------------------------------- the bridge

  private bridgeIn(wh: WalkHost, br: SimBridge, port: SimIface, owner: SimIface, pkt: Packet, path: Path): void {
    const h = wh.host;
    const brNf = h.sysctls.bridgeNfCallIptables && wh.ruleset !== null;
    new BridgeInEvent(path, path.phase, h.name, h.displayName, br.name, port.name, brNf);
    if (brNf) {
      // The destination before conntrack's translation too: either makes the bridge ask routing.
      const dstBefore = pkt.dst;
      this.conntrackIn(wh, pkt, path, "PREROUTING");
      this.tables(wh, "PREROUTING", wh.tables.pre, br.name, null, pkt, path, THEN_BRIDGE_PRE, null, port, owner, dstBefore, null, 0);
    } else {
      this.afterBridgePre(wh, port, owner, pkt, path, false, pkt.dst);
    }
  }

  /** A frame that came in on bridge port `port`, for `owner`, after br_netfilter's PREROUTING (if it ran). */
  private afterBridgePre(wh: WalkHost, port: SimIface, owner: SimIface, pkt: Packet, path: Path, preDone: boolean, dstBefore: number): void {
    const h = wh.host;
    const br = port.port!;
    const brNf = h.sysctls.bridgeNfCallIptables && wh.ruleset !== null;
    if (preDone && pkt.dst !== dstBefore) {
      // br_nf_pre_routing_finish: the destination changed, so the bridge asks routing. When the
      // route leads back out of this same bridge, the frame is bridged (not routed) to the new
      // destination's port.
      const rt = h.routes.lookup(pkt.dst);
      if (rt.kind === "unicast" && rt.route.hops.length === 1 && rt.route.hops[0]!.dev === br.dev) {
        const hop = rt.route.hops[0]!;
        const target = this.segments.resolveOnBridge(br, hop.gw || pkt.dst, null);
        if (!target) {
          this.icmpError(wh, pkt, path, "host-unreachable", `nobody answered ${h.displayName}'s ARP for ${fmtIp(hop.gw || pkt.dst)} on ${br.name}`);
          return;
        }
        path.text({ phase: path.phase, host: h.name, kind: "bridge", text: `${h.displayName}: ${fmtIp(pkt.dst)} is out of ${br.name} again: bridged DNAT to port ${target.rx.name}` });
        return this.bridgeForward(wh, br, port, target.rx, target.owner, pkt, path, brNf);
      }
      return this.ipReceive(wh, br.dev, pkt, path, true);
    }
    if (owner === br.dev) return this.ipReceive(wh, br.dev, pkt, path, preDone);
    const out = this.segments.fdb(br, owner);
    if (!out) {
      this.lost(path, h.name, `${br.name}: no port for the destination`, `${h.displayName}'s bridge ${br.name} knows no port for ${fmtIp(pkt.dst)}`);
      return;
    }
    this.bridgeForward(wh, br, port, out, owner, pkt, path, brNf);
  }

  private bridgeForward(wh: WalkHost, br: SimBridge, inPort: SimIface, outPort: SimIface, owner: SimIface, pkt: Packet, path: Path, brNf: boolean): void {
    const h = wh.host;
    if (outPort === inPort && !inPort.hairpin) {
      const blocked = `${h.displayName}'s bridge ${br.name} would have to send the packet to ${fmtIp(pkt.dst)} back out ${inPort.name}, the port it came in on, and hairpin_mode is off on that port`;
      path.text({ phase: path.phase, host: h.name, kind: "bridge", text: `${br.name}: ${inPort.name} hairpin_mode=0, not sent back out the port it came in on` });
      if (br.promisc && brNf) return this.promiscCopy(wh, br, pkt, path, blocked);
      const how = brNf ? " (with br_netfilter the DNATed packet is bridged, not routed)" : "";
      this.finishDropped(path, h.name, `bridge ${br.name}: hairpin refused`, `${blocked}${how}`);
      return;
    }
    if (!brNf) return this.bridgeDeliver(wh, outPort, owner, pkt, path);
    // br_netfilter: bridged IPv4 passes FORWARD and POSTROUTING with the bridge as in/out device.
    this.tables(wh, "FORWARD", wh.tables.fwd, br.name, br.name, pkt, path, THEN_BRIDGE_FORWARD, null, outPort, owner, 0, null, 0);
  }

  /** The bridge sends the frame out of port `outPort` to `owner`'s interface behind it. */
  private bridgeDeliver(wh: WalkHost, outPort: SimIface, owner: SimIface, pkt: Packet, path: Path): void {
    const h = wh.host;
    const br = outPort.port!;
    const peer = this.segments.peerOn(outPort, owner);
    if (!peer) {
      this.lost(path, h.name, `${br.name}: nothing behind ${outPort.name}`, `${h.displayName}'s bridge ${br.name} found nothing behind ${outPort.name}`);
      return;
    }
    new HopEvent(path, path.phase, h.name, "bridge", h.displayName, br.name, outPort.name, peer.host.displayName, peer.name);
    this.receive(peer, owner, pkt, path);
  }

  /**
   * A promiscuous bridge passes a copy of the refused hairpin frame up to its own IP stack. On
   * the kernel kernel-lab ran, that copy has its conntrack reset: it reaches FORWARD as INVALID,
   * never sees the nat table again, and kube-proxy's KUBE-FORWARD INVALID DROP drops it.
   */
  private promiscCopy(wh: WalkHost, br: SimBridge, pkt: Packet, path: Path, blocked: string): void {
    const h = wh.host;
    path.text({ phase: path.phase, host: h.name, kind: "bridge", text: `${br.name} is promiscuous: a copy goes up to ${h.displayName}'s IP stack with its conntrack reset (INVALID)` });
    pkt.ct = null;
    pkt.ctNew = false;
    pkt.ctState = CT.INVALID;
    const rt = h.routes.lookup(pkt.dst);
    if (rt.kind !== "unicast") {
      this.finishDropped(path, h.name, "promiscuous copy not routable", `${blocked}; the promiscuous copy had nowhere to go`);
      return;
    }
    const hop = rt.route.hops[0]!;
    this.tables(wh, "FORWARD", wh.tables.fwd, br.name, hop.dev.name, pkt, path, THEN_PROMISC_POSTROUTING, hop, null, null, 0, (dropPath, where) => {
      dropPath.explanation = `${blocked}; ${br.name} is promiscuous, but the copy passed up has its conntrack reset, reached FORWARD as INVALID and was dropped by ${where}`;
    }, 0);
  }

  // ---------------------------------------------------------------- IP reception and routing

  private ipReceive(wh: WalkHost, dev: SimIface, pkt: Packet, path: Path, preDone: boolean): void {
    if (preDone || wh.ruleset === null) return this.route(wh, dev, pkt, path);
    this.conntrackIn(wh, pkt, path, "PREROUTING");
    this.tables(wh, "PREROUTING", wh.tables.pre, dev.name, null, pkt, path, THEN_ROUTE, null, dev, null, 0, null, 0);
  }

  /** Routing of a packet received on `dev`: martians, rp_filter, then local delivery or forwarding. */
  private route(wh: WalkHost, dev: SimIface, pkt: Packet, path: Path): void {
    const h = wh.host;
    // Martian source: one of our own addresses arriving from outside (fib_validate_source).
    if (h.isLocal(pkt.src) && dev !== h.lo) {
      this.finishDropped(
        path,
        h.name,
        `martian source ${fmtIp(pkt.src)} on ${dev.name}`,
        `${h.displayName} dropped the ${this.packetWord(pkt)} as a martian: its source ${fmtIp(pkt.src)} is ${h.displayName}'s own address${this.martianCause(path, pkt)}`,
      );
      return;
    }
    if ((pkt.dst >>> 24) === 127 && !h.sysctls.routeLocalnet) {
      this.finishDropped(path, h.name, `martian destination ${fmtIp(pkt.dst)}`, `${h.displayName} dropped a packet to ${fmtIp(pkt.dst)} from ${dev.name} as a martian (route_localnet=0)`);
      return;
    }
    if (h.sysctls.rpFilter !== 0 && !this.rpFilterOk(h, dev, pkt.src)) {
      this.finishDropped(path, h.name, `rp_filter: ${fmtIp(pkt.src)} not reachable via ${dev.name}`, `${h.displayName}'s reverse path filter (rp_filter=${h.sysctls.rpFilter}) dropped the packet from ${fmtIp(pkt.src)} arriving on ${dev.name}`);
      return;
    }
    const rt = h.routes.lookup(pkt.dst);
    if (rt.kind === "local") {
      new RouteEvent(path, path.phase, h.name, h.displayName, false, pkt.dst, 0, null);
      return this.tables(wh, "INPUT", wh.tables.in, dev.name, null, pkt, path, THEN_SOCKET, null, null, null, 0, null, 0);
    }
    if (!h.sysctls.ipForward) {
      this.lost(path, h.name, `not forwarding (ip_forward=0)`, `${h.displayName} does not forward (ip_forward=0) and dropped the packet to ${fmtIp(pkt.dst)}`);
      return;
    }
    if (rt.kind === "unreachable") {
      path.text({ phase: path.phase, host: h.name, kind: "route", text: `${h.displayName}: no route to ${fmtIp(pkt.dst)}` });
      return this.icmpError(wh, pkt, path, "net-unreachable", `${h.displayName} has no route to ${fmtIp(pkt.dst)}${this.notCapturedNote(path, pkt)}`);
    }
    this.forEachHop(wh, rt.route.hops, pkt, path, HOP_FORWARD, dev);
  }

  private forwardHop(wh: WalkHost, dev: SimIface, hop: NextHop, pkt: Packet, path: Path): void {
    const h = wh.host;
    new RouteEvent(path, path.phase, h.name, h.displayName, true, pkt.dst, hop.gw, hop.dev.name);
    if (pkt.ttl <= 1) {
      const loop = [...new Set(path.forwarders)].map(displayName);
      const where = loop.length > 1 ? `looped between ${loop.join(" and ")} until its TTL ran out on ${h.displayName}` : `ran out of TTL on ${h.displayName}`;
      return this.icmpError(wh, pkt, path, "time-exceeded", `the packet to ${fmtIp(pkt.dst)}:${pkt.dport} ${where}${this.noDnatNote(path)}`);
    }
    if (path.phase === "request") path.forwarders.push(h.name);
    pkt.ttl--;
    this.tables(wh, "FORWARD", wh.tables.fwd, dev.name, hop.dev.name, pkt, path, THEN_POSTROUTING, hop, null, null, 0, null, 0);
  }

  private rpFilterOk(h: SimHost, dev: SimIface, src: number): boolean {
    const rt = h.routes.lookup(src);
    if (rt.kind !== "unicast") return rt.kind === "local" ? false : h.sysctls.rpFilter === 2 ? false : false;
    if (h.sysctls.rpFilter === 2) return true;
    return rt.route.hops.some((x) => x.dev === dev);
  }

  /** Each next hop of a route (ECMP forks the walk), then what `kind` says (HOP_*). */
  private forEachHop(wh: WalkHost, hops: readonly NextHop[], pkt: Packet, path: Path, kind: number, dev: SimIface | null): void {
    if (hops.length === 1) return this.hop(kind, wh, dev, hops[0]!, pkt, path);
    const h = wh.host;
    const share = 1 / hops.length;
    const forks = hops.map(() => path.fork(path.p * share));
    hops.forEach((hop, i) => {
      const child = forks[i]!;
      const to = this.segments.resolve(hop.dev, hop.gw || pkt.dst);
      child.choices.push(`${h.displayName} → ${to ? to.owner.host.displayName : fmtIp(hop.gw)}`);
      this.hop(kind, wh, dev, hop, forkPacket(pkt), child);
    });
  }

  private hop(kind: number, wh: WalkHost, dev: SimIface | null, hop: NextHop, pkt: Packet, path: Path): void {
    if (kind === HOP_OUTPUT) return this.outputHop(wh, hop, pkt, path);
    if (kind === HOP_POSTROUTING) return this.postrouting(wh, hop, pkt, path);
    return this.forwardHop(wh, dev!, hop, pkt, path);
  }

  // ---------------------------------------------------------------- conntrack

  private conntrackIn(wh: WalkHost, pkt: Packet, path: Path, hook: HookName): void {
    if (wh.ruleset === null) return;
    const h = wh.host;
    if (pkt.ctAttached && pkt.ct) {
      pkt.ctState = CT.RELATED | this.natBits(pkt.ct);
      this.dstManip(pkt);
      return;
    }
    const table = path.ct(h.name);
    if (pkt.icmp && pkt.inner) {
      const i = pkt.inner;
      const hit = table.lookup(i.proto, i.dst, i.dport, i.src, i.sport);
      if (!hit) {
        pkt.ct = null;
        pkt.ctState = CT.INVALID;
        return;
      }
      pkt.ct = hit.entry;
      pkt.ctDir = hit.dir;
      pkt.ctState = CT.RELATED | this.natBits(hit.entry);
      new CtEvent(path, path.phase, h.name, h.displayName, "conntrack: RELATED to", hit.entry);
      this.dstManip(pkt);
      return;
    }
    const hit = table.lookup(pkt.proto, pkt.src, pkt.sport, pkt.dst, pkt.dport);
    if (hit) {
      let e = hit.entry;
      pkt.ctDir = hit.dir;
      if (hit.dir === Dir.Reply) {
        e = table.writable(e);
        e.seenReply = true;
        if (pkt.proto === PROTO_TCP) e.tcpState = pkt.flags === "RST" ? "CLOSE" : pkt.flags === "SYN-ACK" ? "SYN_RECV" : e.tcpState;
        pkt.ctState = CT.ESTABLISHED;
      } else {
        pkt.ctState = e.seenReply ? CT.ESTABLISHED : CT.NEW;
      }
      pkt.ct = e;
      pkt.ctNew = false;
      pkt.ctState |= this.natBits(e);
      new CtEvent(path, path.phase, h.name, h.displayName, (hit.dir === Dir.Reply ? CT_REPLY_OF : CT_ORIGINAL_OF)[hook], e);
      this.dstManip(pkt);
      return;
    }
    if (pkt.proto === PROTO_TCP && pkt.flags !== "SYN" && pkt.flags !== "ACK") {
      // tcp_new: only a SYN (or, with nf_conntrack_tcp_loose, an ACK) may start a connection.
      pkt.ct = null;
      pkt.ctState = CT.INVALID;
      path.text({ phase: path.phase, host: h.name, kind: "conntrack", text: `${h.displayName} conntrack: ${describe(pkt)} belongs to no connection: INVALID` });
      return;
    }
    pkt.ct = newEntry(pkt.proto, pkt.src, pkt.sport, pkt.dst, pkt.dport);
    pkt.ctDir = Dir.Orig;
    pkt.ctNew = true;
    pkt.ctState = CT.NEW;
  }

  private natBits(e: CtEntry): number {
    return (e.dnat ? CT.DNAT : 0) | (e.snat ? CT.SNAT : 0);
  }

  /** PREROUTING/OUTPUT side of an existing binding: DNAT for the original direction, un-SNAT for replies. */
  private dstManip(pkt: Packet): void {
    const e = pkt.ct!;
    if (pkt.icmp && pkt.inner) {
      if (pkt.ctDir === Dir.Reply && e.snat) {
        pkt.dst = e.orig.src;
        pkt.inner.src = e.orig.src;
        pkt.inner.sport = e.orig.sport;
      }
      return;
    }
    if (pkt.ctDir === Dir.Orig && e.dnat) {
      pkt.dst = e.reply.src;
      pkt.dport = e.reply.sport;
    } else if (pkt.ctDir === Dir.Reply && e.snat) {
      pkt.dst = e.orig.src;
      pkt.dport = e.orig.sport;
    }
  }

  /** POSTROUTING/INPUT side: SNAT for the original direction, un-DNAT for replies. */
  private srcManip(pkt: Packet): void {
    const e = pkt.ct!;
    if (pkt.icmp && pkt.inner) {
      if (pkt.ctDir === Dir.Reply && e.dnat) {
        pkt.src = e.orig.dst;
        pkt.inner.dst = e.orig.dst;
        pkt.inner.dport = e.orig.dport;
      }
      return;
    }
    if (pkt.ctDir === Dir.Orig && e.snat) {
      pkt.src = e.reply.dst;
      pkt.sport = e.reply.dport;
    } else if (pkt.ctDir === Dir.Reply && e.dnat) {
      pkt.src = e.orig.dst;
      pkt.sport = e.orig.dport;
    }
  }

  private confirm(wh: WalkHost, pkt: Packet, path: Path): void {
    if (!pkt.ct || !pkt.ctNew) return;
    const e = pkt.ct;
    e.dstManipDone = true;
    e.srcManipDone = true;
    path.ct(wh.host.name).confirm(e);
    pkt.ctNew = false;
    new CtEvent(path, path.phase, wh.host.name, wh.host.displayName, "conntrack confirms", e);
  }

  // ---------------------------------------------------------------- netfilter tables

  /**
   * Runs `tables` in order at `hook`, forking on every branch a table returns. The nat table is
   * consulted only for a connection's first packet; for the others, POSTROUTING and INPUT apply
   * the binding's source side here.
   */
  private tables(
    wh: WalkHost,
    hook: HookName,
    tables: TableName[],
    inIface: string | null,
    outIface: string | null,
    pkt: Packet,
    path: Path,
    then: number,
    hop: NextHop | null,
    dev: SimIface | null,
    owner: SimIface | null,
    n: number,
    onDrop: ((path: Path, where: string) => void) | null,
    i: number,
  ): void {
    const srcSide = hook === "POSTROUTING" || hook === "INPUT";
    if (i === 0 && srcSide && pkt.ct && !pkt.ctNew) this.srcManip(pkt);
    const ruleset = wh.ruleset;
    if (ruleset === null) return this.then(then, wh, hop, dev, owner, n, pkt, path);
    // The nat table sees only a connection's first packet, once per manip (src or dst) type
    // (the host's lists hold only the tables its ruleset has, and nat: see hookTables).
    let table: TableName | undefined;
    for (; i < tables.length; i++) {
      table = tables[i]!;
      if (table !== "nat") break;
      const ct = pkt.ct;
      if (ct && pkt.ctNew && !(srcSide ? ct.srcManipDone : ct.dstManipDone)) break;
    }
    if (i >= tables.length || table === undefined) return this.then(then, wh, hop, dev, owner, n, pkt, path);
    // One view per walk, refilled per table: the interpreter reads it only during the call (a
    // MARK target copies it), and a probe meets a hundred or so tables.
    const view = this.view;
    view.src = pkt.src;
    view.dst = pkt.dst;
    view.proto = pkt.proto;
    view.sport = pkt.sport;
    view.dport = pkt.dport;
    view.mark = pkt.mark;
    view.inIface = inIface;
    view.outIface = outIface;
    const ctx = wh.ctx;
    ctx.ctstate = pkt.ctState;
    ctx.recent = path.recentOf(wh.host.name);
    const branches = this.evaluate(ruleset, table, hook, view, ctx);
    const many = branches.length > 1;
    const p = path.p;
    for (let k = 0; k < branches.length; k++) {
      const b = branches[k]!;
      // The last branch continues on the path and packet themselves: each earlier one took its
      // own copies (and fork() froze the shared state), so nothing else sees them any more.
      const own = k === branches.length - 1;
      if (own && many) path.p = p * b.probability;
      const child = many && !own ? path.fork(p * b.probability) : path;
      const q = many && !own ? forkPacket(pkt) : pkt;
      if (many) this.recordChoice(wh, b, child);
      if (this.applyBranch(wh, hook, table, b, q, child, hop, onDrop)) {
        this.tables(wh, hook, tables, inIface, outIface, q, child, then, hop, dev, owner, n, onDrop, i + 1);
      }
    }
  }

  private recordChoice(wh: WalkHost, b: EvalBranch, path: Path): void {
    if (b.nat && b.nat.kind === "DNAT") {
      let sep: EvalBranch["steps"][number] | undefined;
      for (let k = b.steps.length - 1; k >= 0 && !sep; k--) {
        const s = b.steps[k]!;
        if (s.action === "dnat" || s.text.includes("-j DNAT")) sep = s;
      }
      path.choices.push(`${sep ? sep.chain : wh.host.displayName} ${fmtEp(b.nat.ip, b.nat.port ?? 0)}`);
    } else if (b.choices.length > 0) {
      path.choices.push(`${wh.host.displayName}: ${b.choices.join("; ")}`);
    }
  }

  /** Applies one branch's effects; false when the packet stops here (dropped, rejected). */
  private applyBranch(wh: WalkHost, hook: HookName, table: TableName, b: EvalBranch, pkt: Packet, path: Path, hop: NextHop | null, onDrop: ((path: Path, where: string) => void) | null): boolean {
    const h = wh.host;
    // One event for the table's whole run (EvalBranch.steps is never changed after evaluation).
    if (b.steps.length > 0) new StepsEvent(path, path.phase, h.name, h.displayName, table, hook, b.steps);
    if ((b.mark & 0x4000) !== 0 && (pkt.mark & 0x4000) === 0 && path.phase === "request") {
      path.marked.push(h.name);
      const by = markingJump(b);
      if (by) path.markedBy.push({ host: h.name, ...by });
    }
    pkt.mark = b.mark;
    if (b.recentUpdates.length > 0) {
      const lists = path.writableRecent(h.name);
      for (const u of b.recentUpdates) {
        let list = lists.get(u.name);
        if (!list) lists.set(u.name, (list = new Map()));
        if (u.op === "remove") list.delete(u.ip);
        else list.set(u.ip, [...(list.get(u.ip) ?? []), wh.ctx.now]);
      }
    }
    const last = b.steps[b.steps.length - 1];
    // Only a drop or a reject names its rule; most branches accept, so the comment is read then.
    const where = b.verdict === "DROP" || b.verdict === "REJECT" ? (last ? `${last.chain}: ${ruleReason(last.text)}` : `${table} ${hook}`) : "";
    if (b.verdict === "DROP") {
      const text = `dropped on ${h.displayName} by ${where}`;
      path.text({ phase: path.phase, host: h.name, kind: "drop", text, table, chain: last?.chain, hook, rule: last?.text });
      this.finish(path, "timeout", "none", text);
      if (onDrop) onDrop(path, where);
      return false;
    }
    if (b.verdict === "REJECT") {
      const how = b.rejectWith ?? "icmp-port-unreachable";
      const text = `rejected on ${h.displayName} by ${where} (${how})`;
      path.text({ phase: path.phase, host: h.name, kind: "drop", text, table, chain: last?.chain, hook, rule: last?.text });
      this.reject(wh, pkt, path, how, text);
      return false;
    }
    if (b.nat && pkt.ct && pkt.ctNew) this.applyNat(wh, hook, b.nat, pkt, path, hop, last?.chain ?? table);
    else if (table === "nat" && pkt.ct && pkt.ctNew) {
      // A null binding: this manip is decided (nothing), later packets skip the nat table.
      if (hook === "POSTROUTING" || hook === "INPUT") pkt.ct.srcManipDone = true;
      else pkt.ct.dstManipDone = true;
    }
    return true;
  }

  private applyNat(wh: WalkHost, hook: HookName, nat: NatAction, pkt: Packet, path: Path, hop: NextHop | null, chain: string): void {
    const e = pkt.ct!;
    const h = wh.host;
    if (nat.kind === "DNAT") {
      const beforeIp = pkt.dst;
      const beforePort = pkt.dport;
      pkt.dst = nat.ip;
      if (nat.port !== null) pkt.dport = nat.port;
      e.reply.src = pkt.dst;
      e.reply.sport = pkt.dport;
      e.dnat = e.orig.dst !== pkt.dst || e.orig.dport !== pkt.dport;
      e.dstManipDone = true;
      pkt.ctState |= CT.DNAT;
      const rec = new NatRecord(path, h.name, path.phase, "DNAT", chain, h.displayName, hook, "DNAT", beforeIp, beforePort, pkt.dst, pkt.dport, null);
      path.nat.push(rec);
      return;
    }
    let src: number;
    if (nat.kind === "MASQUERADE") {
      // The primary address of the egress device the route lookup chose (cni0 → bridge address).
      const dev = hop?.dev;
      src = dev ? h.primaryAddress(dev, hop!.gw || pkt.dst) : pkt.src;
    } else {
      src = nat.ip;
    }
    const sport = snatPort(path.ct(h.name), h.name, pkt, e, src, nat);
    const beforeIp = pkt.src;
    const beforePort = pkt.sport;
    pkt.src = src;
    pkt.sport = sport;
    e.reply.dst = src;
    e.reply.dport = sport;
    e.snat = e.orig.src !== src || e.orig.sport !== sport;
    e.srcManipDone = true;
    if (path.phase === "request") path.masqueraded = true;
    const rec = new NatRecord(path, h.name, path.phase, "SNAT", chain, h.displayName, hook, nat.kind, beforeIp, beforePort, src, sport, hop ? hop.dev.name : null, nat.randomFully);
    path.nat.push(rec);
  }

  // ---------------------------------------------------------------- errors sent back

  private reject(wh: WalkHost, pkt: Packet, path: Path, how: string, why: string): void {
    if (how === "tcp-reset" && pkt.proto === PROTO_TCP) {
      const rst = this.replyPacket(pkt, "RST");
      this.attach(rst, pkt);
      path.text({ phase: "error", host: wh.host.name, kind: "reply", text: `${wh.host.displayName} sends ${describe(rst)} (REJECT --reject-with tcp-reset)` });
      path.phase = "error";
      this.output(wh, rst, path);
      return;
    }
    const kind: IcmpKind =
      how.includes("net-unreach") ? "net-unreachable" : how.includes("host-unreach") ? "host-unreachable" : how.includes("prohib") ? "admin-prohibited" : "port-unreachable";
    this.icmpError(wh, pkt, path, kind, why);
  }

  /** The host sends an ICMP error about `pkt` back to its sender (never about another ICMP error). */
  private icmpError(wh: WalkHost, pkt: Packet, path: Path, kind: IcmpKind, why: string): void {
    const h = wh.host;
    if (pkt.icmp) {
      this.lost(path, h.name, `${why}; no ICMP error about an ICMP error`, `${why}, and no ICMP error is sent about an ICMP error`);
      return;
    }
    // Source: the local destination it was addressed to, else what routing picks towards the sender.
    let src = h.isLocal(pkt.dst) ? pkt.dst : 0;
    if (!src) {
      const back = h.routes.lookup(pkt.src);
      src = back.kind === "unicast" ? h.selectSource(back.route, back.route.hops[0]!.gw) : h.isLocal(pkt.src) ? pkt.src : 0;
    }
    if (!src) {
      this.lost(path, h.name, `${why}; no route back to ${fmtIp(pkt.src)}`, `${why}, and ${h.displayName} has no route back to ${fmtIp(pkt.src)} for the ICMP error`);
      return;
    }
    const err: Packet = {
      src,
      dst: pkt.src,
      proto: PROTO_ICMP,
      sport: 0,
      dport: 0,
      ttl: DEFAULT_TTL,
      mark: 0,
      flags: "",
      icmp: kind,
      inner: { src: pkt.src, sport: pkt.sport, dst: pkt.dst, dport: pkt.dport, proto: pkt.proto },
      ct: null,
      ctDir: Dir.Orig,
      ctState: 0,
      ctNew: false,
      ctAttached: false,
      localOrigin: null,
    };
    this.attach(err, pkt);
    path.text({ phase: "error", host: h.name, kind: "icmp", text: `${why}: ${h.displayName} sends ${describe(err)}` });
    path.errorCause = why;
    path.phase = "error";
    this.output(wh, err, path);
  }

  /** nf_ct_attach: a packet generated in answer to another carries its conntrack entry, as RELATED. */
  private attach(gen: Packet, cause: Packet): void {
    if (!cause.ct) return;
    gen.ct = cause.ct;
    gen.ctDir = cause.ctDir === Dir.Orig ? Dir.Reply : Dir.Orig;
    gen.ctAttached = true;
  }

  private replyPacket(pkt: Packet, flags: TcpFlags): Packet {
    return {
      src: pkt.dst,
      dst: pkt.src,
      proto: pkt.proto,
      sport: pkt.dport,
      dport: pkt.sport,
      ttl: DEFAULT_TTL,
      mark: 0,
      flags,
      icmp: null,
      inner: null,
      ct: null,
      ctDir: Dir.Orig,
      ctState: 0,
      ctNew: false,
      ctAttached: false,
      localOrigin: null,
    };
  }

  // ---------------------------------------------------------------- sockets

  private isClientSocketPacket(h: SimHost, pkt: Packet): boolean {
    return h.name === this.sock.host && pkt.src === this.sock.lip && pkt.sport === this.sock.lport && !pkt.icmp && (pkt.flags === "SYN" || pkt.proto === PROTO_UDP);
  }

  private packetWord(pkt: Packet): string {
    return pkt.proto === PROTO_TCP ? pkt.flags || "segment" : pkt.proto === PROTO_UDP ? "datagram" : "packet";
  }

  private socket(wh: WalkHost, pkt: Packet, path: Path): void {
    const h = wh.host;
    const s = this.sock;
    const name = h.displayName;
    const toClient = h.name === s.host && pkt.dst === s.lip;
    if (pkt.icmp && pkt.inner) {
      const i = pkt.inner;
      const ours = toClient && i.src === s.lip && i.sport === s.lport && i.dst === s.rip && i.dport === s.rport && i.proto === s.proto;
      new PacketEvent(path, path.phase, h.name, "deliver", name, " receives ", pkt);
      if (!ours) {
        this.finish(path, "timeout", "none", `${name} got an ICMP ${pkt.icmp} from ${fmtIp(pkt.src)} about a packet it does not recognise (${path.errorCause ?? "an error on the way"}), so its connect timed out`);
        return;
      }
      const result: ClientResult =
        pkt.icmp === "port-unreachable" ? "refused" : pkt.icmp === "net-unreachable" ? "net-unreachable" : "host-unreachable";
      const signal: Signal =
        pkt.icmp === "port-unreachable" ? "icmp-port-unreachable" : pkt.icmp === "net-unreachable" ? "icmp-net-unreachable" : pkt.icmp === "time-exceeded" ? "icmp-time-exceeded" : pkt.icmp === "admin-prohibited" ? "icmp-admin-prohibited" : "icmp-host-unreachable";
      const errno = result === "refused" ? "ECONNREFUSED" : result === "net-unreachable" ? "ENETUNREACH" : "EHOSTUNREACH";
      this.finish(path, result, signal, `${path.errorCause ?? "an ICMP error came back"}, so ${this.clientName} got ICMP ${pkt.icmp} from ${fmtIp(pkt.src)} and reported ${errno}`, { ip: fmtIp(pkt.src), port: 0 });
      return;
    }
    if (toClient && pkt.dport === s.lport && pkt.proto === s.proto && path.phase !== "request") {
      return this.clientReceives(h, pkt, path);
    }
    new PacketEvent(path, path.phase, h.name, "deliver", name, " receives ", pkt);
    if (pkt.proto === PROTO_TCP) {
      if (pkt.flags !== "SYN") {
        this.lost(path, h.name, `${name} has no connection for ${describe(pkt)}`, `${name} received ${describe(pkt)} that belongs to none of its connections, so ${this.clientName} timed out`);
        return;
      }
      const l = h.listener("TCP", pkt.dport);
      path.phase = "reply";
      path.server = h.name;
      if (!l) {
        const rst = this.replyPacket(pkt, "RST");
        path.text({ phase: "reply", host: h.name, kind: "reply", text: `${name}: nothing listens on TCP ${fmtEp(pkt.dst, pkt.dport)}, answers ${describe(rst)}` });
        path.errorCause = `nothing listens on ${name} TCP ${fmtEp(pkt.dst, pkt.dport)}${this.noDnatNote(path)}`;
        this.output(wh, rst, path);
        return;
      }
      path.deliveredTo = { host: h.name, ip: fmtIp(pkt.dst), port: pkt.dport };
      path.sourceSeen = { ip: fmtIp(pkt.src), port: pkt.sport };
      const synack = this.replyPacket(pkt, "SYN-ACK");
      new PacketEvent(path, "reply", h.name, "reply", name, " accepts from ", synack, "", pkt.src, pkt.sport);
      this.output(wh, synack, path);
      return;
    }
    if (pkt.proto === PROTO_UDP) {
      const l = h.listener("UDP", pkt.dport);
      path.phase = "reply";
      path.server = h.name;
      if (!l) {
        path.errorCause = `nothing listens on ${name} UDP ${fmtEp(pkt.dst, pkt.dport)}${this.noDnatNote(path)}`;
        return this.icmpError(wh, pkt, path, "port-unreachable", path.errorCause);
      }
      path.deliveredTo = { host: h.name, ip: fmtIp(pkt.dst), port: pkt.dport };
      path.sourceSeen = { ip: fmtIp(pkt.src), port: pkt.sport };
      if (l.app === "dns" && this.req.dnsQuery && this.dns) path.dns = this.dns(this.req.dnsQuery, fmtIp(pkt.src));
      const reply = this.replyPacket(pkt, "");
      new PacketEvent(path, "reply", h.name, "reply", name, " answers ", reply);
      this.output(wh, reply, path);
      return;
    }
    this.lost(path, h.name, "unhandled protocol", `${name} has no socket for protocol ${pkt.proto}`);
  }

  private clientReceives(h: SimHost, pkt: Packet, path: Path): void {
    const s = this.sock;
    const from = { ip: fmtIp(pkt.src), port: pkt.sport };
    const right = pkt.src === s.rip && pkt.sport === s.rport;
    new PacketEvent(path, path.phase, h.name, "deliver", this.clientName, " receives ", pkt);
    // Printed only in the sentences of a reply that went wrong (most connect).
    const talked = (): string => fmtEp(s.rip, s.rport);
    if (!right) {
      const server = path.server ? displayName(path.server) : "the server";
      const cause = this.noSnatNote(path);
      if (pkt.proto === PROTO_TCP) {
        // The handshake never completes: the server's accept() never returns this connection.
        path.deliveredTo = null;
        path.sourceSeen = null;
      }
      if (pkt.proto === PROTO_TCP && pkt.flags === "SYN-ACK") {
        path.text({ phase: path.phase, host: h.name, kind: "reply", text: `${this.clientName} has no connection to ${fmtEp(pkt.src, pkt.sport)}: answers RST` });
        this.finish(path, "timeout", "syn-ack", `${server}'s reply came from ${fmtEp(pkt.src, pkt.sport)}, not ${talked()} that ${this.clientName} talked to${cause}, so ${this.clientName} answered RST and its connect timed out`, from);
      } else {
        this.finish(path, "timeout", pkt.proto === PROTO_UDP ? "udp-reply" : "rst", `${server}'s reply came from ${fmtEp(pkt.src, pkt.sport)}, not ${talked()} that ${this.clientName} talked to${cause}, so ${this.clientName}'s socket ignored it and timed out`, from);
      }
      return;
    }
    if (pkt.proto === PROTO_TCP && pkt.flags === "RST") {
      this.finish(path, "refused", "rst", `${path.errorCause ?? `${talked()} answered RST`}, so ${this.clientName} got a RST and reported ECONNREFUSED`, from);
      return;
    }
    if (pkt.proto === PROTO_TCP && pkt.flags !== "SYN-ACK") {
      this.finish(path, "timeout", "none", `${this.clientName} received ${describe(pkt)} instead of a SYN-ACK and timed out`, from);
      return;
    }
    if (pkt.proto === PROTO_TCP) this.completeHandshake(path);
    // Made when read: most branches connect as expected, and their sentence is never printed.
    const sentence = connectedSentence(this.clientName, this.sock.proto, path.deliveredTo, path.sourceSeen, path.nat, path.markedBy, path.marked, from);
    this.finish(path, "connected", pkt.proto === PROTO_TCP ? "syn-ack" : "udp-reply", sentence, from);
  }

  /**
   * The client's final ACK of the handshake follows the SYN's path as an established packet
   * (conntrack translates it; nat is not consulted), and every conntrack entry of the connection
   * moves from SYN_RECV to ESTABLISHED — what `conntrack -L` shows on a real node right after a
   * connect. Only this branch's own entries (those the SYN-ACK updated) are touched.
   */
  private completeHandshake(path: Path): void {
    path.ctLayers().forEach((table) => {
      // A frozen layer is shared with a sibling branch: its entries are not this branch's alone.
      if (table.frozen) return;
      for (const e of table.own) if (e.proto === PROTO_TCP && e.seenReply && e.tcpState === "SYN_RECV") e.tcpState = "ESTABLISHED";
    });
  }

  /** Why the reply came from the wrong address: where the DNAT happened and why no SNAT followed. */
  private noSnatNote(path: Path): string {
    const dnat = path.nat.find((n) => n.phase === "request" && n.kind === "DNAT");
    if (!dnat) return "";
    const snatted = path.nat.some((n) => n.phase === "request" && n.kind === "SNAT" && n.host === dnat.host);
    if (snatted) return "";
    const wh = this.hosts.get(dnat.host);
    const hasMasq = !!wh?.iptables && /-j MASQUERADE/.test(wh.iptables);
    const why = path.marked.includes(dnat.host)
      ? hasMasq
        ? "the mark 0x4000 was set but no MASQUERADE matched"
        : "KUBE-POSTROUTING MASQUERADE missing"
      : "mark 0x4000 not set";
    return ` (no SNAT on ${displayName(dnat.host)}: ${why})`;
  }

  /**
   * Why a packet that passed nodes still went out towards a Service-looking address unchanged:
   * no node's nat table matched it (a port the Service does not have, a Service kube-proxy never
   * wrote on that node).
   */
  private notCapturedNote(path: Path, pkt: Packet): string {
    if (path.phase !== "request" || path.via.length === 0 || path.nat.some((n) => n.phase === "request" && n.kind === "DNAT")) return "";
    return ` since ${path.via.map(displayName).join(" and ")} had no DNAT rule for it on port ${pkt.dport}`;
  }

  private noDnatNote(path: Path): string {
    return path.nat.some((n) => n.phase === "request" && n.kind === "DNAT") ? "" : " (no DNAT rule matched on the way)";
  }

  /** Why a packet reached a host with that host's own address as source. */
  private martianCause(path: Path, pkt: Packet): string {
    const dnat = path.nat.find((n) => n.phase === "request" && n.kind === "DNAT" && n.after.startsWith(fmtIp(pkt.dst) + ":"));
    if (!dnat) return "";
    return ` (${displayName(dnat.host)} DNATed ${dnat.before} back to its sender and nothing masqueraded the source)`;
  }

  private finishDropped(path: Path, host: string, text: string, explanation: string): void {
    this.lost(path, host, text, explanation);
  }
}
