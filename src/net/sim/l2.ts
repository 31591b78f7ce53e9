// Layer 2: segments (a veth pair or a switch) and implicit ARP. A host resolving a next hop on
// an interface asks every member plugged into the same segment; a member that is a bridge port
// answers for the bridge device itself and for whatever sits behind the bridge's other ports
// (the bridge forwards the ARP request and the unicast frames that follow). Hosts that are down
// answer nothing, so the sender sees the neighbour fail, exactly as the kernel would.

import type { SimBridge, SimIface } from "./host.js";

/** Where a frame sent out of an interface towards an address lands. */
export interface L2Target {
  /** The interface on the segment that receives the frame (maybe a bridge port). */
  rx: SimIface;
  /** The interface that owns the address: the frame's destination MAC. */
  owner: SimIface;
}

export class Segments {
  private readonly members = new Map<string, SimIface[]>();
  /**
   * Answers already given, by interface and address: who answers depends only on the segments'
   * members and whether their hosts are up, fixed once the network is built, and every packet
   * of every probe asks again at every hop. Forgotten when a member is added.
   */
  private readonly answers = new Map<SimIface, Map<number, L2Target | null>>();

  add(iface: SimIface): void {
    this.answers.clear();
    if (!iface.segment) return;
    let list = this.members.get(iface.segment);
    if (!list) this.members.set(iface.segment, (list = []));
    list.push(iface);
  }

  membersOf(segment: string): readonly SimIface[] {
    return this.members.get(segment) ?? [];
  }

  /** ARP for `addr` out of `dev` (a plain interface or a bridge device); null when nobody answers. */
  resolve(dev: SimIface, addr: number): L2Target | null {
    let known = this.answers.get(dev);
    if (!known) this.answers.set(dev, (known = new Map()));
    let answer = known.get(addr);
    if (answer === undefined) known.set(addr, (answer = this.ask(dev, addr)));
    return answer;
  }

  private ask(dev: SimIface, addr: number): L2Target | null {
    if (dev.bridge) return this.resolveOnBridge(dev.bridge, addr, null);
    if (!dev.segment) return null;
    for (const m of this.membersOf(dev.segment)) {
      if (m === dev || !m.host.up) continue;
      if (m.host.owns(m, addr)) return { rx: m, owner: m };
      if (m.port) {
        if (m.host.owns(m.port.dev, addr)) return { rx: m, owner: m.port.dev };
        const behind = this.resolveOnBridge(m.port, addr, m);
        if (behind) return { rx: m, owner: behind.owner };
      }
    }
    return null;
  }

  /**
   * Looks for the owner of `addr` behind a bridge's ports (its forwarding database, learned from
   * ARP). `except` is the port the question came in on. The result's `rx` is the bridge port the
   * frame leaves by.
   */
  resolveOnBridge(bridge: SimBridge, addr: number, except: SimIface | null): L2Target | null {
    for (const p of bridge.ports) {
      if (p === except || !p.segment) continue;
      for (const m of this.membersOf(p.segment)) {
        if (m === p || !m.host.up) continue;
        if (m.host.owns(m, addr)) return { rx: p, owner: m };
      }
    }
    return null;
  }

  /** The bridge port behind which `owner` sits (FDB lookup by destination MAC), or null. */
  fdb(bridge: SimBridge, owner: SimIface): SimIface | null {
    for (const p of bridge.ports) {
      if (!p.segment) continue;
      for (const m of this.membersOf(p.segment)) if (m === owner) return p;
    }
    return null;
  }

  /** The other end of a port's segment that owns `owner` (the interface a bridged frame reaches). */
  peerOn(port: SimIface, owner: SimIface): SimIface | null {
    if (!port.segment) return null;
    for (const m of this.membersOf(port.segment)) if (m === owner && m !== port) return m;
    return null;
  }
}
