// A simulated Linux host (one network namespace): its interfaces and addresses, bridges,
// routes, sysctls and listening sockets (its iptables ruleset is loaded beside it, see
// index.ts). Everything is converted from the Topology's strings once, here; the walk reads only
// numbers and object references. A host never changes once built.

import type { HostKind, HostSpec, ListenerSpec, Sysctls } from "../topology.js";
import { fmtIp, inNet, ip, isLoopback, isMulticast, maskOf } from "./addr.js";
import { NextHop, RouteTable, type SimRoute } from "./routing.js";
import { displayName } from "./walk.js";

export interface SimAddr {
  ip: number;
  prefix: number;
  net: number;
  mask: number;
  broadcast: number;
}

export interface SimIface {
  name: string;
  host: SimHost;
  /** The L2 segment this interface is plugged into; null for a bridge device and loopback. */
  segment: string | null;
  addrs: SimAddr[];
  /** The bridge this interface is a port of. */
  port: SimBridge | null;
  hairpin: boolean;
  /** Set on a bridge device (cni0): the bridge it is the device of. */
  bridge: SimBridge | null;
}

export interface SimBridge {
  name: string;
  dev: SimIface;
  ports: SimIface[];
  promisc: boolean;
  /** The bridge device as the hop of a bridged frame's POSTROUTING (MASQUERADE reads its address). */
  hop: NextHop;
}

/** Up to this many addresses a host keeps a plain list to search (see localList). */
const LOCAL_LIST_MAX = 8;

export class SimHost {
  readonly name: string;
  /** The name as sentences and traces print it ("nginx-1" for "pod:default/nginx-1"). */
  readonly displayName: string;
  readonly kind: HostKind;
  readonly up: boolean;
  readonly sysctls: Sysctls;
  readonly ifaces = new Map<string, SimIface>();
  readonly bridges = new Map<string, SimBridge>();
  readonly lo: SimIface;
  readonly routes: RouteTable;
  readonly listeners: ListenerSpec[];
  /** Static routes whose gateway was not on a connected subnet (the kernel refuses them). */
  readonly refusedRoutes: string[] = [];
  private readonly local = new Set<number>();
  /**
   * The same addresses as a list while there are few (most hosts have two or three): comparing
   * numbers beats hashing them, and the walk asks at every route lookup (a Set of addresses
   * above 2^31, stored as heap numbers, was ≈ 2 % of the walk). Null once there are more.
   */
  private localList: number[] | null = [];
  private readonly broadcasts = new Set<number>();

  constructor(spec: HostSpec) {
    this.name = spec.name;
    this.displayName = displayName(spec.name);
    this.kind = spec.kind;
    this.up = spec.up;
    this.sysctls = spec.sysctls;
    this.listeners = spec.listeners;
    this.routes = new RouteTable((a) => this.isLocal(a));
    this.lo = this.addIface("lo", null, [{ ip: "127.0.0.1", prefix: 8 }]);
    for (const b of spec.bridges) {
      const dev = this.addIface(b.name, null, b.addrs);
      const bridge: SimBridge = { name: b.name, dev, ports: [], promisc: b.promisc, hop: new NextHop(0, dev) };
      dev.bridge = bridge;
      this.bridges.set(b.name, bridge);
    }
    for (const i of spec.interfaces) {
      const iface = this.addIface(i.name, i.segment, i.bridge ? [] : i.addrs);
      iface.hairpin = i.hairpin ?? false;
      if (i.bridge) {
        const bridge = this.bridges.get(i.bridge);
        if (!bridge) throw new Error(`${spec.name}: interface ${i.name} names unknown bridge ${i.bridge}`);
        iface.port = bridge;
        bridge.ports.push(iface);
      }
    }
    // Connected routes, as the kernel adds them for each address (loopback lives in the local table).
    for (const iface of this.ifaces.values()) {
      if (iface === this.lo) continue;
      for (const a of iface.addrs) if (a.prefix < 32) this.routes.addConnected(a.net, a.prefix, iface, a.ip);
    }
    for (const r of spec.routes) {
      const dev = r.dev ? this.ifaces.get(r.dev) ?? null : null;
      const route = this.routes.addStatic(r.dst, r.via.map(ip), dev);
      if (route.invalid.length > 0) this.refusedRoutes.push(`${r.dst} via ${route.invalid.join(",")}: gateway not on a connected subnet`);
    }
  }

  private addIface(name: string, segment: string | null, addrs: Array<{ ip: string; prefix: number }>): SimIface {
    const iface: SimIface = { name, host: this, segment, addrs: [], port: null, hairpin: false, bridge: null };
    for (const a of addrs) {
      const v = ip(a.ip);
      const mask = maskOf(a.prefix);
      const net = (v & mask) >>> 0;
      const broadcast = (net | (~mask >>> 0)) >>> 0;
      iface.addrs.push({ ip: v, prefix: a.prefix, net, mask, broadcast });
      this.local.add(v);
      if (this.localList !== null && !this.localList.includes(v)) {
        if (this.localList.length < LOCAL_LIST_MAX) this.localList.push(v);
        else this.localList = null;
      }
      if (a.prefix < 31) this.broadcasts.add(broadcast);
    }
    this.ifaces.set(name, iface);
    return iface;
  }

  isLocal(addr: number): boolean {
    const list = this.localList;
    if (list === null) return this.local.has(addr) || isLoopback(addr);
    for (let i = 0; i < list.length; i++) if (list[i] === addr) return true;
    return isLoopback(addr);
  }

  addrType(addr: number): "LOCAL" | "UNICAST" | "BROADCAST" | "MULTICAST" | "UNREACHABLE" {
    if (this.isLocal(addr)) return "LOCAL";
    if (addr === 0xffffffff || this.broadcasts.has(addr)) return "BROADCAST";
    if (isMulticast(addr)) return "MULTICAST";
    return this.routes.lookup(addr).kind === "unreachable" ? "UNREACHABLE" : "UNICAST";
  }

  owns(iface: SimIface, addr: number): boolean {
    for (const a of iface.addrs) if (a.ip === addr) return true;
    return false;
  }

  /**
   * Source address selection for a packet this host originates (inet_select_addr): the route's
   * preferred source, else the egress device's address on the gateway's subnet, else its primary.
   */
  selectSource(route: SimRoute, gw: number, devIndex = 0): number {
    if (route.src) return route.src;
    const dev = route.hops[devIndex]!.dev;
    return this.primaryAddress(dev, gw);
  }

  /** The address MASQUERADE and ICMP pick on a device: the one on the next hop's subnet, else the primary. */
  primaryAddress(dev: SimIface, nextHop: number): number {
    for (const a of dev.addrs) if (nextHop && inNet(nextHop, a.net, a.mask)) return a.ip;
    if (dev.addrs.length > 0) return dev.addrs[0]!.ip;
    for (const i of this.ifaces.values()) if (i !== this.lo && i.addrs.length > 0) return i.addrs[0]!.ip;
    return 0;
  }

  listener(protocol: "TCP" | "UDP", port: number): ListenerSpec | undefined {
    for (const l of this.listeners) if (l.protocol === protocol && l.port === port) return l;
    return undefined;
  }

  /** Any non-loopback address (what `ip addr` shows first), for naming the host in explanations. */
  mainAddress(): string {
    for (const i of this.ifaces.values()) if (i !== this.lo && i.addrs.length > 0) return fmtIp(i.addrs[0]!.ip);
    return "127.0.0.1";
  }
}

