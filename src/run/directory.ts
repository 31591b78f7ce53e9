// Names a scenario may use, and what they stand for on the network: nodes, pods, clients and
// Services, each with its host name in the Topology and its addresses. Built once per world.

import type { Service } from "../world/k8s.js";
import type { World } from "../world/model.js";
import { clientHost, podHost } from "../cluster/assemble.js";

export interface HostEntry {
  name: string;
  kind: "node" | "pod" | "client";
  /** Host name in the Topology. */
  host: string;
  /** The address used when the name is a probe's target (node IP, pod IP, client IP). */
  ip: string;
  /** Every address the host owns, with the interface it sits on, for "source-seen node1". */
  addrs: Array<{ ip: string; label: string }>;
}

export class Directory {
  private readonly hosts = new Map<string, HostEntry>();
  private readonly byIp = new Map<string, string>();
  private readonly byTopologyHost = new Map<string, HostEntry>();

  constructor(
    readonly world: World,
    readonly services: Service[],
  ) {
    for (const n of world.nodes) {
      this.add({
        name: n.name,
        kind: "node",
        host: n.name,
        ip: n.ip,
        addrs: [
          { ip: n.ip, label: `${n.name}'s node IP` },
          { ip: n.bridgeIp, label: `${n.name}'s cni0 address` },
        ],
      });
    }
    for (const p of world.pods) {
      this.add({ name: p.name, kind: "pod", host: podHost(p.namespace, p.name), ip: p.ip, addrs: [{ ip: p.ip, label: `pod ${p.name}` }] });
    }
    for (const c of world.clients) {
      this.add({ name: c.name, kind: "client", host: clientHost(c.name), ip: c.ip, addrs: [{ ip: c.ip, label: `client ${c.name}` }] });
    }
    for (const s of services) {
      if (s.spec.clusterIP && s.spec.clusterIP !== "None") this.byIp.set(s.spec.clusterIP, `Service ${s.metadata.name}'s cluster IP`);
      for (const ing of s.status?.loadBalancer?.ingress ?? []) if (ing.ip) this.byIp.set(ing.ip, `Service ${s.metadata.name}'s load balancer IP`);
      for (const ip of s.spec.externalIPs ?? []) if (!this.byIp.has(ip)) this.byIp.set(ip, `Service ${s.metadata.name}'s external IP`);
    }
  }

  private add(e: HostEntry): void {
    // Nodes first, then pods, then clients: a later duplicate name does not shadow an earlier one
    // (the world layer reports duplicates).
    if (!this.hosts.has(e.name)) this.hosts.set(e.name, e);
    this.byTopologyHost.set(e.host, e);
    for (const a of e.addrs) if (!this.byIp.has(a.ip)) this.byIp.set(a.ip, a.label);
  }

  host(name: string): HostEntry | undefined {
    return this.hosts.get(name);
  }

  byHost(topologyHost: string): HostEntry | undefined {
    return this.byTopologyHost.get(topologyHost);
  }

  service(name: string): Service | undefined {
    return this.services.find((s) => s.metadata.name === name && (s.metadata.namespace ?? "default") === "default")
      ?? this.services.find((s) => s.metadata.name === name);
  }

  /** "10.244.1.1 (node1's cni0 address)" — an address with what it belongs to, for messages. */
  describe(ip: string, port?: number | null): string {
    const owner = this.byIp.get(ip);
    const addr = port ? `${ip}:${port}` : ip;
    return owner ? `${addr} (${owner})` : addr;
  }

  /** A topology host name as a person calls it ("nginx-1", "node2", "laptop"). */
  displayName(topologyHost: string): string {
    return this.byTopologyHost.get(topologyHost)?.name ?? topologyHost;
  }
}
