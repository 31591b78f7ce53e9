// The controllers svcspec runs in place of kube-controller-manager and the CNI: Deployment
// replicas placed on nodes, pod IPs from each node's pod range, EndpointSlices from Services
// and pods (the EndpointSlice controller), and Endpoints mirrored into EndpointSlices (the
// EndpointSlice mirroring controller). All deterministic; see defaults.ts for the rules.

import { SERVICE_NAME_LABEL, type Endpoint, type EndpointPort, type EndpointSlice, type Endpoints, type Protocol, type Service } from "./k8s.js";
import type { Listener, NodeDecl, PodDecl, World } from "./model.js";
import { DEPLOYMENT_POD_NAME, FIRST_POD_HOST_OFFSET, NODE_POD_PREFIX } from "./defaults.js";
import { cidrContains, intToIp, ipToInt, parseCidr } from "./ipv4.js";

export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const ENDPOINTSLICE_CONTROLLER = "endpointslice-controller.k8s.io";
export const MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io";

// ---------------------------------------------------------------------------------------------
// Names

/** The alphabet Kubernetes uses for generated name suffixes (no vowels, no 0/1/3). */
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A stable 5-character suffix, in the style of generateName, from a seed string (FNV-1a). */
export function stableSuffix(seed: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += SUFFIX_ALPHABET[h % SUFFIX_ALPHABET.length];
    h = Math.floor(h / SUFFIX_ALPHABET.length) ^ Math.imul(h, 31) >>> 0;
    h >>>= 0;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Node pod ranges and pod IPs

/** The node's pod range: given, or the (index+1)-th /24 of the cluster pod CIDR. */
export function nodePodCidr(clusterPodCidr: string, index: number): string {
  const c = parseCidr(clusterPodCidr);
  const step = 2 ** (32 - NODE_POD_PREFIX);
  const base = c.base + (index + 1) * step;
  return `${intToIp(base >>> 0)}/${NODE_POD_PREFIX}`;
}

/** How many /24 node ranges the cluster pod CIDR holds after the first one. */
export function nodeRangeCapacity(clusterPodCidr: string): number {
  const c = parseCidr(clusterPodCidr);
  return c.prefix > NODE_POD_PREFIX ? 0 : 2 ** (NODE_POD_PREFIX - c.prefix) - 1;
}

export function bridgeIpOf(podCidr: string): string {
  return intToIp(parseCidr(podCidr).base + 1);
}

/** A pod waiting for an address: pinned (user) or not. */
export interface PodIpRequest {
  pod: PodDecl;
  pinned: boolean;
  /** Reports a problem with the pinned address (out of range, taken). */
  complain(message: string, notes?: string[]): void;
}

/**
 * Gives every pod an IP from its node's range (host-local IPAM, made deterministic): pinned
 * addresses are reserved first in order; the others take the lowest free address from .2 up,
 * in order. Pods whose node has no free address left get a diagnostic through `complain`.
 */
export function assignPodIps(nodes: NodeDecl[], requests: PodIpRequest[], taken: Iterable<PodDecl> = []): void {
  const used = new Map<string, Map<number, string>>(); // node → ip → pod
  const byNode = new Map(nodes.map((n) => [n.name, n]));
  const usedOn = (node: string): Map<number, string> => {
    let m = used.get(node);
    if (!m) used.set(node, (m = new Map()));
    return m;
  };
  for (const p of taken) usedOn(p.node).set(ipToInt(p.ip), p.name);
  for (const req of requests) {
    if (!req.pinned) continue;
    const node = byNode.get(req.pod.node);
    if (!node) continue;
    const range = parseCidr(node.podCidr);
    const ip = ipToInt(req.pod.ip);
    const m = usedOn(node.name);
    if (!cidrContains(range, ip) || ip === range.base || ip === range.base + range.size - 1)
      req.complain(`pod IP ${req.pod.ip} is outside the pod range ${node.podCidr} of node ${node.name} (or is its network/broadcast address)`, [
        `pods on ${node.name} get addresses from ${node.podCidr}; ${bridgeIpOf(node.podCidr)} is its cni0 bridge`,
      ]);
    else if (ip === range.base + 1) req.complain(`pod IP ${req.pod.ip} is the cni0 bridge address of node ${node.name}`);
    else if (m.has(ip)) req.complain(`pod IP ${req.pod.ip} is already used by pod ${m.get(ip)}`);
    else m.set(ip, req.pod.name);
  }
  for (const req of requests) {
    if (req.pinned) continue;
    const node = byNode.get(req.pod.node);
    if (!node) continue;
    const range = parseCidr(node.podCidr);
    const m = usedOn(node.name);
    let found = false;
    for (let ip = range.base + FIRST_POD_HOST_OFFSET; ip < range.base + range.size - 1; ip++) {
      if (m.has(ip)) continue;
      m.set(ip, req.pod.name);
      req.pod.ip = intToIp(ip);
      found = true;
      break;
    }
    if (!found) req.complain(`node ${node.name} has no free pod address left in ${node.podCidr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Deployments

export interface DeploymentTemplate {
  name: string;
  namespace: string;
  replicas: number;
  labels: Record<string, string>;
  listen: Listener[];
  /** Nodes to spread over (declaration order); empty = all nodes. */
  nodes: string[];
}

/** Replica k (1-based) → `<name>-<k>` on node (k-1) mod N, IPs left for assignPodIps. */
export function placeDeployment(d: DeploymentTemplate, allNodes: NodeDecl[]): PodDecl[] {
  const nodes = d.nodes.length > 0 ? d.nodes : allNodes.map((n) => n.name);
  if (nodes.length === 0) return [];
  const pods: PodDecl[] = [];
  for (let k = 1; k <= d.replicas; k++)
    pods.push({
      name: DEPLOYMENT_POD_NAME(d.name, k),
      namespace: d.namespace,
      node: nodes[(k - 1) % nodes.length]!,
      ip: "",
      labels: { ...d.labels },
      listen: d.listen.map((l) => ({ ...l })),
      ready: true,
      ownerDeployment: d.name,
    });
  return pods;
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice controller

function selectorMatches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** FindPort: a numeric targetPort as is; a named one through the pod's container port of that name and protocol. */
function resolveTargetPort(pod: PodDecl, target: number | string | undefined, port: number, protocol: Protocol): number | null {
  if (target === undefined || target === "" || target === 0) return port;
  if (typeof target === "number") return target;
  const l = pod.listen.find((x) => x.name === target && x.protocol === protocol);
  return l ? l.port : null;
}

function hasSelector(s: Service): boolean {
  return s.spec.selector !== undefined && Object.keys(s.spec.selector).length > 0;
}

/**
 * The slices the EndpointSlice controller keeps for one Service. Endpoints are grouped by their
 * resolved port set (a pod lacking a named port lands in a slice without that port, as upstream
 * groups by port-map key); a Service with no matching pods still gets one empty slice.
 */
export function slicesForService(svc: Service, pods: PodDecl[]): EndpointSlice[] {
  const ns = svc.metadata.namespace ?? "default";
  const selector = svc.spec.selector ?? {};
  const publishNotReady = svc.spec.publishNotReadyAddresses === true;
  // Groups in order of first appearance, found by comparing port lists field by field: pods of a
  // Service nearly always resolve the same ports, and a JSON text per pod (the group's key before)
  // was most of this function's cost. The key, for the slice's name, is made once per group.
  const groups: Array<{ ports: EndpointPort[]; endpoints: Endpoint[] }> = [];
  const selected = pods.filter((p) => p.namespace === ns && p.ip !== "" && selectorMatches(selector, p.labels));
  for (const pod of selected) {
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports ?? []) {
      const protocol = sp.protocol ?? "TCP";
      const num = resolveTargetPort(pod, sp.targetPort, sp.port, protocol);
      if (num === null) continue; // named port not on this pod: not an endpoint for that port
      const ep: EndpointPort = { name: sp.name ?? "", protocol, port: num };
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      ports.push(ep);
    }
    let g = groups.find((x) => samePorts(x.ports, ports));
    if (!g) groups.push((g = { ports, endpoints: [] }));
    const ready = publishNotReady || pod.ready;
    g.endpoints.push({
      addresses: [pod.ip],
      conditions: { ready, serving: ready, terminating: false },
      nodeName: pod.node,
      targetRef: { kind: "Pod", name: pod.name, namespace: ns },
    });
  }
  if (groups.length === 0) groups.push({ ports: [], endpoints: [] });
  return groups.map((g) => {
    const key = JSON.stringify(g.ports);
    return {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${svc.metadata.name}-${stableSuffix(`${ns}/${svc.metadata.name}/${key}`)}`,
        namespace: ns,
        labels: { [SERVICE_NAME_LABEL]: svc.metadata.name, [MANAGED_BY_LABEL]: ENDPOINTSLICE_CONTROLLER },
      },
      addressType: "IPv4",
      endpoints: g.endpoints,
      ports: g.ports,
    };
  });
}

/** Whether two endpoint port lists are equal: what equal JSON texts of them say, field by field. */
function samePorts(a: EndpointPort[], b: EndpointPort[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    // JSON prints every non-finite number as null.
    const samePort = Number.isFinite(x.port) ? x.port === y.port : !Number.isFinite(y.port);
    if (x.name !== y.name || x.protocol !== y.protocol || !samePort || x.appProtocol !== y.appProtocol) return false;
  }
  return true;
}

/**
 * All EndpointSlices of a world: derived from selector Services and pods, plus the manual ones
 * (EndpointSlice manifests always; Endpoints mirrored into slices only while their Service
 * exists without a selector, as the mirroring controller does).
 */
export function deriveEndpointSlices(world: World): EndpointSlice[] {
  const out: EndpointSlice[] = [];
  const byKey = new Map(world.services.map((s) => [`${s.metadata.namespace ?? "default"}/${s.metadata.name}`, s]));
  for (const svc of world.services) {
    if (!hasSelector(svc) || svc.spec.type === "ExternalName") continue;
    out.push(...slicesForService(svc, world.pods));
  }
  for (const slice of world.manualEndpointSlices) {
    if (slice.metadata.labels?.[MANAGED_BY_LABEL] === MIRRORING_CONTROLLER) {
      const svc = byKey.get(`${slice.metadata.namespace ?? "default"}/${slice.metadata.labels?.[SERVICE_NAME_LABEL]}`);
      if (!svc || hasSelector(svc)) continue;
    }
    out.push(slice);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice mirroring controller

/**
 * Endpoints → EndpointSlices, one per subset (the mirroring controller's shape): addresses are
 * ready, notReadyAddresses are not ready (serving left unset, as the controller leaves it);
 * port names and protocols carried over. Returns diagnostics for what cannot be mirrored.
 */
export function mirrorEndpoints(ep: Endpoints): { slices: EndpointSlice[]; problems: Array<{ path: (string | number)[]; message: string }> } {
  const ns = ep.metadata.namespace ?? "default";
  const problems: Array<{ path: (string | number)[]; message: string }> = [];
  const slices: EndpointSlice[] = [];
  if (ep.metadata.labels?.["endpointslice.kubernetes.io/skip-mirror"] === "true") return { slices, problems };
  (ep.subsets ?? []).forEach((subset, si) => {
    const endpoints: Endpoint[] = [];
    const add = (list: typeof subset.addresses, ready: boolean, field: string): void =>
      (list ?? []).forEach((a, ai) => {
        if (typeof a.ip !== "string" || !/^\d{1,3}(\.\d{1,3}){3}$/.test(a.ip)) {
          problems.push({ path: ["subsets", si, field, ai, "ip"], message: `Endpoints ${ep.metadata.name}: \`${a.ip}\` is not an IPv4 address; not mirrored` });
          return;
        }
        const e: Endpoint = { addresses: [a.ip], conditions: { ready } };
        if (a.nodeName) e.nodeName = a.nodeName;
        if (a.hostname) e.hostname = a.hostname;
        if (a.targetRef) e.targetRef = { ...a.targetRef, namespace: ns };
        endpoints.push(e);
      });
    add(subset.addresses, true, "addresses");
    add(subset.notReadyAddresses, false, "notReadyAddresses");
    const ports: EndpointPort[] = (subset.ports ?? []).map((p) => ({ name: p.name ?? "", protocol: p.protocol ?? "TCP", port: p.port }));
    slices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${ep.metadata.name}-${stableSuffix(`mirror/${ns}/${ep.metadata.name}/${si}`)}`,
        namespace: ns,
        labels: { ...(ep.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: ep.metadata.name, [MANAGED_BY_LABEL]: MIRRORING_CONTROLLER },
      },
      addressType: "IPv4",
      endpoints,
      ports,
    });
  });
  return { slices, problems };
}
