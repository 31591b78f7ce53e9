// Behaviour 1 — ClusterIP: reachable from every pod and node, load-balanced over the ready
// endpoints with probability 1/n each; from outside the address is unroutable and the Service's
// DNS name does not resolve.

import { beforeAll, describe, expect, it } from "vitest";
import { deliveries, mass, runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
spec "ClusterIP behaviour"

cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  node node3 192.168.1.13
  pod web-1 on node1 ip 10.244.1.10 labels app=web listen tcp/8080
  pod web-2 on node2 ip 10.244.2.10 labels app=web listen tcp/8080
  pod web-3 on node3 ip 10.244.3.10 labels app=web listen tcp/8080
  pod web-4 on node3 ip 10.244.3.11 labels app=web not-ready listen tcp/8080
  pod t1 on node1 ip 10.244.1.20
  pod t2 on node2 ip 10.244.2.20
  pod t3 on node3 ip 10.244.3.20
  client laptop 203.0.113.7
}

service web {
  selector app=web
  port http tcp 80 -> 8080
  cluster-ip 10.96.0.50
}

scenario "from pods" {
  send tcp from t1 to web:80
  send tcp from t2 to web:80
  send tcp from t3 to 10.96.0.50:80
}

scenario "from nodes" {
  send tcp from node1 to 10.96.0.50:80
  send tcp from node2 to web:80
}

scenario "by DNS name" {
  send tcp from t2 to web.default.svc.cluster.local:80
}

scenario "from outside" {
  send tcp from laptop to 10.96.0.50:80
  resolve web.default.svc.cluster.local from laptop expect fails
}

scenario "two endpoints" {
  delete pod web-3
  send tcp from t1 to web:80
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

const THIRD = 1 / 3;

describe("ClusterIP", () => {
  it("the spec itself has no failures", () => {
    expect(run.failures()).toBe("");
  });

  it.each([
    ["t1 on node1", 0],
    ["t2 on node2", 1],
    ["t3 on node3", 2],
  ])("from %s: connected, 1/3 to each ready endpoint, the not-ready one never", (_pod, n) => {
    const bs = run.branches("from pods", n);
    expect(bs).toHaveLength(3);
    for (const b of bs) {
      expect(b.result).toBe("connected");
      expect(b.signal).toBe("syn-ack");
      // The reply is un-DNATed by conntrack: it comes from the ClusterIP the client talked to.
      expect(b.replyFrom).toEqual({ ip: "10.96.0.50", port: 80 });
      expect(b.masqueraded).toBe(false);
      expect(b.probability).toBeCloseTo(THIRD, 8);
      expect(b.explanation).toMatch(/DNATed 10\.96\.0\.50:80 to 10\.244\.\d\.10:8080 \(KUBE-SEP-[A-Z0-9]{16}\)/);
    }
    expect(deliveries(bs).map(([pod]) => pod)).toEqual(["web-1", "web-2", "web-3"]);
    expect(mass(bs, (b) => b.deliveredTo?.host === "pod:default/web-4")).toBe(0);
    expect(bs.map((b) => b.deliveredTo?.port)).toEqual([8080, 8080, 8080]);
  });

  it("pod to ClusterIP is not masqueraded: every endpoint sees the pod's own address", () => {
    for (const b of run.branches("from pods", 1)) expect(b.sourceSeen?.ip).toBe("10.244.2.20");
  });

  it("the branches are the KUBE-SEP choices of the statistic rules, in rule order", () => {
    const bs = run.branches("from pods", 0);
    expect(bs.map((b) => b.choices.length)).toEqual([1, 1, 1]);
    expect(bs.map((b) => b.choices[0]!.replace(/KUBE-SEP-\w+ /, ""))).toEqual(["10.244.1.10:8080", "10.244.2.10:8080", "10.244.3.10:8080"]);
  });

  it("from a node (OUTPUT walks KUBE-SERVICES): connected, masqueraded because the source is not in the pod CIDR", () => {
    for (const n of [0, 1]) {
      const bs = run.branches("from nodes", n);
      expect(bs).toHaveLength(3);
      for (const b of bs) {
        expect(b.result).toBe("connected");
        expect(b.masqueraded).toBe(true);
        expect(b.probability).toBeCloseTo(THIRD, 8);
      }
    }
    // node1 → its local endpoint leaves by cni0: MASQUERADE picks cni0's address.
    const node1 = run.branches("from nodes", 0);
    expect(node1.find((b) => b.deliveredTo?.host === "pod:default/web-1")?.sourceSeen?.ip).toBe("10.244.1.1");
    expect(node1.find((b) => b.deliveredTo?.host === "pod:default/web-2")?.sourceSeen?.ip).toBe("192.168.1.11");
  });

  it("a pod reaches it by its DNS name, with the same spread", () => {
    const bs = run.branches("by DNS name");
    expect(deliveries(bs)).toEqual([
      ["web-1", expect.closeTo(THIRD, 8)],
      ["web-2", expect.closeTo(THIRD, 8)],
      ["web-3", expect.closeTo(THIRD, 8)],
    ]);
  });

  it("with two ready endpoints the statistic split is 1/2 and 1/2", () => {
    const bs = run.branches("two endpoints");
    expect(bs.map((b) => b.probability)).toEqual([0.5, 0.5]);
    expect(deliveries(bs).map(([p]) => p)).toEqual(["web-1", "web-2"]);
  });

  it("from outside: ENETUNREACH, the router answered with ICMP net unreachable; nothing was delivered", () => {
    const [b, ...rest] = run.branches("from outside", 0);
    expect(rest).toHaveLength(0);
    expect(b!.result).toBe("net-unreachable");
    expect(b!.signal).toBe("icmp-net-unreachable");
    expect(b!.replyFrom?.ip).toBe("203.0.113.1");
    expect(b!.deliveredTo).toBeNull();
    expect(b!.sourceSeen).toBeNull();
    expect(b!.via).toEqual([]);
    expect(b!.explanation).toContain("router has no route to 10.96.0.50");
  });

  it("from outside the Service's DNS name does not resolve: the laptop does not use kube-dns", () => {
    const st = run.probe("from outside", 1);
    expect(st.status).toBe("passed");
    expect(st.branches[0]!.explanation).toMatch(/does not resolve from laptop: a client outside the cluster does not use the cluster's DNS/);
  });
});
