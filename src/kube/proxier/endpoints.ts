// EndpointSlices → the per-service-port endpoint lists kube-proxy keeps (endpointslicecache),
// and CategorizeEndpoints (pkg/proxy/topology.go): which endpoints serve Cluster and Local
// traffic on this node.

import type { EndpointSlice } from "../../world/k8s.js";
import { SERVICE_NAME_LABEL } from "../../world/k8s.js";
import { type Family, canonicalIP } from "./ip.js";

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

/** Build the endpoints map for one node from all slices (slices of the other family contribute nothing). */
export function buildEndpointsMap(slices: EndpointSlice[], nodeName: string, family: Family): Map<string, EndpointInfo[]> {
  const byKey = new Map<string, Map<string, EndpointInfo>>();
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
      let eps = byKey.get(key);
      if (!eps) {
        eps = new Map();
        byKey.set(key, eps);
      }
      for (const ep of slice.endpoints ?? []) {
        if (!ep.addresses || ep.addresses.length === 0) continue;
        const ip = canonicalIP(ep.addresses[0]!);
        if (!ip) continue;
        const endpoint = ip.family === 6 ? `[${ip.text}]:${port.port}` : `${ip.text}:${port.port}`;
        const c = ep.conditions ?? {};
        const info: EndpointInfo = {
          endpoint,
          ip: ip.text,
          ready: c.ready ?? true,
          serving: c.serving ?? true,
          terminating: c.terminating ?? false,
          isLocal: ep.nodeName !== undefined && ep.nodeName === nodeName,
        };
        // A later duplicate replaces an earlier one only if it is not terminating.
        const prev = eps.get(endpoint);
        if (!prev || !info.terminating) eps.set(endpoint, info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, eps] of byKey) {
    // Byte-wise order of the endpoint string ("10.1.1.11:11" before "10.1.1.1:11").
    const list = [...eps.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
    out.set(key, list);
  }
  return out;
}

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
