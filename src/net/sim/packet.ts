// The packet the walk carries from host to host. Plain numbers only; a fork copies it with one
// object spread. Conntrack facts (`ct*`) belong to the host the packet is in: crossing into
// another network namespace scrubs them, as veth transmission does (skb_scrub_packet), and the
// skb mark goes with them.

import { PROTO_ICMP, PROTO_TCP } from "../netfilter/api.js";
import { fmtIp } from "./addr.js";
import { cloneEntry, type CtEntry, type Dir } from "./conntrack.js";

export type TcpFlags = "SYN" | "SYN-ACK" | "RST" | "ACK" | "";

export type IcmpKind = "net-unreachable" | "host-unreachable" | "port-unreachable" | "admin-prohibited" | "time-exceeded";

export interface InnerHeader {
  src: number;
  sport: number;
  dst: number;
  dport: number;
  proto: number;
}

export interface Packet {
  src: number;
  dst: number;
  proto: number;
  sport: number;
  dport: number;
  ttl: number;
  mark: number;
  flags: TcpFlags;
  /** ICMP errors: what kind, and the header of the packet the error is about. */
  icmp: IcmpKind | null;
  inner: InnerHeader | null;
  /** Conntrack of the current host. */
  ct: CtEntry | null;
  ctDir: Dir;
  /** Bit set of CT.* as `-m conntrack --ctstate` sees it. */
  ctState: number;
  /** The entry was created for this packet and is not confirmed yet (the nat table decides its NAT). */
  ctNew: boolean;
  /** A related packet (ICMP error, REJECT's RST) carrying its cause's entry, as nf_ct_attach does. */
  ctAttached: boolean;
  /** The host that generated the packet (set by local output, cleared on the wire). */
  localOrigin: string | null;
}

export function forkPacket(p: Packet): Packet {
  const q = { ...p };
  if (p.inner) q.inner = { ...p.inner };
  // An unconfirmed entry is private to the packet: each branch binds its own NAT.
  if (p.ct && p.ctNew) q.ct = cloneEntry(p.ct);
  return q;
}

/** What `describe` reads of a packet. */
export type PacketHead = Pick<Packet, "proto" | "flags" | "src" | "sport" | "dst" | "dport" | "icmp" | "inner">;

export function describe(p: PacketHead): string {
  if (p.proto === PROTO_ICMP && p.icmp) {
    const i = p.inner!;
    return `ICMP ${p.icmp} ${fmtIp(p.src)} → ${fmtIp(p.dst)} about ${fmtIp(i.src)}:${i.sport} → ${fmtIp(i.dst)}:${i.dport}`;
  }
  const what = p.proto === PROTO_TCP ? `TCP ${p.flags}` : "UDP";
  return `${what} ${fmtIp(p.src)}:${p.sport} → ${fmtIp(p.dst)}:${p.dport}`;
}
