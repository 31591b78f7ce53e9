// The validated world: what a .svcspec file declares once names are resolved, Kubernetes objects
// are validated and defaulted as kube-apiserver would, and controllers have run (EndpointSlices
// from pods, Deployment replicas placed on nodes). Everything below this layer (kube, net) reads
// these shapes; nothing here knows about packets.
//
// Addresses are kept as dotted strings here (this is the edge); the packet engine converts them
// to uint32 once when it builds hosts.

import type { EndpointSlice, Service } from "./k8s.js";

import type { Position } from "../lang/diagnostic.js";
export type { Position };

export type HairpinMode = "hairpin-veth" | "promiscuous-bridge" | "none";

export interface ClusterSettings {
  name: string;
  /** kube-proxy --cluster-cidr: the local traffic detector. null = no detector. */
  podCidr: string | null;
  serviceCidr: string;
  nodePortRange: { base: number; max: number };
  proxyMode: "iptables";
  masqueradeAll: boolean;
  /** Teaching switch: false removes KUBE-POSTROUTING's MASQUERADE rule (kernel-lab row 2a). */
  masquerade: boolean;
  hairpinMode: HairpinMode;
  /** net.bridge.bridge-nf-call-iptables on the nodes (br_netfilter); on in every real cluster. */
  brNetfilter: boolean;
  cloudProvider: boolean;
  lbPool: string | null;
  clusterDomain: string;
  localhostNodePorts: boolean;
  /** kube-proxy --nodeport-addresses; empty = every local address. */
  nodePortAddresses: string[];
  /** The L2 network the nodes share, and the router's address on it. */
  nodeNetwork: string;
  routerIp: string;
  /** Whether the cluster runs kube-dns (CoreDNS) pods and the kube-dns Service. */
  kubeDns: boolean;
}

export interface Listener {
  protocol: "TCP" | "UDP";
  port: number;
  /** Container port name, when declared (named targetPorts resolve through it). */
  name?: string;
}

export interface NodeDecl {
  name: string;
  ip: string;
  /** The node's pod range (spec.podCIDR); the cni0 bridge takes its first address. */
  podCidr: string;
  bridgeIp: string;
  pos?: Position;
}

export interface PodDecl {
  name: string;
  namespace: string;
  node: string;
  ip: string;
  labels: Record<string, string>;
  listen: Listener[];
  ready: boolean;
  /** Set for pods made from a Deployment. */
  ownerDeployment?: string;
  pos?: Position;
}

export interface ClientDecl {
  name: string;
  ip: string;
  pos?: Position;
}

/** A route in the outside network (on the router): CIDR via one or more nodes (ECMP). */
export interface OutsideRoute {
  cidr: string;
  viaNodes: string[];
  pos?: Position;
}

export interface World {
  file: string;
  title: string | null;
  settings: ClusterSettings;
  nodes: NodeDecl[];
  pods: PodDecl[];
  clients: ClientDecl[];
  routes: OutsideRoute[];
  namespaces: string[];
  /** Services after apiserver defaulting and allocation (clusterIP, nodePorts, healthCheckNodePort). */
  services: Service[];
  /** Explicit EndpointSlices (and Endpoints converted to slices) for selector-less Services. */
  manualEndpointSlices: EndpointSlice[];
  /** Where each object was declared, for diagnostics (key: "Kind/namespace/name"). */
  objectPositions: Map<string, Position>;
}

export const objectKey = (kind: string, namespace: string | undefined, name: string): string =>
  `${kind}/${namespace ?? "default"}/${name}`;
