// Behaviour 7 — externalIPs are captured only in PREROUTING/OUTPUT of a node the packet passes:
// routed to a node they work (kernel-lab 4b/4c), unrouted they are unreachable from outside
// (4a), from pods they always work (4e), and a routed packet to a port that is not the
// Service's loops between router and node until its TTL runs out (4d).

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod nginx-1 on node1 ip 10.244.1.5 labels app=nginx listen tcp/80
  pod b2 on node2 ip 10.244.2.5
  client laptop 203.0.113.7
  route 198.51.100.10/32 via node2
  route 198.51.100.11/32 via node1
}

service routed {
  selector app=nginx
  port tcp 80 -> 80
  external-ips 198.51.100.10,198.51.100.11
}

service unrouted {
  selector app=nginx
  port tcp 80 -> 80
  external-ips 198.51.100.20
}

scenario "probes" {
  send tcp from laptop to 198.51.100.10:80
  send tcp from laptop to 198.51.100.11:80
  send tcp from laptop to 198.51.100.20:80
  send tcp from b2 to 198.51.100.20:80
  send tcp from laptop to 198.51.100.10:8080
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("externalIPs", () => {
  it("routed to node2 (4b): connected, masqueraded to node2's IP", () => {
    const [b] = run.branches("probes", 0);
    expect(b!.result).toBe("connected");
    expect(b!.via).toEqual(["node2", "node1"]);
    expect(b!.replyFrom).toEqual({ ip: "198.51.100.10", port: 80 });
    expect(b!.sourceSeen?.ip).toBe("192.168.1.12");
  });

  it("routed to node1 (4c): connected, masqueraded to node1's cni0 address", () => {
    const [b] = run.branches("probes", 1);
    expect(b!.result).toBe("connected");
    expect(b!.via).toEqual(["node1"]);
    expect(b!.sourceSeen?.ip).toBe("10.244.1.1");
  });

  it("unrouted, from outside (4a): ENETUNREACH from the router, no node ever saw it", () => {
    const [b] = run.branches("probes", 2);
    expect(b!.result).toBe("net-unreachable");
    expect(b!.signal).toBe("icmp-net-unreachable");
    expect(b!.replyFrom?.ip).toBe("203.0.113.1");
    expect(b!.via).toEqual([]);
    expect(b!.explanation).toContain("router has no route to 198.51.100.20");
  });

  it("unrouted, from a pod (4e): captured on the pod's own node, masqueraded to node2's IP", () => {
    const [b] = run.branches("probes", 3);
    expect(b!.result).toBe("connected");
    expect(b!.sourceSeen?.ip).toBe("192.168.1.12");
    const dnat = b!.trace.find((e) => e.kind === "nat" && /DNAT/.test(e.text));
    expect(dnat?.host).toBe("node2");
    expect(dnat?.text).toContain("198.51.100.20:80 → 10.244.1.5:80");
  });

  it("a port that is not the Service's (4d): loops router ↔ node2 until the TTL runs out, EHOSTUNREACH", () => {
    const [b] = run.branches("probes", 4);
    expect(b!.result).toBe("host-unreachable");
    expect(b!.signal).toBe("icmp-time-exceeded");
    expect(b!.deliveredTo).toBeNull();
    expect(b!.explanation).toMatch(/the packet to 198\.51\.100\.10:8080 looped between (router and node2|node2 and router) until its TTL ran out/);
    expect(b!.explanation).toContain("no DNAT rule matched on the way");
  });
});
