// The kernel-lab network of shared/docs/kernel-lab.md, drawn by hand as a Topology (not through
// the cluster assembler, so these tests pin the simulator against the lab's own layout):
//
//  client 203.0.113.7/24 ── 203.0.113.1 router 192.168.1.1 ── node1 192.168.1.11, node2 192.168.1.12
//  node1: cni0 10.244.1.1/24 ── veth ══ nginx-1 10.244.1.5 (TCP :80)
//  node2: cni0 10.244.2.1/24 ── veth ══ b2 10.244.2.5
//  nodes: default via 192.168.1.1; the other node's pod range via its node IP (host-gw)
//
// The nodes' rules are kube-proxy's, from the real rule writer (nodeTables) through the shared
// fixture, with the row's hand edits (MASQUERADE removed, the Local DROP removed, the SEP
// masquerade rule removed).

import type { HostSpec, Topology } from "../../../src/net/topology.js";
import { B2, CLIENT, kernelLabRules, kernelLabWorld, NGINX, type LabVariant } from "../../fixtures/kernel-lab.js";

export { B2, CLIENT, NGINX };
export const NGINX_VETH = "veth-nginx-1";
export const B2_VETH = "veth-b2";

const END_HOST = { ipForward: false, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 as const };

export function labTopology(v: LabVariant = {}): Topology {
  const world = kernelLabWorld(v);
  const brNf = v.brNetfilter ?? true;
  const node = (name: string, n: 1 | 2, podName: string, veth: string): HostSpec => ({
    name,
    kind: "node",
    interfaces: [
      { name: "eth0", segment: "nodenet", addrs: [{ ip: `192.168.1.1${n}`, prefix: 24 }] },
      { name: veth, segment: `veth-${podName}`, addrs: [], bridge: "cni0", hairpin: v.hairpinVeth ?? !v.promiscuousBridge },
    ],
    bridges: [{ name: "cni0", addrs: [{ ip: `10.244.${n}.1`, prefix: 24 }], promisc: v.promiscuousBridge ?? false }],
    routes: [
      { dst: "0.0.0.0/0", via: ["192.168.1.1"] },
      { dst: `10.244.${3 - n}.0/24`, via: [`192.168.1.1${3 - n}`] },
    ],
    sysctls: { ipForward: true, routeLocalnet: true, bridgeNfCallIptables: brNf, rpFilter: 0 },
    iptables: kernelLabRules(world, name, v),
    listeners: [],
    up: true,
  });
  const pod = (name: string, n: 1 | 2, ip: string, listen: boolean): HostSpec => ({
    name,
    kind: "pod",
    interfaces: [{ name: "eth0", segment: `veth-${name}`, addrs: [{ ip, prefix: 24 }] }],
    bridges: [],
    routes: [{ dst: "0.0.0.0/0", via: [`10.244.${n}.1`] }],
    sysctls: END_HOST,
    iptables: null,
    listeners: listen ? [{ protocol: "TCP", port: 80, app: "echo" }] : [],
    up: true,
  });
  const routerRoutes = v.externalIpRouteVia ? [{ dst: "198.51.100.10/32", via: [v.externalIpRouteVia === "node1" ? "192.168.1.11" : "192.168.1.12"] }] : [];
  return {
    hosts: [
      {
        name: CLIENT,
        kind: "client",
        interfaces: [{ name: "eth0", segment: "outside", addrs: [{ ip: "203.0.113.7", prefix: 24 }] }],
        bridges: [],
        routes: [{ dst: "0.0.0.0/0", via: ["203.0.113.1"] }],
        sysctls: END_HOST,
        iptables: null,
        listeners: [],
        up: true,
      },
      {
        name: "router",
        kind: "router",
        interfaces: [
          { name: "eth0", segment: "outside", addrs: [{ ip: "203.0.113.1", prefix: 24 }] },
          { name: "eth1", segment: "nodenet", addrs: [{ ip: "192.168.1.1", prefix: 24 }] },
        ],
        bridges: [],
        routes: routerRoutes,
        sysctls: { ipForward: true, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 },
        iptables: null,
        listeners: [],
        up: true,
      },
      node("node1", 1, NGINX, NGINX_VETH),
      node("node2", 2, B2, B2_VETH),
      pod(NGINX, 1, "10.244.1.5", true),
      pod(B2, 2, "10.244.2.5", false),
    ],
    segments: [
      { name: "outside", kind: "switch" },
      { name: "nodenet", kind: "switch" },
      { name: `veth-${NGINX}`, kind: "veth" },
      { name: `veth-${B2}`, kind: "veth" },
    ],
  };
}
