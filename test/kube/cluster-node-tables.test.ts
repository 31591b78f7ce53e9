// ClusterNodeTables writes a world's kube-proxy sync once for all the nodes it cannot differ
// between. Each node's text must be exactly its own nodeTables, whichever node asks first, for
// every kind of node-specific input: Local traffic policies (which endpoints are local),
// --nodeport-addresses (the node's addresses), a loadBalancerSourceRanges firewall that lets the
// node's own traffic in, and the IP family of the node's address.

import { describe, expect, it } from "vitest";
import { ClusterNodeTables, nodeTables, writeRestore, type NodeReads, type ProxierConfig } from "../../src/kube/proxier/index.js";
import type { EndpointSlice, Service } from "../../src/world/k8s.js";
import { type UpstreamFixture, upstreamFixtures } from "./upstream-fixtures.js";

const fixtures = upstreamFixtures();

/** The nodes to ask for: every node an endpoint is on, one with none, each at a few addresses. */
function nodesOf(f: UpstreamFixture): ProxierConfig[] {
  const names = new Set<string>(["node-without-endpoints", f.proxier.nodeName]);
  for (const s of f.slices) for (const e of s.endpoints ?? []) if (e.nodeName) names.add(e.nodeName);
  const v6 = f.proxier.nodeIPs[0]?.includes(":") ?? false;
  const ips = v6 ? [f.proxier.nodeIPs, ["fd00::9"], ["2001:db8::1"]] : [f.proxier.nodeIPs, ["192.168.0.2"], ["10.20.30.40"], ["1.2.3.4", "fd00::1"]];
  const out: ProxierConfig[] = [];
  for (const nodeName of names) for (const nodeIPs of ips) out.push({ ...f.proxier, nodeName, nodeIPs });
  return out;
}

/** Variants of the fixture's cluster-wide configuration, each with the node-dependent inputs. */
function configVariants(f: UpstreamFixture): Array<(c: ProxierConfig) => ProxierConfig> {
  return [
    (c) => c,
    (c) => ({ ...c, nodePortAddresses: ["192.168.0.0/16"] }),
    (c) => ({ ...c, nodePortAddresses: ["0.0.0.0/0", "::/0"] }),
    (c) => ({ ...c, masqueradeAll: !f.proxier.masqueradeAll, localhostNodePorts: !f.proxier.localhostNodePorts }),
  ];
}

describe("ClusterNodeTables", () => {
  it("covers the upstream fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
  });

  it("gives every node exactly its own nodeTables, whichever node asks first", () => {
    let shared = 0;
    let specific = 0;
    for (const f of fixtures) {
      for (const variant of configVariants(f)) {
        const nodes = nodesOf(f).map(variant);
        for (const order of [nodes, [...nodes].reverse()]) {
          const tables = new ClusterNodeTables(f.services, f.slices);
          for (const cfg of order) expect(tables.forNode(cfg), `${f.name} ${cfg.nodeName} ${cfg.nodeIPs}`).toBe(nodeTables(f.services, f.slices, cfg));
        }
        const reads: NodeReads = { nodeSpecific: false };
        writeRestore(f.services, f.slices, nodes[0]!, reads);
        if (reads.nodeSpecific) specific++;
        else shared++;
      }
    }
    // Both ways are exercised.
    expect(shared).toBeGreaterThan(5);
    expect(specific).toBeGreaterThan(5);
  });

  it("a sync that read nothing of its node is the same text on every node of the family", () => {
    for (const f of fixtures) {
      for (const variant of configVariants(f)) {
        const nodes = nodesOf(f).map(variant);
        const reads: NodeReads = { nodeSpecific: true };
        const first = writeRestore(f.services, f.slices, nodes[0]!, reads);
        if (reads.nodeSpecific) continue;
        const v6 = (c: ProxierConfig) => c.nodeIPs[0]!.includes(":");
        for (const cfg of nodes) if (v6(cfg) === v6(nodes[0]!)) expect(writeRestore(f.services, f.slices, cfg), `${f.name} ${cfg.nodeName}`).toBe(first);
      }
    }
  });

  const svc = (name: string, spec: Service["spec"]): Service => ({ metadata: { name, namespace: "ns" }, spec });
  const slice = (name: string, eps: Array<[string, string]>): EndpointSlice => ({
    metadata: { name: `${name}-abc`, namespace: "ns", labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    ports: [{ name: "p", port: 8080, protocol: "TCP" }],
    endpoints: eps.map(([ip, nodeName]) => ({ addresses: [ip], nodeName })),
  });
  const cfg = (nodeName: string, ip: string): ProxierConfig => ({
    nodeName,
    nodeIPs: [ip],
    clusterCIDR: "10.244.0.0/16",
    masqueradeAll: false,
    masqueradeMark: "0x4000",
    nodePortAddresses: [],
    localhostNodePorts: true,
    nfacct: true,
    randomFully: true,
  });
  const node1 = cfg("node1", "192.168.1.11");
  const node2 = cfg("node2", "192.168.1.12");
  const slices = [slice("a", [["10.244.1.5", "node1"], ["10.244.2.5", "node2"]])];

  it.each([
    ["externalTrafficPolicy Local", { type: "NodePort", clusterIP: "10.96.0.5", externalTrafficPolicy: "Local", ports: [{ name: "p", port: 80, protocol: "TCP", nodePort: 30080 }] }],
    ["internalTrafficPolicy Local", { type: "ClusterIP", clusterIP: "10.96.0.5", internalTrafficPolicy: "Local", ports: [{ name: "p", port: 80, protocol: "TCP" }] }],
    [
      "a source-range firewall that admits the node",
      { type: "LoadBalancer", clusterIP: "10.96.0.5", loadBalancerSourceRanges: ["192.168.1.11/32"], ports: [{ name: "p", port: 80, protocol: "TCP", nodePort: 30080 }] },
    ],
  ] as Array<[string, Service["spec"]]>)("%s: each node gets its own text", (_what, spec) => {
    const services = [svc("a", spec)];
    if (spec.type === "LoadBalancer") services[0]!.status = { loadBalancer: { ingress: [{ ip: "203.0.113.10" }] } };
    const tables = new ClusterNodeTables(services, slices);
    const one = tables.forNode(node1);
    const two = tables.forNode(node2);
    expect(one).toBe(nodeTables(services, slices, node1));
    expect(two).toBe(nodeTables(services, slices, node2));
    expect(two).not.toBe(one);
  });

  it("--nodeport-addresses: each node gets its own text", () => {
    const services = [svc("a", { type: "NodePort", clusterIP: "10.96.0.5", ports: [{ name: "p", port: 80, protocol: "TCP", nodePort: 30080 }] })];
    const tables = new ClusterNodeTables(services, slices);
    const [a, b] = [node1, node2].map((c) => ({ ...c, nodePortAddresses: ["192.168.1.0/24"] }));
    expect(tables.forNode(a!)).toBe(nodeTables(services, slices, a!));
    expect(tables.forNode(b!)).toBe(nodeTables(services, slices, b!));
    expect(tables.forNode(b!)).not.toBe(tables.forNode(a!));
  });

  it("a Cluster-policy Service is written once and shared by the nodes", () => {
    const services = [svc("a", { type: "NodePort", clusterIP: "10.96.0.5", ports: [{ name: "p", port: 80, protocol: "TCP", nodePort: 30080 }] })];
    const tables = new ClusterNodeTables(services, slices);
    const one = tables.forNode(node1);
    expect(tables.forNode(node2)).toBe(one);
    expect(one).toBe(nodeTables(services, slices, node2));
    // Another cluster-wide configuration is not the same text.
    expect(tables.forNode({ ...node2, masqueradeAll: true })).toBe(nodeTables(services, slices, { ...node2, masqueradeAll: true }));
    expect(tables.forNode({ ...node2, masqueradeAll: true })).not.toBe(one);
  });
});
