// Scenario changes: each makes a new world and runtime, the way the real control plane would
// react. A `stop kube-proxy` freezes that node's rules as they are at that moment; `stop
// kube-dns` scales CoreDNS to zero (its endpoints disappear, so queries to the kube-dns
// ClusterIP are rejected); `fail node` takes the node off the network and, once the node
// lifecycle controller notices, marks its pods not ready.

import type * as ast from "../lang/ast.js";
import type { Diagnostic } from "../lang/diagnostic.js";
import type { World } from "../world/model.js";
import { applyManifests, deletePod, deleteService, failNode, setPodReady, setServiceField } from "../world/changes.js";
import { loadApplyManifests } from "../world/build.js";
import { cloneRuntime, type ClusterRuntime } from "../kube/runtime.js";
import type { ControlPlane } from "../cluster/control-plane.js";

export interface ChangeContext {
  file: string;
  readFile: (path: string) => string;
  lines: string[];
}

export interface ChangeOutcome {
  world: World;
  runtime: ClusterRuntime;
  /** Set when the change itself is invalid (e.g. an apiserver validation error). */
  error?: string;
}

const errorsOf = (ds: Diagnostic[]): string | undefined => {
  const errs = ds.filter((d) => d.severity === "error");
  return errs.length ? errs.map((d) => `${d.pos.file}:${d.pos.line}:${d.pos.column}: ${d.message}`).join("; ") : undefined;
};

export async function applyChange(
  cp: ControlPlane,
  st: ast.Change,
  ctx: ChangeContext,
  currentRules: (node: string) => string,
): Promise<ChangeOutcome> {
  const world = cp.world;
  const runtime = cloneRuntime(cp.runtime);
  switch (st.kind) {
    case "set-pod":
      return { world: setPodReady(world, st.pod.text, st.ready.value === "ready"), runtime };
    case "delete-pod":
      return { world: deletePod(world, st.pod.text), runtime };
    case "delete-service":
      return { world: deleteService(world, st.service.text), runtime };
    case "set-service": {
      const r = setServiceField(world, st.service.text, st.field, st.pos, ctx.lines[st.pos.line - 1]);
      return { world: r.world, runtime, error: errorsOf(r.diagnostics) };
    }
    case "apply": {
      const r = applyManifests(world, loadApplyManifests(st, ctx));
      return { world: r.world, runtime, error: errorsOf(r.diagnostics) };
    }
    case "stop-kube-proxy":
      if (!runtime.stoppedProxies.has(st.node.text)) runtime.stoppedProxies.set(st.node.text, currentRules(st.node.text));
      return { world, runtime };
    case "stop-kube-dns": {
      runtime.kubeDnsStopped = true;
      let w = world;
      for (const p of world.pods) if (p.namespace === "kube-system" && p.labels["k8s-app"] === "kube-dns") w = deletePod(w, p.name);
      return { world: w, runtime };
    }
    case "fail-node":
      runtime.failedNodes.add(st.node.text);
      return { world: failNode(world, st.node.text), runtime };
  }
}
