// One branch of a probe while it is being walked: its probability, the load-balancing choices
// that define it, its trace, and its private view of every host's mutable state (conntrack
// layers, `-m recent` lists). A fork copies the small arrays and freezes the conntrack layers
// both children now share; each opens a layer of its own over one when it next writes there.

import type { HookName, RecentLists, RuleStep, TableName } from "../netfilter/api.js";
import type { ClientResult, Endpoint4, ProbeBranch, Signal, TraceEvent, TracePhase } from "../outcome.js";
import { fmtEp, fmtIp } from "./addr.js";
import { describe, type Packet, type PacketHead, type TcpFlags } from "./packet.js";
import { type CtEntry, CtTable } from "./conntrack.js";

/**
 * An event kept as its parts: most traces are never read (a passing step's trace is dropped), so
 * the TraceEvents and their text are made only when the trace is read (see `traceEvents`).
 * A path's trace is its newest event, each event pointing to the one before: a fork shares its
 * parent's events as they are (no array to copy), and recording one grows no array (the trace
 * arrays' growth and the forks' copies were ≈ 10 MB of a 100-file run's allocation).
 */
export abstract class LazyEvent {
  /**
   * The event before this one on its path. Each subclass's constructor records the event on its
   * path (a store in one place for all of them, or an initializer here, met events of eight
   * shapes: the initializer was most of the walk's time).
   */
  declare prev: LazyEvent | null;

  /** Appends the TraceEvents this stands for. */
  abstract expand(out: TraceEvent[]): void;
}

/** An event made whole when it happened (a drop, an error: rare, and read when they happen). */
export class TextEvent extends LazyEvent {
  constructor(path: Path, readonly event: TraceEvent) {
    super();
    this.prev = path.last;
    path.last = this;
  }

  expand(out: TraceEvent[]): void {
    out.push(this.event);
  }
}

/** The rules (and policy) the packet met in one table at one hook: most of a trace is these. */
export class StepsEvent extends LazyEvent {
  constructor(
    path: Path,
    readonly phase: TracePhase,
    readonly host: string,
    readonly hostDisplay: string,
    readonly table: TableName,
    readonly hook: HookName,
    readonly steps: readonly RuleStep[],
  ) {
    super();
    this.prev = path.last;
    path.last = this;
  }

  expand(out: TraceEvent[]): void {
    for (const s of this.steps) out.push(this.event(s));
  }

  private event(s: RuleStep): TraceEvent {
    return {
      phase: this.phase,
      host: this.host,
      kind: s.index === 0 ? "policy" : "rule",
      text: `${this.hostDisplay} ${this.table} ${this.hook} ${s.chain}${s.index ? ` #${s.index}` : ""}: ${s.action}`,
      table: this.table,
      chain: s.chain,
      hook: this.hook,
      rule: s.text,
    };
  }
}

// Addresses in events are kept as int32 (`| 0`): a uint32 field above 2^31 (192.168/16, 172.16/12
// and the like) is a boxed heap number, one more allocation per address per event (≈ 7 MB of a
// 100-file run); fmtIp prints either form the same.

/**
 * A conntrack event: a sentence (host and `what`) and the entry's two tuples, copied as numbers when the
 * event happened (the entry changes later) and formatted only when the trace is read: every
 * packet meets conntrack on every host, and printing four endpoints was most of its cost.
 */
export class CtEvent extends LazyEvent {
  // The tuples as fields, not an array: one allocation per event instead of two.
  private readonly os: number;
  private readonly osp: number;
  private readonly od: number;
  private readonly odp: number;
  private readonly rs: number;
  private readonly rsp: number;
  private readonly rd: number;
  private readonly rdp: number;

  constructor(
    path: Path,
    readonly phase: TracePhase,
    readonly host: string,
    readonly hostDisplay: string,
    /** What happened, after the host's name: "conntrack confirms", "conntrack PREROUTING: reply of"... */
    readonly what: string,
    e: CtEntry,
  ) {
    super();
    this.prev = path.last;
    path.last = this;
    const o = e.orig;
    const r = e.reply;
    this.os = o.src | 0;
    this.osp = o.sport;
    this.od = o.dst | 0;
    this.odp = o.dport;
    this.rs = r.src | 0;
    this.rsp = r.sport;
    this.rd = r.dst | 0;
    this.rdp = r.dport;
  }

  expand(out: TraceEvent[]): void {
    const text = `${this.hostDisplay} ${this.what} [${fmtEp(this.os, this.osp)} → ${fmtEp(this.od, this.odp)} | reply ${fmtEp(this.rs, this.rsp)} → ${fmtEp(this.rd, this.rdp)}]`;
    out.push({ phase: this.phase, host: this.host, kind: "conntrack", text });
  }
}

/**
 * An event whose sentence is `who` + `verb` + the packet as it was + `tail` (a host sends, receives,
 * answers): the packet's head is copied when the event happens and printed when the trace is
 * read, since most traces never are. The head's fields are the event's own (it is the
 * PacketHead `describe` reads): one object per event, not two.
 */
export class PacketEvent extends LazyEvent implements PacketHead {
  readonly proto: number;
  readonly flags: TcpFlags;
  readonly src: number;
  readonly sport: number;
  readonly dst: number;
  readonly dport: number;
  readonly icmp: Packet["icmp"];
  readonly inner: Packet["inner"];

  constructor(
    path: Path,
    readonly phase: TracePhase,
    readonly host: string,
    readonly kind: TraceEvent["kind"],
    /** Who (a host's display name) and what it does (" sends "): joined when printed. */
    readonly who: string,
    readonly verb: string,
    pkt: Packet,
    readonly tail: string = "",
    /** An endpoint printed between `verb` and ", answers " and the packet (a server accepting from it); port -1: none. */
    readonly peerIp: number = 0,
    readonly peerPort: number = -1,
  ) {
    super();
    this.prev = path.last;
    path.last = this;
    this.proto = pkt.proto;
    this.flags = pkt.flags;
    this.src = pkt.src | 0;
    this.sport = pkt.sport;
    this.dst = pkt.dst | 0;
    this.dport = pkt.dport;
    this.icmp = pkt.icmp;
    this.inner = pkt.inner ? { ...pkt.inner } : null;
  }

  expand(out: TraceEvent[]): void {
    const peer = this.peerPort >= 0 ? `${fmtEp(this.peerIp, this.peerPort)}, answers ` : "";
    out.push({ phase: this.phase, host: this.host, kind: this.kind, text: `${this.who}${this.verb}${peer}${describe(this)}${this.tail}` });
  }
}

/**
 * A routing decision: "<host>: <dst> is local", "<host>: [forward ]<dst> via <gw|link> dev <dev>".
 * Every hop makes one or two, so the addresses are kept as numbers until the trace is read.
 */
export class RouteEvent extends LazyEvent {
  readonly dst: number;
  readonly gw: number;

  constructor(
    path: Path,
    readonly phase: TracePhase,
    readonly host: string,
    readonly hostDisplay: string,
    readonly forward: boolean,
    dst: number,
    gw: number,
    /** The egress device, or null for a local destination. */
    readonly dev: string | null,
  ) {
    super();
    this.dst = dst | 0;
    this.gw = gw | 0;
    this.prev = path.last;
    path.last = this;
  }

  expand(out: TraceEvent[]): void {
    const text =
      this.dev === null
        ? `${this.hostDisplay}: ${fmtIp(this.dst)} is local`
        : `${this.hostDisplay}: ${this.forward ? "forward " : ""}${fmtIp(this.dst)} via ${this.gw ? fmtIp(this.gw) : "link"} dev ${this.dev}`;
    out.push({ phase: this.phase, host: this.host, kind: "route", text });
  }
}

/**
 * A frame leaving on a wire or bridge port: "<host> <dev>[ port <port>] → <peer host> <peer dev>"
 * (kind "interface"), or a bridge forwarding out of a port: "<host>: <bridge> bridges out of
 * <port> → <peer host> <peer dev>" (kind "bridge"). Its pieces are joined when the trace is read.
 */
export class HopEvent extends LazyEvent {
  constructor(
    path: Path,
    readonly phase: TracePhase,
    readonly host: string,
    readonly kind: "interface" | "bridge",
    readonly hostDisplay: string,
    readonly dev: string,
    /** The bridge port the frame leaves by (interface) or null. */
    readonly port: string | null,
    readonly peerDisplay: string,
    readonly peerDev: string,
  ) {
    super();
    this.prev = path.last;
    path.last = this;
  }

  expand(out: TraceEvent[]): void {
    const text =
      this.kind === "interface"
        ? `${this.hostDisplay} ${this.dev}${this.port !== null ? ` port ${this.port}` : ""} → ${this.peerDisplay} ${this.peerDev}`
        : `${this.hostDisplay}: ${this.dev} bridges out of ${this.port} → ${this.peerDisplay} ${this.peerDev}`;
    out.push({ phase: this.phase, host: this.host, kind: this.kind, text });
  }
}

/** A frame entering a bridge: "<host>: <bridge> receives on port <port>[ (br_netfilter: ...)]". */
export class BridgeInEvent extends LazyEvent {
  constructor(
    path: Path,
    readonly phase: TracePhase,
    readonly host: string,
    readonly hostDisplay: string,
    readonly bridge: string,
    readonly port: string,
    readonly brNf: boolean,
  ) {
    super();
    this.prev = path.last;
    path.last = this;
  }

  expand(out: TraceEvent[]): void {
    const text = `${this.hostDisplay}: ${this.bridge} receives on port ${this.port}${this.brNf ? " (br_netfilter: PREROUTING runs at the bridge)" : ""}`;
    out.push({ phase: this.phase, host: this.host, kind: "bridge", text });
  }
}

/** The trace as reporters read it, from a path's newest event: every event in full, oldest first, one per rule met. */
export function traceEvents(last: LazyEvent | null): TraceEvent[] {
  const events: LazyEvent[] = [];
  for (let e = last; e !== null; e = e.prev) events.push(e);
  const out: TraceEvent[] = [];
  for (let i = events.length - 1; i >= 0; i--) events[i]!.expand(out);
  return out;
}

/**
 * A NAT binding the walk made: kept on the path for explanations (`before`, `after` as ip:port
 * text, made when read) and, as an event, in the trace ("<host> <hook> DNAT <before> → <after>
 * (<chain>)"): one object, numbers until printed.
 */
export class NatRecord extends LazyEvent {
  readonly beforeIp: number;
  readonly afterIp: number;

  constructor(
    path: Path,
    readonly host: string,
    readonly phase: TracePhase,
    readonly kind: "DNAT" | "SNAT",
    /** Chain that decided (KUBE-SEP-…, KUBE-POSTROUTING), when the nat table did. */
    readonly chain: string,
    readonly hostDisplay: string,
    readonly hook: HookName,
    /** The target as the event names it: DNAT, SNAT or MASQUERADE. */
    readonly target: string,
    beforeIp: number,
    readonly beforePort: number,
    afterIp: number,
    readonly afterPort: number,
    /** The egress device (source NAT in POSTROUTING), named in the event. */
    readonly outDev: string | null,
    /** The port was drawn at random (--random-fully), said in the event. */
    readonly randomFully = false,
  ) {
    super();
    this.beforeIp = beforeIp | 0;
    this.afterIp = afterIp | 0;
    this.prev = path.last;
    path.last = this;
  }

  get before(): string {
    return fmtEp(this.beforeIp, this.beforePort);
  }

  get after(): string {
    return fmtEp(this.afterIp, this.afterPort);
  }

  expand(out: TraceEvent[]): void {
    const text = `${this.hostDisplay} ${this.hook} ${this.target} ${this.before} → ${this.after} (${this.chain}${this.outDev !== null ? `, out ${this.outDev}` : ""}${this.randomFully ? ", --random-fully: a random port" : ""})`;
    out.push({ phase: this.phase, host: this.host, kind: "nat", text, chain: this.chain, hook: this.hook });
  }
}

/** The recent lists of a host that has none: shared, read-only (writes go through Path.writableRecent). */
export const NO_RECENT_LISTS: RecentLists = new Map();

export class Path {
  p: number;
  choices: string[];
  /** The newest event of the trace (see LazyEvent), null before the first. */
  last: LazyEvent | null;
  via: string[];
  masqueraded = false;
  phase: TracePhase = "request";
  deliveredTo: ProbeBranch["deliveredTo"] = null;
  sourceSeen: Endpoint4 | null = null;
  nat: NatRecord[];
  /** Hosts on which the request's packet had the masquerade mark (0x4000) set. */
  marked: string[];
  /** The rule that jumped to the marking chain, per host, for explanations ("KUBE-EXT-…: masquerade traffic for …"). */
  markedBy: Array<{ host: string; chain: string; reason: string }> = [];
  /** The host whose socket produced the reply (request phase's end). */
  server: string | null = null;
  dns: ProbeBranch["dns"];
  /** What made a host answer with an error (RST, ICMP), for the client's side of the sentence. */
  errorCause: string | null = null;
  /** Hosts that forwarded the request (routing loops show here). */
  forwarders: string[] = [];
  /** Set once the branch ends. */
  result: ClientResult | null = null;
  signal: Signal = "none";
  replyFrom: Endpoint4 | null = null;
  /** The branch's sentence, or what makes it when read (a connected branch's, usually never read). */
  explanation: string | (() => string) = "";

  constructor(
    p: number,
    readonly bases: Map<string, CtTable>,
    /** Per host: its recent lists as this path sees them. Shared with others until this path sets a host's (recentShared). */
    private recentMap: Map<string, RecentLists>,
    choices: string[] = [],
    last: LazyEvent | null = null,
    via: string[] = [],
    nat: NatRecord[] = [],
    marked: string[] = [],
    private readonly layers = new Map<string, CtTable>(),
    /** Hosts whose recent lists this path copied and may change (null: none). */
    private ownedRecent: Set<string> | null = null,
  ) {
    this.p = p;
    this.choices = choices;
    this.last = last;
    this.via = via;
    this.nat = nat;
    this.marked = marked;
  }

  /** recentMap belongs to others too (the world's, a fork's parent): copied before a change. */
  private recentShared = true;

  /** Every host's recent lists as this branch left them (read-only). */
  get recent(): Map<string, RecentLists> {
    return this.recentMap;
  }

  /** This branch's conntrack table of a host (a fresh layer over the shared state). */
  ct(host: string): CtTable {
    let t = this.layers.get(host);
    if (!t) {
      t = new CtTable(this.bases.get(host) ?? null);
      this.layers.set(host, t);
    } else if (t.frozen) {
      // Shared with a sibling since a fork: this branch's changes go to a layer of its own.
      t = new CtTable(t);
      this.layers.set(host, t);
    }
    return t;
  }

  /** Every host's conntrack layer this branch wrote to (the top one; frozen if shared since a fork). */
  ctLayers(): Map<string, CtTable> {
    return this.layers;
  }

  /**
   * A host's recent lists, to read. A host with none reads one shared empty map (every table run
   * asks, and only session affinity ever writes): nothing writes through this, writes go
   * through writableRecent.
   */
  recentOf(host: string): RecentLists {
    return this.recentMap.get(host) ?? NO_RECENT_LISTS;
  }

  /** A copy of a host's recent lists this branch may change. */
  writableRecent(host: string): RecentLists {
    const r = this.recentMap.get(host);
    if (r !== undefined && this.ownedRecent !== null && this.ownedRecent.has(host)) return r;
    const copy: RecentLists = new Map();
    if (r !== undefined) for (const [name, list] of r) copy.set(name, new Map([...list].map(([ip, times]) => [ip, [...times]])));
    if (this.recentShared) {
      this.recentMap = new Map(this.recentMap);
      this.recentShared = false;
    }
    this.recentMap.set(host, copy);
    (this.ownedRecent ??= new Set()).add(host);
    return copy;
  }

  fork(p: number): Path {
    // The layers so far become shared and read-only; each branch opens its own over one when it
    // next touches that host (ct()), so a fork costs no layer for the hosts it never meets again.
    this.layers.forEach((t) => (t.frozen = true));
    // The parent's recent maps become shared and read-only: neither child owns them.
    this.ownedRecent = null;
    this.recentShared = true;
    const child = new Path(
      p,
      this.bases,
      this.recentMap,
      this.choices.slice(),
      this.last,
      this.via.slice(),
      this.nat.slice(),
      this.marked.slice(),
      new Map(this.layers),
      null,
    );
    child.masqueraded = this.masqueraded;
    child.phase = this.phase;
    child.deliveredTo = this.deliveredTo;
    child.sourceSeen = this.sourceSeen;
    child.server = this.server;
    child.dns = this.dns;
    child.errorCause = this.errorCause;
    child.forwarders = this.forwarders.slice();
    child.markedBy = this.markedBy.slice();
    return child;
  }

  /** Records an event made whole now (the LazyEvents record themselves). */
  text(e: TraceEvent): void {
    new TextEvent(this, e);
  }
}
