// Behaviour 5 — LoadBalancer: with a cloud provider the Service gets an ingress IP from the pool
// and the load balancer spreads (ECMP) over the nodes that pass its health check — every node
// under Cluster policy, only nodes with a local endpoint under Local. Without a cloud provider
// EXTERNAL-IP stays <pending>. loadBalancerSourceRanges are enforced by kube-proxy.

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const CLOUD = `
cluster {
  cloud-provider on
  lb-pool 198.51.100.240/28
  node node1 192.168.1.11
  node node2 192.168.1.12
  node node3 192.168.1.13
  pod web-1 on node1 ip 10.244.1.5 labels app=web listen tcp/8080
  pod web-3 on node3 ip 10.244.3.5 labels app=web listen tcp/8080
  client laptop 203.0.113.7
  client cafe 203.0.113.200
}

service web LoadBalancer {
  selector app=web
  port http tcp 80 -> 8080
}

scenario "cluster" {
  show services
  send tcp from laptop to lb:web:80
}

scenario "local" {
  set service web external-traffic-policy Local
  send tcp from laptop to lb:web:80
}

scenario "a failed node" {
  fail node node2
  send tcp from laptop to lb:web:80
}

scenario "ranges" {
  set service web load-balancer-source-ranges 203.0.113.0/25
  send tcp from laptop to lb:web:80
  send tcp from cafe to lb:web:80
}
`;

const PENDING = `
cluster {
  node node1 192.168.1.11
  pod web-1 on node1 labels app=web listen tcp/8080
  client laptop 203.0.113.7
}

service web LoadBalancer {
  selector app=web
  port http tcp 80 -> 8080 node-port 31080
}

scenario "pending" {
  show services
  send tcp from laptop to node1:31080
}

scenario "no address to send to" {
  send tcp from laptop to lb:web:80
}
`;

let cloud: SpecRun;
let pending: SpecRun;
beforeAll(async () => {
  cloud = await runSpec(CLOUD);
  pending = await runSpec(PENDING);
});

describe("LoadBalancer with a cloud provider", () => {
  it("the spec itself has no failures", () => {
    expect(cloud.failures()).toBe("");
  });

  it("the ingress IP is the pool's first usable address", () => {
    expect(cloud.probe("cluster", 0).output).toMatch(/default\s+web\s+LoadBalancer\s+10\.\d+\.\d+\.\d+\s+198\.51\.100\.241\s+80:\d+\/TCP/);
  });

  it("Cluster policy: ECMP over all three nodes (1/3 each), then 1/2 per endpoint; every branch connects", () => {
    const bs = cloud.branches("cluster", 1);
    expect(bs).toHaveLength(6);
    for (const b of bs) {
      expect(b.result).toBe("connected");
      expect(b.replyFrom).toEqual({ ip: "198.51.100.241", port: 80 });
      expect(b.probability).toBeCloseTo(1 / 6, 10);
      expect(b.masqueraded).toBe(true);
    }
    const byNode = new Map<string, number>();
    for (const b of bs) byNode.set(b.via[0]!, (byNode.get(b.via[0]!) ?? 0) + b.probability);
    expect([...byNode.keys()].sort()).toEqual(["node1", "node2", "node3"]);
    for (const p of byNode.values()) expect(p).toBeCloseTo(1 / 3, 10);
    expect(bs.every((b) => b.choices[0]!.startsWith("router → node"))).toBe(true);
  });

  it("Cluster policy: the pod sees the entry node's address (eth0 when remote, cni0 when local)", () => {
    const bs = cloud.branches("cluster", 1);
    const seen = (node: string, pod: string) => bs.find((b) => b.via[0] === node && b.deliveredTo?.host === `pod:default/${pod}`)?.sourceSeen?.ip;
    expect(seen("node2", "web-1")).toBe("192.168.1.12");
    expect(seen("node1", "web-1")).toBe("10.244.1.1");
    expect(seen("node1", "web-3")).toBe("192.168.1.11");
    expect(seen("node3", "web-3")).toBe("10.244.3.1");
  });

  it("Local policy: only node1 and node3 (local endpoints) get traffic, each to its own pod, client address kept", () => {
    const bs = cloud.branches("local");
    expect(bs).toHaveLength(2);
    expect(bs.map((b) => [b.via[0], b.deliveredTo?.host, b.sourceSeen?.ip, b.probability])).toEqual([
      ["node1", "pod:default/web-1", "203.0.113.7", 0.5],
      ["node3", "pod:default/web-3", "203.0.113.7", 0.5],
    ]);
    for (const b of bs) {
      expect(b.result).toBe("connected");
      expect(b.masqueraded).toBe(false);
    }
  });

  it("a failed node fails the health check: ECMP over the two healthy nodes only", () => {
    const bs = cloud.branches("a failed node");
    expect([...new Set(bs.map((b) => b.via[0]))].sort()).toEqual(["node1", "node3"]);
    expect(bs.every((b) => b.result === "connected")).toBe(true);
    for (const node of ["node1", "node3"]) expect(bs.filter((b) => b.via[0] === node).reduce((s, b) => s + b.probability, 0)).toBeCloseTo(0.5, 10);
  });

  it("source ranges: a listed client connects; another is dropped by KUBE-PROXY-FIREWALL on whichever node it lands", () => {
    expect(cloud.branches("ranges", 0).every((b) => b.result === "connected")).toBe(true);
    const bs = cloud.branches("ranges", 1);
    expect(bs).toHaveLength(3);
    for (const b of bs) {
      expect(b.result).toBe("timeout");
      expect(b.deliveredTo).toBeNull();
      expect(b.explanation).toMatch(/^dropped on node\d by KUBE-PROXY-FIREWALL: default\/web:http traffic not accepted by KUBE-FW-[A-Z0-9]{16}$/);
    }
  });
});

describe("LoadBalancer without a cloud provider", () => {
  it("EXTERNAL-IP <pending>; the NodePort part answers", () => {
    expect(pending.probe("pending", 0).output).toMatch(/web\s+LoadBalancer\s+\S+\s+<pending>\s+80:31080\/TCP/);
    const [b] = pending.branches("pending", 1);
    expect(b!.result).toBe("connected");
    expect(b!.deliveredTo?.host).toBe("pod:default/web-1");
  });

  it("sending to its load balancer address is an error of the step that says why", () => {
    const st = pending.scenario("no address to send to").steps[0]!;
    expect(st.status).toBe("failed");
    expect(st.error).toBe("Service web has no load balancer address yet (EXTERNAL-IP <pending>: the cluster has no cloud provider; set `cloud-provider on`)");
  });
});
