// What `show services|endpoints|pods` print: kubectl's tables, in kubectl's column layout
// (columns padded to the widest cell plus three spaces). The AGE column is left out: a simulated
// cluster has no wall clock, and a made-up age would be a lie.

import type { EndpointSlice, Service } from "../world/k8s.js";
import { SERVICE_NAME_LABEL } from "../world/k8s.js";
import type { World } from "../world/model.js";

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n");
}

function portsCell(s: Service): string {
  const ports = s.spec.ports ?? [];
  if (ports.length === 0) return "<none>";
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",");
}

function externalCell(s: Service): string {
  if (s.spec.type === "ExternalName") return s.spec.externalName ?? "<none>";
  const ext = [...(s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? ""), ...(s.spec.externalIPs ?? [])].filter(Boolean);
  if (s.spec.type === "LoadBalancer" && !(s.status?.loadBalancer?.ingress ?? []).length) return ext.length ? ext.join(",") : "<pending>";
  return ext.length ? ext.join(",") : "<none>";
}

/** `kubectl get services -A` (without AGE). */
export function servicesView(services: Service[]): string {
  const rows = [["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"]];
  const sorted = [...services].sort((a, b) =>
    (a.metadata.namespace ?? "default").localeCompare(b.metadata.namespace ?? "default") || a.metadata.name.localeCompare(b.metadata.name),
  );
  for (const s of sorted) {
    rows.push([
      s.metadata.namespace ?? "default",
      s.metadata.name,
      s.spec.type ?? "ClusterIP",
      s.spec.type === "ExternalName" ? "<none>" : s.spec.clusterIP ?? "<none>",
      externalCell(s),
      portsCell(s),
    ]);
  }
  return table(rows);
}

/** The ready addresses kubectl lists for a Service: `ip:port` per ready endpoint and port. */
export function readyEndpoints(svc: Service, slices: EndpointSlice[]): string[] {
  const ns = svc.metadata.namespace ?? "default";
  const out: string[] = [];
  for (const sl of slices) {
    if ((sl.metadata.namespace ?? "default") !== ns || sl.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name) continue;
    for (const ep of sl.endpoints) {
      if (!(ep.conditions?.ready ?? true)) continue;
      for (const p of sl.ports ?? []) if (p.port) out.push(`${ep.addresses[0]}:${p.port}`);
    }
  }
  return out;
}

/** `kubectl get endpoints NAME` (without AGE): at most three addresses, then "+ N more...". */
export function endpointsView(svc: Service, slices: EndpointSlice[]): string {
  const eps = readyEndpoints(svc, slices);
  const cell = eps.length === 0 ? "<none>" : eps.length <= 3 ? eps.join(",") : `${eps.slice(0, 3).join(",")} + ${eps.length - 3} more...`;
  return table([["NAME", "ENDPOINTS"], [svc.metadata.name, cell]]);
}

/** `kubectl get pods -A -o wide` (the columns that matter: without AGE, NOMINATED NODE, READINESS GATES). */
export function podsView(world: World, failedNodes: Set<string>): string {
  const rows = [["NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE"]];
  for (const p of world.pods) {
    const down = failedNodes.has(p.node);
    rows.push([p.namespace, p.name, p.ready && !down ? "1/1" : "0/1", down ? "Unknown" : "Running", p.ip, p.node]);
  }
  return table(rows);
}
