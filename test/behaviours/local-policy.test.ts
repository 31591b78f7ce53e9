// Behaviour 4 — externalTrafficPolicy Local: the client address is preserved (kernel-lab 3b), a
// node without a local endpoint drops in filter KUBE-EXTERNAL-SERVICES (3a), and pods are
// short-circuited to the cluster-wide chain (3c).

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod nginx-1 on node1 ip 10.244.1.5 labels app=nginx listen tcp/80
  pod b2 on node2 ip 10.244.2.5
  client laptop 203.0.113.7
}

service nginx NodePort {
  selector app=nginx
  port http tcp 8080 -> 80 node-port 30080
  external-traffic-policy Local
}

scenario "local" {
  send tcp from laptop to node1:30080
  send tcp from laptop to node2:30080
  send tcp from b2 to node2:30080
  send tcp from b2 to node1:30080
}

scenario "cluster again" {
  set service nginx external-traffic-policy Cluster
  send tcp from laptop to node2:30080
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("externalTrafficPolicy Local", () => {
  it("the spec itself has no failures", () => {
    expect(run.failures()).toBe("");
  });

  it("through the node with the endpoint (3b): connected, not masqueraded, the client's address seen", () => {
    const [b] = run.branches("local", 0);
    expect(b!.result).toBe("connected");
    expect(b!.replyFrom).toEqual({ ip: "192.168.1.11", port: 30080 });
    expect(b!.sourceSeen?.ip).toBe("203.0.113.7");
    expect(b!.masqueraded).toBe(false);
  });

  it("through the node without an endpoint (3a): dropped by filter KUBE-EXTERNAL-SERVICES, named in the explanation", () => {
    const bs = run.branches("local", 1);
    expect(bs).toHaveLength(1);
    const b = bs[0]!;
    expect(b.result).toBe("timeout");
    expect(b.signal).toBe("none");
    expect(b.replyFrom).toBeNull();
    expect(b.deliveredTo).toBeNull();
    expect(b.via).toEqual(["node2"]);
    expect(b.explanation).toBe("dropped on node2 by KUBE-EXTERNAL-SERVICES: default/nginx:http has no local endpoints");
    const drop = b.trace.find((e) => e.kind === "drop");
    expect(drop).toMatchObject({ host: "node2", table: "filter", chain: "KUBE-EXTERNAL-SERVICES" });
    expect(drop?.rule).toBe(
      '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/nginx:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j DROP',
    );
  });

  it("a pod through the node without an endpoint (3c): short-circuited, connected, its own address seen", () => {
    const [b] = run.branches("local", 2);
    expect(b!.result).toBe("connected");
    expect(b!.deliveredTo?.host).toBe("pod:default/nginx-1");
    expect(b!.sourceSeen?.ip).toBe("10.244.2.5");
    expect(b!.masqueraded).toBe(false);
    expect(b!.trace.some((e) => e.kind === "rule" && /pod traffic for default\/nginx:http external destinations/.test(e.rule ?? ""))).toBe(true);
  });

  it("a pod through the node with the endpoint: connected, unmasqueraded", () => {
    const [b] = run.branches("local", 3);
    expect(b!.result).toBe("connected");
    expect(b!.sourceSeen?.ip).toBe("10.244.2.5");
  });

  it("back to Cluster policy: node2 forwards, masqueraded to node2's IP", () => {
    const [b] = run.branches("cluster again");
    expect(b!.result).toBe("connected");
    expect(b!.sourceSeen?.ip).toBe("192.168.1.12");
    expect(b!.masqueraded).toBe(true);
  });
});
