// Behaviour 10 — kube-proxy stopped on a node: its rules freeze. What existed keeps working
// there; new Services and endpoint changes never reach it.

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod web-1 on node1 ip 10.244.1.30 labels app=web listen tcp/8080
  pod web-2 on node1 ip 10.244.1.31 labels app=web listen tcp/8080
  pod on-node1 on node1
  pod on-node2 on node2
}

service web {
  selector app=web
  port tcp 80 -> 8080
  cluster-ip 10.96.0.80
}

scenario "frozen" {
  stop kube-proxy on node2
  set pod web-2 not-ready
  send tcp from on-node1 to web:80
  send tcp from on-node2 to web:80
  apply <<YAML
  apiVersion: v1
  kind: Service
  metadata:
    name: web2
  spec:
    clusterIP: 10.96.0.81
    selector:
      app: web
    ports:
    - port: 80
      targetPort: 8080
  YAML
  send tcp from on-node1 to 10.96.0.81:80
  send tcp from on-node2 to 10.96.0.81:80
  show iptables node2 nat
  show iptables node1 nat
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("kube-proxy stopped", () => {
  it("the running node follows the endpoint change: web-2 is gone from node1's rules", () => {
    const bs = run.branches("frozen", 0);
    expect(bs.map((b) => [b.deliveredTo?.host, b.probability])).toEqual([["pod:default/web-1", 1]]);
  });

  it("the stopped node still DNATs to both old endpoints, 1/2 each, the not-ready one included", () => {
    const bs = run.branches("frozen", 1);
    expect(bs.map((b) => [b.deliveredTo?.host, b.probability, b.result])).toEqual([
      ["pod:default/web-1", 0.5, "connected"],
      ["pod:default/web-2", 0.5, "connected"],
    ]);
  });

  it("a new Service works from node1 and not from node2, which has no rule for it", () => {
    expect(run.branches("frozen", 2).every((b) => b.result === "connected")).toBe(true);
    const [b] = run.branches("frozen", 3);
    expect(b!.result).toBe("timeout");
    expect(b!.deliveredTo).toBeNull();
    // The packet leaves node2 unchanged: no DNAT anywhere in its trace.
    expect(b!.trace.some((e) => e.kind === "nat")).toBe(false);
    expect(run.probe("frozen", 4).output).not.toContain("10.96.0.81");
    expect(run.probe("frozen", 5).output).toContain("-A KUBE-SERVICES -d 10.96.0.81/32");
  });
});
