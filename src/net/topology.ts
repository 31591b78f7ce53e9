// A description of a network of Linux hosts: namespaces, interfaces, bridges, L2 segments,
// routes, sysctls, iptables rules and listening sockets. Both engines realise the same
// description: the packet simulator (src/net) builds hosts from it, the kernel engine (src/lab)
// builds real network namespaces from it. The cluster assembler (src/cluster) writes it from a
// World. Addresses are dotted strings here; engines convert them once.

export type HostKind = "node" | "pod" | "client" | "router";

export interface AddrSpec {
  ip: string;
  prefix: number;
}

export interface InterfaceSpec {
  /** Interface name on its host ("eth0", "veth-nginx-1", ...). At most 15 characters. */
  name: string;
  /** The L2 segment this interface is plugged into (see Topology.segments). */
  segment: string;
  addrs: AddrSpec[];
  /** When set, the interface is a port of this bridge on the same host (and has no addresses). */
  bridge?: string;
  /** Bridge port flag hairpin_mode (only meaningful on bridge ports). */
  hairpin?: boolean;
  /** Interface MAC, assigned deterministically by the assembler (engines may use their own). */
  mac?: string;
}

export interface BridgeSpec {
  name: string; // "cni0"
  addrs: AddrSpec[];
  promisc: boolean;
}

export interface RouteSpec {
  /** Destination CIDR; "0.0.0.0/0" for the default route. */
  dst: string;
  /** Next hops (ECMP when more than one). Empty: directly connected via `dev`. */
  via: string[];
  dev?: string;
}

export interface Sysctls {
  ipForward: boolean;
  routeLocalnet: boolean;
  /** net.bridge.bridge-nf-call-iptables */
  bridgeNfCallIptables: boolean;
  /** net.ipv4.conf.*.rp_filter (kernel-lab runs with 0). */
  rpFilter: 0 | 1 | 2;
}

export interface ListenerSpec {
  protocol: "TCP" | "UDP";
  port: number;
  /** What answers: an echo server that reports the source it saw, or a DNS server. */
  app: "echo" | "dns";
}

export interface HostSpec {
  name: string;
  kind: HostKind;
  interfaces: InterfaceSpec[];
  bridges: BridgeSpec[];
  routes: RouteSpec[];
  sysctls: Sysctls;
  /** Full iptables-restore text (filter and nat tables) to load, or null for none. */
  iptables: string | null;
  listeners: ListenerSpec[];
  /** false: the host is down (a failed node) — it neither answers nor forwards. */
  up: boolean;
}

export interface SegmentSpec {
  name: string;
  /** Two members: a veth pair in the kernel engine. More: a switch. */
  kind: "veth" | "switch";
}

export interface Topology {
  hosts: HostSpec[];
  segments: SegmentSpec[];
}
