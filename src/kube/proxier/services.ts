// Services → the per-service-port view kube-proxy works from (pkg/proxy/serviceport.go,
// pkg/proxy/util). No defaulting: the object is taken exactly as given, as kube-proxy sees it
// from the apiserver (where only a missing port protocol would have been filled in, as TCP).

import type { Service } from "../../world/k8s.js";
import { type Family, type ParsedCIDR, canonicalIP, parseCIDRSloppy, formatCIDR } from "./ip.js";
import { type ServiceChainNames, serviceChainNames } from "./names.js";

export interface ServicePortInfo {
  namespace: string;
  name: string;
  portName: string;
  /** "ns/name" or "ns/name:port": the comment text and the chain-hash input. */
  nameString: string;
  /** Upper-case API protocol (TCP/UDP/SCTP), for joining with slice ports. */
  protocol: string;
  /** Lower-case protocol, as written in rules. */
  proto: string;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  loadBalancerSourceRanges: ParsedCIDR[];
  loadBalancerSourceRangeStrings: string[];
  healthCheckNodePort: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  sessionAffinityClientIP: boolean;
  stickyMaxAgeSeconds: number;
  chains: ServiceChainNames;
}

/** ShouldSkipService: headless (no clusterIP or "None") and ExternalName produce no rules. */
export function shouldSkipService(svc: Service): boolean {
  const ip = svc.spec.clusterIP;
  if (ip === undefined || ip === "" || ip === "None") return true;
  return svc.spec.type === "ExternalName";
}

/** GetClusterIPByFamily. */
function clusterIPForFamily(svc: Service, family: Family): string | null {
  const fams = svc.spec.ipFamilies ?? [];
  const want = family === 4 ? "IPv4" : "IPv6";
  if (fams.length === 0) {
    const ip = svc.spec.clusterIP ? canonicalIP(svc.spec.clusterIP) : null;
    return ip && ip.family === family ? ip.text : null;
  }
  const ips = svc.spec.clusterIPs ?? (svc.spec.clusterIP ? [svc.spec.clusterIP] : []);
  for (let i = 0; i < fams.length; i++) {
    if (fams[i] === want && i < ips.length) {
      const ip = canonicalIP(ips[i]!);
      return ip ? ip.text : null;
    }
  }
  return null;
}

/** ExternallyAccessible by type (pkg/api/v1/service): LoadBalancer, NodePort, or ClusterIP with externalIPs. */
function externallyAccessibleByType(svc: Service): boolean {
  const t = svc.spec.type;
  return t === "LoadBalancer" || t === "NodePort" || (t === "ClusterIP" && (svc.spec.externalIPs?.length ?? 0) > 0);
}

/** `rememberNames`: see serviceChainNames (small clusters). */
export function servicePortInfos(svc: Service, family: Family, rememberNames = false): ServicePortInfo[] {
  if (shouldSkipService(svc)) return [];
  const clusterIP = clusterIPForFamily(svc, family);
  if (clusterIP === null) return [];
  const spec = svc.spec;
  const namespace = svc.metadata.namespace ?? "default";
  const name = svc.metadata.name;

  const externalIPs: string[] = [];
  for (const e of spec.externalIPs ?? []) {
    const ip = canonicalIP(e.trim());
    if (ip && ip.family === family) externalIPs.push(ip.text);
  }
  const loadBalancerVIPs: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    if (!ing.ip) continue;
    // ipMode Proxy: the load balancer proxies to the nodes itself; kube-proxy writes nothing.
    if (ing.ipMode !== undefined && ing.ipMode !== "VIP") continue;
    const ip = canonicalIP(ing.ip);
    if (ip && ip.family === family) loadBalancerVIPs.push(ip.text);
  }
  const ranges: ParsedCIDR[] = [];
  for (const r of spec.loadBalancerSourceRanges ?? []) {
    const c = parseCIDRSloppy(r.trim());
    if (c && c.family === family) ranges.push(c);
  }
  const externalPolicyLocal = externallyAccessibleByType(svc) && spec.externalTrafficPolicy === "Local";
  const internalPolicyLocal = spec.internalTrafficPolicy === "Local";
  const needsHealthCheck = spec.type === "LoadBalancer" && externalPolicyLocal;
  const affinity = spec.sessionAffinity === "ClientIP";

  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const portName = p.name ?? "";
    const nameString = portName === "" ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`;
    const protocol = p.protocol ?? "TCP";
    const proto = protocol.toLowerCase();
    out.push({
      namespace,
      name,
      portName,
      nameString,
      protocol,
      proto,
      clusterIP,
      port: p.port,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs,
      loadBalancerSourceRanges: ranges,
      loadBalancerSourceRangeStrings: ranges.map(formatCIDR),
      healthCheckNodePort: needsHealthCheck ? (spec.healthCheckNodePort ?? 0) : 0,
      externalPolicyLocal,
      internalPolicyLocal,
      sessionAffinityClientIP: affinity,
      stickyMaxAgeSeconds: affinity ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : 0,
      chains: serviceChainNames(nameString, proto, rememberNames),
    });
  }
  return out;
}

/** ServicePort.ExternallyAccessible: a NodePort, LB VIPs or externalIPs on this port. */
export function externallyAccessible(s: ServicePortInfo): boolean {
  return s.nodePort !== 0 || s.loadBalancerVIPs.length > 0 || s.externalIPs.length > 0;
}

export function usesClusterEndpoints(s: ServicePortInfo): boolean {
  return !s.internalPolicyLocal || externallyAccessible(s);
}

export function usesLocalEndpoints(s: ServicePortInfo): boolean {
  return s.internalPolicyLocal || (s.externalPolicyLocal && externallyAccessible(s));
}
