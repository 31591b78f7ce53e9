// The control plane's reactions to the declared world, computed lazily and once per world
// version: the cloud provider's load balancer addresses, the EndpointSlice controller's slices,
// each node's kube-proxy rules (or the rules a stopped kube-proxy left behind), kube-dns's zone,
// and the network Topology that results. A scenario change makes a new ControlPlane; nothing
// here is mutated after construction.

import type { EndpointSlice, Service } from "../world/k8s.js";
import type { NodeDecl, World } from "../world/model.js";
import { deriveEndpointSlices } from "../world/controllers.js";
import { assignLoadBalancerIPs, loadBalancerRoutes, type LbRoute } from "../kube/cloud.js";
import { buildZone, type DnsZone } from "../kube/dns.js";
import { ClusterNodeTables, type NodeSaved } from "../kube/proxier/index.js";
import { proxierConfigFor } from "../kube/node-rules.js";
import type { ClusterRuntime } from "../kube/runtime.js";
import type { Topology } from "../net/topology.js";
import { provideRuleset } from "../net/sim/index.js";
import { assembleTopology } from "./assemble.js";
import { compiledRuleset } from "./compiled-rules.js";

export class ControlPlane {
  private cache = new Map<string, unknown>();

  constructor(
    readonly world: World,
    readonly runtime: ClusterRuntime,
  ) {}

  private memo<T>(key: string, make: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as T;
  }

  /** Services as stored, with status.loadBalancer filled in by the cloud provider. */
  services(): Service[] {
    return this.memo("services", () => assignLoadBalancerIPs(this.world));
  }

  /** The world as the cluster holds it (with load balancer status). */
  liveWorld(): World {
    return this.memo("live", () => ({ ...this.world, services: this.services() }));
  }

  slices(): EndpointSlice[] {
    return this.memo("slices", () => deriveEndpointSlices(this.liveWorld()));
  }

  /** What kube-proxy on `node` wrote, as iptables-save prints it; frozen if it was stopped. */
  rules(node: string): string {
    const frozen = this.runtime.stoppedProxies.get(node);
    if (frozen !== undefined) return frozen;
    return this.saved(node).text;
  }

  /** What kube-proxy on `node` wrote: the text and the lines it is printed from. */
  private saved(node: string): NodeSaved {
    return this.memo(`rules:${node}`, () => this.nodeTables().savedForNode(proxierConfigFor(this.liveWorld(), node)));
  }

  /** Every node's kube-proxy sync of this world, each written once for the nodes it cannot differ between. */
  private nodeTables(): ClusterNodeTables {
    return this.memo("nodeTables", () => new ClusterNodeTables(this.services(), this.slices()));
  }

  lbRoutes(): LbRoute[] {
    return this.memo("lb", () => loadBalancerRoutes(this.liveWorld(), this.services(), this.slices(), this.runtime));
  }

  zone(): DnsZone {
    return this.memo("zone", () => buildZone(this.liveWorld(), this.services(), this.slices()));
  }

  topology(): Topology {
    return this.memo("topology", () => {
      const topology = assembleTopology({
        world: this.liveWorld(),
        services: this.services(),
        runtime: this.runtime,
        rulesFor: (n: NodeDecl) => this.rules(n.name),
        lbRoutes: this.lbRoutes(),
      });
      // Each running kube-proxy's rules, for the simulator, from the lines its text was printed
      // from (compiled-rules.ts): no second split and parse of the text, nor a lookup by it, and
      // unchanged chains and tables shared with earlier loads (bench suite: loading the rules
      // took about a quarter less CPU; 92 % of compiled chains were shared).
      for (const spec of topology.hosts) {
        if (spec.kind !== "node" || this.runtime.stoppedProxies.has(spec.name)) continue;
        const saved = this.saved(spec.name);
        if (spec.iptables === saved.text) provideRuleset(spec, () => compiledRuleset(saved, `${spec.name} iptables`));
      }
      return topology;
    });
  }

  /** The kube-dns Service's cluster IP, if the cluster runs kube-dns. */
  dnsServerIp(): string | null {
    const s = this.services().find((x) => x.metadata.name === "kube-dns" && x.metadata.namespace === "kube-system");
    return s?.spec.clusterIP && s.spec.clusterIP !== "None" ? s.spec.clusterIP : null;
  }
}
