// kube-dns (CoreDNS's kubernetes plugin) as a zone computed from the cluster's objects, and the
// stub resolver a pod runs (resolv.conf search path, ndots:5).
//
// Records, per the Kubernetes DNS specification:
// - `<svc>.<ns>.svc.<domain>` A → the ClusterIP, for a Service with one;
// - headless Service (clusterIP None) A → the addresses of its ready endpoints
//   (not-ready ones too with publishNotReadyAddresses, which the EndpointSlice controller
//   already marked ready);
// - ExternalName Service → CNAME to spec.externalName (no A: the target lives outside the cluster,
//   and the simulated cluster has no upstream resolver);
// - `<a-b-c-d>.<ns>.pod.<domain>` A → the pod IP.
// Everything else in the cluster domain is NXDOMAIN; names outside it are forwarded upstream by
// CoreDNS, and there is no upstream here: SERVFAIL.

import type { EndpointSlice, Service } from "../world/k8s.js";
import { SERVICE_NAME_LABEL } from "../world/k8s.js";
import type { World } from "../world/model.js";

export interface DnsRecord {
  a: string[];
  cname?: string;
}

export interface DnsZone {
  domain: string;
  records: Map<string, DnsRecord>;
}

export interface DnsAnswer {
  rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL";
  answers: Array<{ type: "A" | "CNAME"; name: string; value: string }>;
}

/** A DNS name as the zone keys it: lower case, without the root's final dot. */
const norm = (name: string): string => {
  const lower = name.toLowerCase();
  // A plain test, not a regular expression: every record of every zone and every query passes here.
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
};

export function buildZone(world: World, services: Service[], slices: EndpointSlice[]): DnsZone {
  const domain = norm(world.settings.clusterDomain);
  const records = new Map<string, DnsRecord>();
  const put = (name: string, rec: DnsRecord): void => {
    records.set(norm(name), rec);
  };
  for (const s of services) {
    const ns = s.metadata.namespace ?? "default";
    const fqdn = `${s.metadata.name}.${ns}.svc.${domain}`;
    if (s.spec.type === "ExternalName") {
      if (s.spec.externalName) put(fqdn, { a: [], cname: norm(s.spec.externalName) });
      continue;
    }
    if (s.spec.clusterIP && s.spec.clusterIP !== "None") {
      put(fqdn, { a: [s.spec.clusterIP] });
      continue;
    }
    // Headless: the ready endpoint addresses, deduplicated, in slice order.
    const ips: string[] = [];
    for (const sl of slices) {
      if ((sl.metadata.namespace ?? "default") !== ns || sl.metadata.labels?.[SERVICE_NAME_LABEL] !== s.metadata.name) continue;
      for (const ep of sl.endpoints) {
        if ((ep.conditions?.ready ?? true) && ep.addresses[0] && !ips.includes(ep.addresses[0])) ips.push(ep.addresses[0]);
      }
    }
    put(fqdn, { a: ips });
  }
  for (const p of world.pods) put(`${p.ip.replace(/\./g, "-")}.${p.namespace}.pod.${domain}`, { a: [p.ip] });
  return { domain, records };
}

/** What the kube-dns server answers for one query. */
export function answerQuery(zone: DnsZone, name: string, type: "A" | "CNAME" | "ANY"): DnsAnswer {
  const q = norm(name);
  const rec = zone.records.get(q);
  if (!rec) {
    const inZone = q === zone.domain || q.endsWith("." + zone.domain);
    return { rcode: inZone ? "NXDOMAIN" : "SERVFAIL", answers: [] };
  }
  const answers: DnsAnswer["answers"] = [];
  if (rec.cname) {
    answers.push({ type: "CNAME", name: q, value: rec.cname });
    // CoreDNS chases the CNAME when the target is in the cluster domain.
    const target = zone.records.get(rec.cname);
    if (target && type !== "CNAME") for (const ip of target.a) answers.push({ type: "A", name: rec.cname, value: ip });
    return { rcode: "NOERROR", answers };
  }
  if (type !== "CNAME") for (const ip of rec.a) answers.push({ type: "A", name: q, value: ip });
  return { rcode: "NOERROR", answers };
}

/** A pod's resolv.conf search list (ClusterFirst DNS policy), in order. */
export function searchList(namespace: string, domain: string): string[] {
  return [`${namespace}.svc.${domain}`, `svc.${domain}`, domain];
}

/**
 * The names a pod's stub resolver tries for `name`, in order (glibc/musl with ndots:5): a name
 * with fewer than 5 dots goes through the search list first, then as is; a name ending in a
 * dot is absolute.
 */
export function candidateNames(name: string, namespace: string, domain: string): string[] {
  if (name.endsWith(".")) return [norm(name)];
  const dots = name.split(".").length - 1;
  const searched = searchList(namespace, domain).map((s) => `${name}.${s}`);
  return dots >= 5 ? [name, ...searched] : [...searched, name];
}
