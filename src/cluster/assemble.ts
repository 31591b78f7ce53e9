// World → Topology: the hosts, links and routes of the simulated cluster. This is the one
// documented default topology (README "The simulated network"), the same as kernel-lab.md's:
//
//   clients ── outside switch ── router ── node network switch ──┬── node1 eth0
//                                  (no pod routes)               └── node2 eth0
//   nodeN: cni0 (first address of its pod range) ── vethXXXXXXXX ══ pod eth0
//   nodes: default via the router; every other node's pod range via that node's IP
//   router: the node network; `route` lines and load balancer VIPs via healthy nodes
//
// Both engines realise this Topology: the simulator in memory, the kernel engine in network
// namespaces.

import type { Service } from "../world/k8s.js";
import type { NodeDecl, World } from "../world/model.js";
import { intToIp, ipToInt, parseCidr } from "../world/ipv4.js";
import type { HostSpec, InterfaceSpec, RouteSpec, SegmentSpec, Sysctls, Topology } from "../net/topology.js";
import type { LbRoute } from "../kube/cloud.js";
import type { ClusterRuntime } from "../kube/runtime.js";
import { APISERVER_PORT } from "../world/defaults.js";
import { KUBE_PROXY_HEALTHZ_PORT } from "../kube/cloud.js";
import { sha256Digest } from "../kube/proxier/names.js";

export const ROUTER = "router";
export const OUTSIDE_SEGMENT = "outside";
export const NODE_SEGMENT = "nodenet";

/** Host names in a Topology: nodes keep their name; pods and clients are prefixed. */
export const podHost = (namespace: string, name: string): string => `pod:${namespace}/${name}`;
export const clientHost = (name: string): string => `client:${name}`;

// SHA-256 from the rule writer's own (JavaScript for ASCII input): node:crypto would otherwise be
// loaded for veth names and MACs alone, at every run's start (cold_start_ratio in bench/).

/** The node-side veth name a CNI plugin would pick: "veth" + 8 hex chars of a stable hash. */
export const vethName = (namespace: string, pod: string): string => {
  const key = `veth ${namespace}/${pod}`;
  return derivedNames.get(key) ?? remember(key, makeVethName(namespace, pod));
};

function makeVethName(namespace: string, pod: string): string {
  const h = sha256Digest(`${namespace}/${pod}`);
  let hex = "";
  for (let i = 0; i < 4; i++) hex += h[i]!.toString(16).padStart(2, "0");
  return "veth" + hex;
}

const mac = (seed: string): string => {
  const key = `mac ${seed}`;
  return derivedNames.get(key) ?? remember(key, makeMac(seed));
};

function makeMac(seed: string): string {
  const h = sha256Digest(seed);
  // Locally administered, unicast.
  const b = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

// Names and MACs derive from host and pod names alone, and every control plane of a run (each
// scenario change, each file) asks for the same ones again: a SHA-256 each. Bounded, for --watch.
// A repeat is one lookup (no closure made per call).
const derivedNames = new Map<string, string>();
function remember(key: string, v: string): string {
  if (derivedNames.size >= 4096) derivedNames.clear();
  derivedNames.set(key, v);
  return v;
}

const NODE_SYSCTLS = (world: World): Sysctls => ({
  ipForward: true,
  routeLocalnet: world.settings.localhostNodePorts,
  bridgeNfCallIptables: world.settings.brNetfilter,
  rpFilter: 0,
});
const END_HOST_SYSCTLS: Sysctls = { ipForward: false, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 };

export interface AssembleInput {
  world: World;
  /** Services as the cluster holds them (LB status filled by the cloud provider). */
  services: Service[];
  runtime: ClusterRuntime;
  /** The iptables-save text each node runs (kube-proxy's rules, or frozen ones). */
  rulesFor: (node: NodeDecl) => string;
  lbRoutes: LbRoute[];
}

/** The address the router takes in a client's subnet (the client's /24, .1 unless that is the client). */
function gatewayFor(clientIp: string): { ip: string; prefix: number } {
  const base = ipToInt(clientIp) & 0xffffff00;
  const gw = (ipToInt(clientIp) & 0xff) === 1 ? base + 254 : base + 1;
  return { ip: intToIp(gw >>> 0), prefix: 24 };
}

export function assembleTopology(input: AssembleInput): Topology {
  // One function per kind of host: small functions are cheap for V8 to optimise, and this runs
  // for every control plane of a run (a run is mostly JIT warm-up; bench/README.md).
  const { world } = input;
  const hosts: HostSpec[] = [];
  const segments: SegmentSpec[] = [
    { name: OUTSIDE_SEGMENT, kind: "switch" },
    { name: NODE_SEGMENT, kind: "switch" },
  ];
  const nodeNet = parseCidr(world.settings.nodeNetwork);
  hosts.push(routerHost(input, nodeNet.prefix));
  const apiserverNode = world.nodes[0]?.name;
  const hcPorts = input.services
    .filter((s) => s.spec.type === "LoadBalancer" && s.spec.externalTrafficPolicy === "Local" && s.spec.healthCheckNodePort)
    .map((s) => s.spec.healthCheckNodePort!);
  for (const n of world.nodes) hosts.push(nodeHost(input, n, nodeNet.prefix, n.name === apiserverNode, hcPorts, segments));
  for (const p of world.pods) hosts.push(podHostSpec(input, p));
  for (const c of world.clients) hosts.push(clientHostSpec(c));
  return { hosts, segments };
}

/** The router: one leg on the node network, one in each client subnet. */
function routerHost(input: AssembleInput, nodePrefix: number): HostSpec {
  const { world } = input;
  const nodeIp = new Map(world.nodes.map((n) => [n.name, n.ip]));
  const routerOutside: InterfaceSpec = { name: "eth0", segment: OUTSIDE_SEGMENT, addrs: [], mac: mac("router/eth0") };
  for (const c of world.clients) {
    const gw = gatewayFor(c.ip);
    if (!routerOutside.addrs.some((a) => a.ip === gw.ip)) routerOutside.addrs.push(gw);
  }
  const routerRoutes: RouteSpec[] = [];
  for (const r of world.routes) routerRoutes.push({ dst: r.cidr, via: r.viaNodes.map((n) => nodeIp.get(n)!).filter(Boolean) });
  for (const lb of input.lbRoutes) {
    const via = lb.backends.filter((b) => b.healthy).map((b) => nodeIp.get(b.node)!);
    // No healthy backend: the provider has nowhere to send the VIP's packets.
    if (via.length > 0) routerRoutes.push({ dst: `${lb.ip}/32`, via });
  }
  return {
    name: ROUTER,
    kind: "router",
    interfaces: [
      routerOutside,
      { name: "eth1", segment: NODE_SEGMENT, addrs: [{ ip: world.settings.routerIp, prefix: nodePrefix }], mac: mac("router/eth1") },
    ],
    bridges: [],
    routes: routerRoutes,
    sysctls: { ipForward: true, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 },
    iptables: null,
    listeners: [],
    up: true,
  };
}

function nodeHost(input: AssembleInput, n: NodeDecl, nodePrefix: number, runsApiserver: boolean, hcPorts: number[], segments: SegmentSpec[]): HostSpec {
  const { world, runtime } = input;
  const pr = parseCidr(n.podCidr);
  const interfaces: InterfaceSpec[] = [
    { name: "eth0", segment: NODE_SEGMENT, addrs: [{ ip: n.ip, prefix: nodePrefix }], mac: mac(`${n.name}/eth0`) },
  ];
  addPodInterfaces(world, n, interfaces, segments);
  const routes: RouteSpec[] = [{ dst: "0.0.0.0/0", via: [world.settings.routerIp] }];
  for (const o of world.nodes) if (o.name !== n.name) routes.push({ dst: o.podCidr, via: [o.ip] });
  const listeners = nodeListeners(n, runsApiserver, hcPorts, runtime);
  return {
    name: n.name,
    kind: "node",
    interfaces,
    bridges: [{ name: "cni0", addrs: [{ ip: n.bridgeIp, prefix: pr.prefix }], promisc: world.settings.hairpinMode === "promiscuous-bridge" }],
    routes,
    sysctls: NODE_SYSCTLS(world),
    iptables: input.rulesFor(n),
    listeners,
    up: !runtime.failedNodes.has(n.name),
  };
}

/** Each pod of the node: its veth (a segment of its own) on the node's cni0 bridge. */
function addPodInterfaces(world: World, n: NodeDecl, interfaces: InterfaceSpec[], segments: SegmentSpec[]): void {
  for (const p of world.pods) {
    if (p.node !== n.name) continue;
    const seg = `veth:${p.namespace}/${p.name}`;
    segments.push({ name: seg, kind: "veth" });
    interfaces.push({
      name: vethName(p.namespace, p.name),
      segment: seg,
      addrs: [],
      bridge: "cni0",
      hairpin: world.settings.hairpinMode === "hairpin-veth",
      mac: mac(`${n.name}/${p.namespace}/${p.name}/veth`),
    });
  }
}

function nodeListeners(n: NodeDecl, runsApiserver: boolean, hcPorts: number[], runtime: ClusterRuntime): HostSpec["listeners"] {
  const listeners: HostSpec["listeners"] = [];
  // The kube-apiserver (behind the `kubernetes` Service) runs on the first node.
  if (runsApiserver) listeners.push({ protocol: "TCP", port: APISERVER_PORT, app: "echo" });
  // kube-proxy's own servers: healthz and each Local LoadBalancer's health check port.
  if (!runtime.stoppedProxies.has(n.name)) {
    for (const port of [KUBE_PROXY_HEALTHZ_PORT, ...hcPorts]) listeners.push({ protocol: "TCP", port, app: "echo" });
  }
  return listeners;
}

function podHostSpec(input: AssembleInput, p: World["pods"][number]): HostSpec {
  const { world, runtime } = input;
  const node = world.nodes.find((n) => n.name === p.node)!;
  const pr = parseCidr(node.podCidr);
  const isDns = p.namespace === "kube-system" && p.labels["k8s-app"] === "kube-dns";
  return {
    name: podHost(p.namespace, p.name),
    kind: "pod",
    interfaces: [{ name: "eth0", segment: `veth:${p.namespace}/${p.name}`, addrs: [{ ip: p.ip, prefix: pr.prefix }], mac: mac(`pod/${p.namespace}/${p.name}`) }],
    bridges: [],
    routes: [{ dst: "0.0.0.0/0", via: [node.bridgeIp] }],
    sysctls: END_HOST_SYSCTLS,
    iptables: null,
    listeners: isDns && runtime.kubeDnsStopped
      ? []
      : p.listen.map((l) => ({ protocol: l.protocol, port: l.port, app: isDns && l.port === 53 ? ("dns" as const) : ("echo" as const) })),
    up: !runtime.failedNodes.has(p.node),
  };
}

function clientHostSpec(c: World["clients"][number]): HostSpec {
  const gw = gatewayFor(c.ip);
  return {
    name: clientHost(c.name),
    kind: "client",
    interfaces: [{ name: "eth0", segment: OUTSIDE_SEGMENT, addrs: [{ ip: c.ip, prefix: gw.prefix }], mac: mac(`client/${c.name}`) }],
    bridges: [],
    routes: [{ dst: "0.0.0.0/0", via: [gw.ip] }],
    sysctls: END_HOST_SYSCTLS,
    iptables: null,
    listeners: [],
    up: true,
  };
}
