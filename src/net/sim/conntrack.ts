// Connection tracking, per host (per network namespace). An entry has the original tuple (as
// the first packet arrived) and the reply tuple (what a reply looks like once NAT has bound the
// connection). Entries enter the table only when confirmed, at the end of POSTROUTING or INPUT:
// a packet dropped earlier leaves nothing behind, and its retransmission walks the nat table
// again.
//
// Tables are layered so the walk can fork: a branch works on a child table; lookups fall through
// to the parent, and a change to an inherited entry copies it into the child first, so sibling
// branches never see each other's connections.

import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "../netfilter/api.js";
import { fmtIp } from "./addr.js";

export interface Tuple {
  src: number;
  sport: number;
  dst: number;
  dport: number;
}

export type TcpCtState = "SYN_SENT" | "SYN_RECV" | "ESTABLISHED" | "CLOSE";

export interface CtEntry {
  id: number;
  proto: number;
  orig: Tuple;
  reply: Tuple;
  /** IPS_DST_NAT / IPS_SRC_NAT: the destination / source of the original direction was rewritten. */
  dnat: boolean;
  snat: boolean;
  /** NAT manips done for the first packet (the nat table is consulted once per manip type). */
  dstManipDone: boolean;
  srcManipDone: boolean;
  seenReply: boolean;
  tcpState: TcpCtState;
  /** Which host made it, for conntrack -L style output ordering. */
  seq: number;
}

export const Dir = { Orig: 0, Reply: 1 } as const;
export type Dir = 0 | 1;

export interface CtHit {
  entry: CtEntry;
  dir: Dir;
}

/**
 * A tuple's index entry, which is also the hit a lookup returns (entry and direction): one object
 * per tuple filed, not two (filing was the largest allocator of the walk's conntrack). A lookup's
 * caller reads the hit at once; nothing keeps it.
 */
class IndexSlot implements CtHit {
  constructor(
    public entry: CtEntry,
    public dir: Dir,
    readonly proto: number,
    readonly src: number,
    readonly sport: number,
    readonly dst: number,
    readonly dport: number,
    public next: IndexSlot | null,
  ) {}
}

// Tuples are hashed to an int32 (a Smi key) instead of being joined into a string key: building
// and hashing that string was most of the cost of every conntrack lookup on the packet path.
export function tupleHash(proto: number, src: number, sport: number, dst: number, dport: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | dport), 0x27d4eb2f);
  return (h ^ (h >>> 16) ^ proto) | 0;
}

/** FNV-1a of a string, as an unsigned 32-bit number: a cheap, stable seed from a name. */
export function stringHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

let nextId = 1;

export function newEntry(proto: number, src: number, sport: number, dst: number, dport: number): CtEntry {
  return {
    id: nextId++,
    proto,
    orig: { src, sport, dst, dport },
    reply: { src: dst, sport: dport, dst: src, dport: sport },
    dnat: false,
    snat: false,
    dstManipDone: false,
    srcManipDone: false,
    seenReply: false,
    tcpState: "SYN_SENT",
    seq: 0,
  };
}

export function cloneEntry(e: CtEntry): CtEntry {
  return { ...e, orig: { ...e.orig }, reply: { ...e.reply } };
}

/** Up to this many tuples a layer keeps a plain list (a branch's layer files one or two). */
const SMALL_LAYER = 16;

export class CtTable {
  // A layer starts with no index at all (a branch opens one on every host it crosses and on every
  // fork, and most never file an entry), then a short list scanned in order, then a hash map.
  private slots: IndexSlot[] | null = null;
  private index: Map<number, IndexSlot> | null = null;
  /** Entries owned by this layer (confirmed here, or copied here before a change). */
  readonly own: CtEntry[] = [];
  /**
   * Set when a branch forks: the layer is now shared by both branches and never written again;
   * each opens its own layer over it when it next touches this host (Path.ct).
   */
  frozen = false;

  constructor(readonly parent: CtTable | null) {}

  lookup(proto: number, src: number, sport: number, dst: number, dport: number): CtHit | undefined {
    let key = 0;
    let hashed = false;
    for (let t: CtTable | null = this; t; t = t.parent) {
      if (t.index !== null) {
        if (!hashed) {
          key = tupleHash(proto, src, sport, dst, dport);
          hashed = true;
        }
        for (let s: IndexSlot | null | undefined = t.index.get(key); s; s = s.next) {
          if (s.src === src && s.dst === dst && s.sport === sport && s.dport === dport && s.proto === proto) return s;
        }
      } else if (t.slots !== null) {
        for (const s of t.slots) {
          if (s.src === src && s.dst === dst && s.sport === sport && s.dport === dport && s.proto === proto) return s;
        }
      }
    }
    return undefined;
  }

  private file(t: Tuple, proto: number, entry: CtEntry, dir: Dir): void {
    if (this.index === null) {
      const slots = (this.slots ??= []);
      // A tuple filed again replaces its earlier slot's hit, as a map keyed by the tuple would.
      for (const s of slots) {
        if (s.src === t.src && s.dst === t.dst && s.sport === t.sport && s.dport === t.dport && s.proto === proto) {
          s.entry = entry;
          s.dir = dir;
          return;
        }
      }
      if (slots.length < SMALL_LAYER) {
        slots.push(new IndexSlot(entry, dir, proto, t.src, t.sport, t.dst, t.dport, null));
        return;
      }
      // Grown: file the list's slots into a hash map (oldest first, so a bucket's newest slot leads).
      this.index = new Map();
      this.slots = null;
      for (const s of slots) this.fileHashed(s);
    }
    this.fileHashed(new IndexSlot(entry, dir, proto, t.src, t.sport, t.dst, t.dport, null));
  }

  /** Files a slot no other tuple of this layer has (in the list or the map) or replaces that one's hit. */
  private fileHashed(slot: IndexSlot): void {
    const index = this.index!;
    const key = tupleHash(slot.proto, slot.src, slot.sport, slot.dst, slot.dport);
    const first = index.get(key);
    for (let s: IndexSlot | null | undefined = first; s; s = s.next) {
      if (s.src === slot.src && s.dst === slot.dst && s.sport === slot.sport && s.dport === slot.dport && s.proto === slot.proto) {
        s.entry = slot.entry;
        s.dir = slot.dir;
        return;
      }
    }
    slot.next = first ?? null;
    index.set(key, slot);
  }

  /** Is this reply tuple already taken (a NAT clash the kernel would avoid by picking another port)? */
  replyTaken(proto: number, t: Tuple): boolean {
    return this.lookup(proto, t.src, t.sport, t.dst, t.dport) !== undefined;
  }

  confirm(e: CtEntry): void {
    this.own.push(e);
    this.file(e.orig, e.proto, e, Dir.Orig);
    this.file(e.reply, e.proto, e, Dir.Reply);
  }

  /** The entry to change: itself if this layer owns it, else a copy that shadows the parent's. */
  writable(e: CtEntry): CtEntry {
    if (this.own.includes(e)) return e;
    const copy = cloneEntry(e);
    this.confirm(copy);
    return copy;
  }

  /** Every entry visible from this layer, newest layer winning. */
  all(): CtEntry[] {
    const seen = new Set<number>();
    const out: CtEntry[] = [];
    for (let t: CtTable | null = this; t; t = t.parent) {
      for (const e of t.own) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        out.push(e);
      }
    }
    return out;
  }

  /** Folds a branch's layers (down to, not including, `base`) into `base`: the union of what branches left. */
  static mergeInto(base: CtTable, leaf: CtTable): void {
    const layers: CtTable[] = [];
    for (let t: CtTable | null = leaf; t && t !== base; t = t.parent) layers.push(t);
    for (const layer of layers.reverse()) {
      for (const e of layer.own) {
        const hit = base.lookup(e.proto, e.orig.src, e.orig.sport, e.orig.dst, e.orig.dport);
        if (!hit) {
          base.confirm(e);
        } else if (hit.dir === Dir.Orig && sameReply(hit.entry, e) && hit.entry !== e) {
          // The same connection, changed by this branch (a reply seen): keep the newer state.
          hit.entry.seenReply = e.seenReply || hit.entry.seenReply;
          hit.entry.tcpState = e.tcpState;
        }
      }
    }
  }
}

function sameReply(a: CtEntry, b: CtEntry): boolean {
  return a.reply.src === b.reply.src && a.reply.sport === b.reply.sport && a.reply.dst === b.reply.dst && a.reply.dport === b.reply.dport;
}

const PROTO_NAMES: Record<number, string> = { [PROTO_TCP]: "tcp", [PROTO_UDP]: "udp", [PROTO_ICMP]: "icmp" };

// ESTABLISHED: kube-proxy sets nf_conntrack_tcp_timeout_established to 86400 on every node
// (--conntrack-tcp-timeout-established, default 24h); the kernel's own default is 432000.
const TCP_ESTABLISHED_TIMEOUT = 86400;

function timeoutOf(e: CtEntry): number {
  if (e.proto === PROTO_TCP) {
    return e.tcpState === "SYN_SENT" ? 120 : e.tcpState === "SYN_RECV" ? 60 : e.tcpState === "ESTABLISHED" ? TCP_ESTABLISHED_TIMEOUT : 10;
  }
  if (e.proto === PROTO_UDP) return e.seenReply ? 120 : 30;
  return 30;
}

/** One line as `conntrack -L` prints it. */
export function formatEntry(e: CtEntry): string {
  const name = PROTO_NAMES[e.proto] ?? String(e.proto);
  const parts = [name.padEnd(8) + " " + String(e.proto), String(timeoutOf(e))];
  if (e.proto === PROTO_TCP) parts.push(e.tcpState);
  const tuple = (t: Tuple) => `src=${fmtIp(t.src)} dst=${fmtIp(t.dst)} sport=${t.sport} dport=${t.dport}`;
  parts.push(tuple(e.orig));
  if (!e.seenReply) parts.push("[UNREPLIED]");
  parts.push(tuple(e.reply));
  if (e.seenReply && e.proto === PROTO_TCP && e.tcpState === "ESTABLISHED") parts.push("[ASSURED]");
  parts.push("mark=0", "use=1");
  return parts.join(" ");
}
