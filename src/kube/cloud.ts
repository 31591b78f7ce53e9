// A cloud load balancer, as the service controller of a cloud provider runs one: it gives each
// LoadBalancer Service an ingress IP from the provider's pool, and the provider's network then
// delivers packets for that IP (destination unchanged, as GCE/AWS NLB do) to the nodes that
// pass its health check. That is why kube-proxy matches the LB IP itself in KUBE-SERVICES.
//
// Health checks, as kube-proxy answers them:
// - externalTrafficPolicy Local: the Service's healthCheckNodePort, served by kube-proxy; 200
//   only on nodes with at least one local *ready* (not terminating) endpoint.
// - Cluster: kube-proxy's healthz (port 10256); 200 on every node whose kube-proxy runs.
// A failed node, or a node whose kube-proxy is stopped, fails both.

import type { EndpointSlice, Service } from "../world/k8s.js";
import { SERVICE_NAME_LABEL } from "../world/k8s.js";
import type { World } from "../world/model.js";
import { intToIp, ipToInt, parseCidr } from "../world/ipv4.js";
import type { ClusterRuntime } from "./runtime.js";

export const KUBE_PROXY_HEALTHZ_PORT = 10256;

const key = (s: Service): string => `${s.metadata.namespace ?? "default"}/${s.metadata.name}`;

/**
 * Fills status.loadBalancer.ingress of every LoadBalancer Service when the cluster has a cloud
 * provider: spec.loadBalancerIP when set, else the next free address of the pool in Service
 * order. Without a cloud provider the status stays empty: `EXTERNAL-IP <pending>`.
 * Returns new Service objects; the input is not modified.
 */
export function assignLoadBalancerIPs(world: World): Service[] {
  if (!world.settings.cloudProvider || !world.settings.lbPool) return world.services;
  const pool = parseCidr(world.settings.lbPool);
  const taken = new Set<number>();
  for (const s of world.services) {
    for (const ing of s.status?.loadBalancer?.ingress ?? []) if (ing.ip) taken.add(ipToInt(ing.ip));
    if (s.spec.type === "LoadBalancer" && s.spec.loadBalancerIP) taken.add(ipToInt(s.spec.loadBalancerIP));
  }
  // The pool's network and broadcast addresses are not handed out.
  let next = pool.base + 1;
  const last = pool.base + pool.size - 2;
  return world.services.map((s) => {
    if (s.spec.type !== "LoadBalancer") return s;
    if (s.status?.loadBalancer?.ingress?.length) return s;
    let ip: string | null = s.spec.loadBalancerIP ?? null;
    if (!ip) {
      while (next <= last && taken.has(next)) next++;
      if (next > last) return s; // pool exhausted: stays <pending>, as a provider out of quota
      ip = intToIp(next);
      taken.add(next);
    }
    return { ...s, status: { loadBalancer: { ingress: [{ ip, ipMode: "VIP" as const }] } } };
  });
}

export interface LbBackend {
  node: string;
  healthy: boolean;
  /** Why the node passes or fails the check, for explanations. */
  reason: string;
}

/** The health-check result of every node for one LoadBalancer Service. */
export function loadBalancerBackends(
  world: World,
  svc: Service,
  slices: EndpointSlice[],
  runtime: ClusterRuntime,
): LbBackend[] {
  const local = svc.spec.externalTrafficPolicy === "Local";
  const ns = svc.metadata.namespace ?? "default";
  const localReady = new Map<string, number>();
  if (local) {
    for (const sl of slices) {
      if ((sl.metadata.namespace ?? "default") !== ns) continue;
      if (sl.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name) continue;
      for (const ep of sl.endpoints) {
        const ready = ep.conditions?.ready ?? true;
        const terminating = ep.conditions?.terminating ?? false;
        if (ready && !terminating && ep.nodeName) localReady.set(ep.nodeName, (localReady.get(ep.nodeName) ?? 0) + 1);
      }
    }
  }
  return world.nodes.map((n) => {
    if (runtime.failedNodes.has(n.name)) return { node: n.name, healthy: false, reason: `${n.name} is down` };
    if (runtime.stoppedProxies.has(n.name))
      return { node: n.name, healthy: false, reason: `kube-proxy on ${n.name} is stopped, so its health check does not answer` };
    if (!local) return { node: n.name, healthy: true, reason: `kube-proxy healthz on ${n.name}:${KUBE_PROXY_HEALTHZ_PORT} answers 200` };
    const count = localReady.get(n.name) ?? 0;
    const port = svc.spec.healthCheckNodePort;
    return count > 0
      ? { node: n.name, healthy: true, reason: `${n.name}:${port} reports ${count} local endpoint(s)` }
      : { node: n.name, healthy: false, reason: `${n.name}:${port} answers 503: no local endpoints (externalTrafficPolicy Local)` };
  });
}

export interface LbRoute {
  service: string;
  ip: string;
  backends: LbBackend[];
}

/** The provider network's routes: each LB VIP towards the nodes that pass the health check. */
export function loadBalancerRoutes(world: World, services: Service[], slices: EndpointSlice[], runtime: ClusterRuntime): LbRoute[] {
  const out: LbRoute[] = [];
  for (const s of services) {
    if (s.spec.type !== "LoadBalancer") continue;
    for (const ing of s.status?.loadBalancer?.ingress ?? []) {
      if (!ing.ip) continue;
      out.push({ service: key(s), ip: ing.ip, backends: loadBalancerBackends(world, s, slices, runtime) });
    }
  }
  return out;
}
