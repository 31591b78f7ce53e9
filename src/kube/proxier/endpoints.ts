// EndpointSlices → the per-service-port endpoint lists kube-proxy keeps (endpointslicecache),
// and CategorizeEndpoints (pkg/proxy/topology.go): which endpoints serve Cluster and Local
// traffic on this node.

import type { EndpointSlice } from "../../world/k8s.js";
import { SERVICE_NAME_LABEL } from "../../world/k8s.js";
import { type Family, canonicalIPText } from "./ip.js";

export interface EndpointInfo {
  /** "IP:port" or "[IPv6]:port": the DNAT target, the SEP hash input, the sort key. */
  endpoint: string;
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  isLocal: boolean;
  /** The KUBE-SEP chain name, filled in once by the writer (each endpoint belongs to one service port). */
  chain?: string;
}

/** Key of the endpoints map: "ns/svc" + ":" + port name (always with the colon) + "/" + PROTOCOL. */
export function endpointsKey(namespace: string, service: string, portName: string, protocol: string): string {
  return `${namespace}/${service}:${portName}/${protocol}`;
}

/** One port of one EndpointSlice: where a service port's endpoints come from. */
export interface SlicePort {
  slice: EndpointSlice;
  port: number;
}

/**
 * The slice ports of each endpoints-map key, in slice order (slices of the other family
 * contribute nothing). The endpoint lists are made from them per service port, when written
 * (endpointsOf): made all up front, a 10k-Service sync's 100k endpoint records outlived many
 * young-generation collections and were copied by each.
 */
export function indexSlicePorts(slices: EndpointSlice[], family: Family): Map<string, SlicePort[]> {
  const byKey = new Map<string, SlicePort[]>();
  const wantType = family === 4 ? "IPv4" : "IPv6";
  for (const slice of slices) {
    const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svcName || slice.addressType !== wantType) continue;
    const ns = slice.metadata.namespace ?? "default";
    for (const port of slice.ports ?? []) {
      // A port with a nil name or a nil/zero number is ignored, as endpointslicecache does.
      if (port.name === undefined || port.name === null) continue;
      if (port.port === undefined || port.port === null || port.port === 0) continue;
      const key = endpointsKey(ns, svcName, port.name, port.protocol ?? "TCP");
      const sources = byKey.get(key);
      if (sources) sources.push({ slice, port: port.port });
      else byKey.set(key, [{ slice, port: port.port }]);
    }
  }
  return byKey;
}

/**
 * One key's endpoints for one node, as kube-proxy's endpointslicecache merges its slices:
 * deduplicated by "IP:port" (a later duplicate replaces an earlier one only if it is not
 * terminating), in byte-wise order of that string ("10.1.1.11:11" before "10.1.1.1:11").
 */
export function endpointsOf(sources: readonly SlicePort[] | undefined, nodeName: string): EndpointInfo[] {
  const list: EndpointInfo[] = [];
  if (sources === undefined) return list;
  let byEndpoint: Map<string, number> | null = null;
  for (const { slice, port } of sources) {
    const portSuffix = ":" + port;
    for (const ep of slice.endpoints ?? []) {
      if (!ep.addresses || ep.addresses.length === 0) continue;
      const ip = canonicalIPText(ep.addresses[0]!);
      if (ip === null) continue;
      const endpoint = ip.includes(":") ? `[${ip}]${portSuffix}` : ip + portSuffix;
      const c = ep.conditions ?? {};
      const info: EndpointInfo = {
        endpoint,
        ip,
        ready: c.ready ?? true,
        serving: c.serving ?? true,
        terminating: c.terminating ?? false,
        isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
      };
      // Duplicates: a linear scan for the usual few endpoints, an index beyond.
      let prev = -1;
      if (byEndpoint !== null) prev = byEndpoint.get(endpoint) ?? -1;
      else {
        // The IPs first: flat strings, compared without joining the endpoint string's parts.
        for (let k = 0; k < list.length; k++) if (list[k]!.ip === ip && list[k]!.endpoint === endpoint) prev = k;
        if (list.length >= 32) {
          byEndpoint = new Map();
          for (let k = 0; k < list.length; k++) byEndpoint.set(list[k]!.endpoint, k);
        }
      }
      if (prev === -1) {
        byEndpoint?.set(endpoint, list.length);
        list.push(info);
      } else if (!info.terminating) list[prev] = info;
    }
  }
  return list.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
}

/** endpointsOf(sources).length, without making the records (nor any garbage, usually). */
export function countEndpoints(sources: readonly SlicePort[] | undefined): number {
  if (sources === undefined) return 0;
  // Several slice ports (ports may differ): count the real thing.
  if (sources.length !== 1) return endpointsOf(sources, "").length;
  // One slice port: endpoints are duplicates exactly when their canonical IPs are equal.
  const seen = seenIPs;
  seen.length = 0;
  let large: Set<string> | null = null;
  for (const ep of sources[0]!.slice.endpoints ?? []) {
    if (!ep.addresses || ep.addresses.length === 0) continue;
    const ip = canonicalIPText(ep.addresses[0]!);
    if (ip === null) continue;
    if (large !== null) large.add(ip);
    else if (!seen.includes(ip)) {
      seen.push(ip);
      if (seen.length > 64) large = new Set(seen);
    }
  }
  const n = large !== null ? large.size : seen.length;
  seen.length = 0;
  return n;
}
const seenIPs: string[] = [];

export interface Categorized {
  clusterEndpoints: EndpointInfo[];
  localEndpoints: EndpointInfo[];
  allReachable: EndpointInfo[];
  hasAnyEndpoints: boolean;
}

/** CategorizeEndpoints without topology hints (svcspec models no zones). */
export function categorizeEndpoints(
  endpoints: EndpointInfo[],
  usesCluster: boolean,
  usesLocal: boolean,
): Categorized {
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAny = false;
  if (usesCluster) {
    cluster = endpoints.filter((e) => e.ready);
    // Fall back to serving-and-terminating endpoints only when none is ready.
    if (cluster.length === 0) cluster = endpoints.filter((e) => e.serving && e.terminating);
    hasAny = cluster.length > 0;
  }
  if (!usesLocal) return { clusterEndpoints: cluster, localEndpoints: local, allReachable: cluster, hasAnyEndpoints: hasAny };

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const e of endpoints) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) hasLocalReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) hasLocalServingTerminating = true;
    }
  }
  let useServingTerminating = false;
  if (hasLocalReady) {
    local = endpoints.filter((e) => e.isLocal && e.ready);
  } else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    local = endpoints.filter((e) => e.isLocal && e.serving && e.terminating);
  }
  if (!usesCluster) return { clusterEndpoints: cluster, localEndpoints: local, allReachable: local, hasAnyEndpoints: hasAny };
  if (!useServingTerminating) return { clusterEndpoints: cluster, localEndpoints: local, allReachable: cluster, hasAnyEndpoints: hasAny };
  // Union of both: upstream builds it from a Go map (no order); svcspec keeps endpoint order.
  const seen = new Set<string>();
  const all: EndpointInfo[] = [];
  for (const e of [...cluster, ...local]) {
    if (!seen.has(e.endpoint)) {
      seen.add(e.endpoint);
      all.push(e);
    }
  }
  all.sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  return { clusterEndpoints: cluster, localEndpoints: local, allReachable: all, hasAnyEndpoints: hasAny };
}
