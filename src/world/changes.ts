// Pure World → World changes for the scenario executor. Every function returns a new World and
// leaves its input untouched (a scenario works on its own copy of the base world); the
// EndpointSlices follow on demand through deriveEndpointSlices.

import type { Diagnostic, Position } from "../lang/diagnostic.js";
import type * as A from "../lang/ast.js";
import type { Service } from "./k8s.js";
import type { PodDecl, World } from "./model.js";
import { admitServices, serviceKey, updateService } from "./apiserver.js";
import { applyServiceFields } from "./build.js";
import { assignPodIps, mirrorEndpoints as mirrorEndpointsOf, placeDeployment } from "./controllers.js";
import { diagAt, type Locator } from "./located.js";
import type { ManifestLoad } from "./manifests.js";
import { cloneData } from "./clone.js";

export interface ChangeResult {
  world: World;
  diagnostics: Diagnostic[];
}

// Services and EndpointSlices are shared between a world and its changed copies, not deep-copied:
// nothing mutates one once admitted (a changed Service is a new object: setServiceField and
// updateService copy before they write), and the kube-proxy writer remembers a Service's ports by
// the object (services.ts). test/world/world.test.ts runs every change on a frozen world.
function copyWorld(w: World): World {
  return {
    ...w,
    nodes: w.nodes.map((n) => ({ ...n })),
    pods: w.pods.map((p) => ({ ...p, labels: { ...p.labels }, listen: p.listen.map((l) => ({ ...l })) })),
    clients: [...w.clients],
    routes: [...w.routes],
    namespaces: [...w.namespaces],
    services: [...w.services],
    manualEndpointSlices: [...w.manualEndpointSlices],
    objectPositions: new Map(w.objectPositions),
  };
}

function noSuch(what: string, name: string, pos: Position): Diagnostic {
  return { severity: "error", code: "unknown-name", message: `unknown ${what} \`${name}\``, pos };
}

/** `set pod P ready|not-ready` (the kubelet's readiness result). */
export function setPodReady(w: World, pod: string, ready: boolean): World {
  const out = copyWorld(w);
  for (const p of out.pods) if (p.name === pod) p.ready = ready;
  return out;
}

/** `delete pod P`: gone at once (no graceful termination is modelled). */
export function deletePod(w: World, pod: string): World {
  const out = copyWorld(w);
  out.pods = out.pods.filter((p) => p.name !== pod);
  return out;
}

/** `delete service S` (in whichever namespace it is; names are unique in practice). */
export function deleteService(w: World, service: string): World {
  const out = copyWorld(w);
  out.services = out.services.filter((s) => s.metadata.name !== service);
  return out;
}

/**
 * `fail node N`: the node lifecycle controller marks the node's pods not ready, so the
 * EndpointSlices stop listing them as ready. (That the node itself stops answering and
 * forwarding is runtime state: ClusterRuntime.failedNodes in src/kube.)
 */
export function failNode(w: World, node: string): World {
  const out = copyWorld(w);
  for (const p of out.pods) if (p.node === node) p.ready = false;
  return out;
}

/**
 * `set service S FIELD VALUE`: the field written into a copy of the Service, then re-validated,
 * re-defaulted and re-allocated as an update (e.g. Local on a LoadBalancer allocates a
 * healthCheckNodePort; on a NodePort it allocates nothing new).
 */
export function setServiceField(w: World, service: string, field: A.ServiceField, at: Position, line?: string): ChangeResult {
  const old = w.services.find((s) => s.metadata.name === service);
  if (!old) return { world: w, diagnostics: [noSuch("Service", service, at)] };
  const next: Service = cloneData(old);
  const pos = new Map<string, Position>();
  if (field.key === "port") next.spec.ports = next.spec.ports?.filter((p) => p.port !== field.value.port.value || (p.protocol ?? "TCP") !== (field.value.protocol?.value ?? "TCP"));
  if (field.key === "selector") next.spec.selector = {};
  applyServiceFields(next, [field], pos);
  const loc: Locator = { at: () => field.pos ?? at, sourceLine: () => line };
  const res = updateService(old, next, loc, { settings: w.settings, namespaces: new Set(w.namespaces) }, w.services);
  if (res.services.length === 0) return { world: w, diagnostics: res.diagnostics };
  const out = copyWorld(w);
  out.services = out.services.map((s) => (serviceKey(s) === serviceKey(old) ? res.services[0]! : s));
  return { world: out, diagnostics: res.diagnostics };
}

/**
 * `apply` inside a scenario: Services are created or updated (kubectl apply semantics),
 * Pods and Deployments created (their pods get addresses as in the base world), EndpointSlices
 * and Endpoints added or replaced, Namespaces created.
 */
export function applyManifests(w: World, load: ManifestLoad): ChangeResult {
  const diagnostics: Diagnostic[] = [...load.diagnostics];
  if (load.diagnostics.some((d) => d.severity === "error")) return { world: w, diagnostics };
  let out = copyWorld(w);
  for (const m of load.objects) if (m.kind === "Namespace" && !out.namespaces.includes(m.object.metadata.name)) out.namespaces.push(m.object.metadata.name);
  const ctx = () => ({ settings: out.settings, namespaces: new Set(out.namespaces) });
  const newPods: PodDecl[] = [];
  const podPos = new Map<PodDecl, { loc: Locator; path: (string | number)[] }>();
  let roundRobin = 0;
  for (const m of load.objects) {
    const ns = m.object.metadata.namespace ?? "default";
    if (m.kind !== "Namespace" && !out.namespaces.includes(ns)) {
      diagnostics.push(diagAt(m.loc, ["metadata", "namespace"], "error", "unknown-name", `${m.kind} ${m.object.metadata.name}: namespace \`${ns}\` does not exist`));
      continue;
    }
    switch (m.kind) {
      case "Service": {
        const existing = out.services.find((s) => serviceKey(s) === `${ns}/${m.object.metadata.name}`);
        const res = existing ? updateService(existing, m.object, m.loc, ctx(), out.services) : admitServices([{ service: m.object, loc: m.loc }], ctx(), out.services);
        diagnostics.push(...res.diagnostics);
        if (res.services.length === 1) {
          const svc = res.services[0]!;
          out.services = existing ? out.services.map((s) => (s === existing ? svc : s)) : [...out.services, svc];
        }
        break;
      }
      case "Pod": {
        const p = m.object;
        if (out.pods.some((x) => x.name === p.metadata.name) || newPods.some((x) => x.name === p.metadata.name)) {
          diagnostics.push(diagAt(m.loc, ["metadata", "name"], "error", "duplicate", `pod \`${p.metadata.name}\` already exists; a pod's spec cannot be changed: delete it first`));
          break;
        }
        const node = p.spec?.nodeName ?? out.nodes[roundRobin++ % Math.max(1, out.nodes.length)]?.name;
        if (!node || !out.nodes.some((n) => n.name === node)) {
          diagnostics.push(diagAt(m.loc, ["spec", "nodeName"], "error", "unknown-name", `Pod ${p.metadata.name}: unknown node \`${node ?? ""}\``));
          break;
        }
        const listen = (p.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).filter((cp) => (cp.protocol ?? "TCP") !== "SCTP").map((cp) => ({ protocol: (cp.protocol ?? "TCP") as "TCP" | "UDP", port: cp.containerPort, ...(cp.name ? { name: cp.name } : {}) })));
        const ready = !(p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status !== "True");
        const pod: PodDecl = { name: p.metadata.name, namespace: ns, node, ip: p.status?.podIP ?? "", labels: { ...(p.metadata.labels ?? {}) }, listen, ready, pos: m.pos };
        newPods.push(pod);
        podPos.set(pod, { loc: m.loc, path: ["status", "podIP"] });
        break;
      }
      case "Deployment": {
        const d = m.object;
        // Re-applying a Deployment replaces its pods (a rollout, without the surge).
        out.pods = out.pods.filter((p) => !(p.ownerDeployment === d.metadata.name && p.namespace === ns));
        const listen = (d.spec.template?.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).filter((cp) => (cp.protocol ?? "TCP") !== "SCTP").map((cp) => ({ protocol: (cp.protocol ?? "TCP") as "TCP" | "UDP", port: cp.containerPort, ...(cp.name ? { name: cp.name } : {}) })));
        for (const pod of placeDeployment({ name: d.metadata.name, namespace: ns, replicas: d.spec.replicas ?? 1, labels: { ...(d.spec.template?.metadata?.labels ?? {}) }, listen, nodes: [] }, out.nodes)) {
          newPods.push({ ...pod, pos: m.pos });
          podPos.set(newPods[newPods.length - 1]!, { loc: m.loc, path: ["metadata", "name"] });
        }
        break;
      }
      case "EndpointSlice": {
        out.manualEndpointSlices = out.manualEndpointSlices.filter((s) => !(s.metadata.name === m.object.metadata.name && (s.metadata.namespace ?? "default") === ns));
        out.manualEndpointSlices.push({ ...m.object, metadata: { ...m.object.metadata, namespace: ns }, endpoints: m.object.endpoints ?? [] });
        break;
      }
      case "Endpoints": {
        const { slices } = mirrorEndpointsOf(m.object);
        out.manualEndpointSlices = out.manualEndpointSlices.filter((s) => !(s.metadata.labels?.["kubernetes.io/service-name"] === m.object.metadata.name && s.metadata.labels?.["endpointslice.kubernetes.io/managed-by"] === "endpointslicemirroring-controller.k8s.io" && (s.metadata.namespace ?? "default") === ns));
        out.manualEndpointSlices.push(...slices);
        break;
      }
      case "Namespace":
        break;
    }
  }
  const refused = new Set<PodDecl>();
  assignPodIps(
    out.nodes,
    newPods.map((pod) => ({
      pod,
      pinned: pod.ip !== "",
      complain: (message: string) => {
        refused.add(pod);
        const at = podPos.get(pod);
        diagnostics.push(at ? diagAt(at.loc, at.path, "error", "validation", `pod ${pod.name}: ${message}`) : { severity: "error", code: "validation", message: `pod ${pod.name}: ${message}`, pos: pod.pos! });
      },
    })),
    out.pods,
  );
  out.pods = [...out.pods, ...newPods.filter((p) => p.ip !== "" && !refused.has(p))];
  return { world: out, diagnostics };
}
