// A seeded synthetic cluster for the rule-writer bench: 10,000 Services × 10 endpoints spread
// over 100 nodes. Deterministic (mulberry32), so runs are comparable.

import type { EndpointSlice, Service } from "../src/world/k8s.js";
import type { ProxierConfig } from "../src/kube/proxier/index.js";

/** The seeded PRNG every generator here uses (and the tests that need reproducible randomness). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedCluster {
  services: Service[];
  slices: EndpointSlice[];
  nodes: string[];
}

export function generateCluster(opts: { services?: number; endpoints?: number; nodes?: number; seed?: number } = {}): GeneratedCluster {
  const nServices = opts.services ?? 10_000;
  const nEndpoints = opts.endpoints ?? 10;
  const nNodes = opts.nodes ?? 100;
  const rand = mulberry32(opts.seed ?? 42);
  const nodes = Array.from({ length: nNodes }, (_, i) => `node-${i}`);
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < nServices; i++) {
    const ns = `ns${i % 50}`;
    const name = `svc-${i}`;
    const kind = rand();
    // A realistic mix: mostly ClusterIP, some NodePort, a few LoadBalancers (some eTP Local).
    const type = kind < 0.8 ? "ClusterIP" : kind < 0.95 ? "NodePort" : "LoadBalancer";
    const nodePort = type === "ClusterIP" ? undefined : 30000 + (i % 2768);
    const clusterIP = `10.96.${(i >> 8) & 255}.${i & 255}`;
    services.push({
      metadata: { name, namespace: ns },
      spec: {
        type,
        clusterIP,
        ports: [{ name: "http", port: 80, protocol: "TCP", ...(nodePort ? { nodePort } : {}) }],
        ...(type === "LoadBalancer" && rand() < 0.5 ? { externalTrafficPolicy: "Local" as const, healthCheckNodePort: 32000 + (i % 700) } : {}),
      },
      ...(type === "LoadBalancer" ? { status: { loadBalancer: { ingress: [{ ip: `203.0.${(i >> 8) & 255}.${i & 255}` }] } } } : {}),
    });
    slices.push({
      metadata: { name: `${name}-abcde`, namespace: ns, labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      endpoints: Array.from({ length: nEndpoints }, (_, e) => {
        const node = Math.floor(rand() * nNodes);
        return { addresses: [`10.${64 + (node >> 2)}.${((node & 3) << 6) | (e & 63)}.${(i % 250) + 1}`], nodeName: nodes[node]! };
      }),
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  }
  return { services, slices, nodes };
}

/**
 * The kube-proxy every benchmark runs: node-7 of the generated cluster. `nfacct` differs by
 * benchmark (the legacy restore figure needs rules the bare kernel loads without nfacct objects).
 */
export function benchProxierConfig(nfacct: boolean): ProxierConfig {
  return {
    nodeName: "node-7",
    nodeIPs: ["192.168.1.17"],
    clusterCIDR: "10.64.0.0/10",
    masqueradeAll: false,
    masqueradeMark: "0x4000",
    nodePortAddresses: [],
    localhostNodePorts: true,
    nfacct,
    randomFully: true,
  };
}
