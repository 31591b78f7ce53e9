// Behaviour 2 — NodePort: every node's IP:nodePort reaches the pod; the reply comes from the
// node the client talked to; the pod sees the node's eth0 address when the endpoint is remote
// (kernel-lab 1a) and the node's cni0 address when it is local (1b). Pods reach the NodePort
// too, and the ClusterIP is not masqueraded for them (1c).

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node-port-range 1-65535
  node node1 192.168.1.11
  node node2 192.168.1.12
  node node3 192.168.1.13
  pod nginx-1 on node1 ip 10.244.1.5 labels run=my-nginx listen tcp/80
  pod b2 on node2 ip 10.244.2.5
  client laptop 203.0.113.7
}

apply <<YAML
apiVersion: v1
kind: Service
metadata:
  name: my-nginx
spec:
  type: NodePort
  clusterIP: 10.96.0.100
  ports:
  - {nodePort: 30080, port: 8080, targetPort: 80, protocol: TCP, name: http}
  selector:
    run: my-nginx
YAML

scenario "through each node" {
  send tcp from laptop to node1:30080
  send tcp from laptop to node2:30080
  send tcp from laptop to node3:30080
}

scenario "from a pod" {
  send tcp from b2 to 10.96.0.100:8080
  send tcp from b2 to node1:30080
}

scenario "a port nobody serves" {
  send tcp from laptop to node2:30081
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("NodePort", () => {
  it("the spec itself has no failures", () => {
    expect(run.failures()).toBe("");
  });

  it.each([
    ["node1", 0, "192.168.1.11", "10.244.1.1"], // 1b: local endpoint, out of cni0
    ["node2", 1, "192.168.1.12", "192.168.1.12"], // 1a: remote endpoint, out of eth0
    ["node3", 2, "192.168.1.13", "192.168.1.13"],
  ])("through %s: one branch, connected to nginx-1, reply from that node, pod sees the egress address", (node, n, nodeIp, seen) => {
    const bs = run.branches("through each node", n);
    expect(bs).toHaveLength(1);
    const b = bs[0]!;
    expect(b.probability).toBe(1);
    expect(b.result).toBe("connected");
    expect(b.replyFrom).toEqual({ ip: nodeIp, port: 30080 });
    expect(b.deliveredTo).toEqual({ host: "pod:default/nginx-1", ip: "10.244.1.5", port: 80 });
    expect(b.sourceSeen?.ip).toBe(seen);
    expect(b.masqueraded).toBe(true);
    expect(b.via[0]).toBe(node);
    expect(b.explanation).toContain(`${node} DNATed ${nodeIp}:30080 to 10.244.1.5:80`);
    expect(b.explanation).toContain(`${node} masqueraded the source to ${seen} (KUBE-POSTROUTING)`);
  });

  it("through node2 the request crosses to node1, where the pod runs", () => {
    expect(run.branches("through each node", 1)[0]!.via).toEqual(["node2", "node1"]);
    expect(run.branches("through each node", 0)[0]!.via).toEqual(["node1"]);
  });

  it("the trace shows the MASQUERADE on the entry node with the egress interface", () => {
    const trace = run.branches("through each node", 1)[0]!.trace;
    const masq = trace.find((e) => e.kind === "nat" && /MASQUERADE/.test(e.text));
    expect(masq?.host).toBe("node2");
    expect(masq?.text).toContain("→ 192.168.1.12:");
    expect(masq?.text).toContain("out eth0");
    const mark = trace.find((e) => e.kind === "rule" && e.chain === "KUBE-MARK-MASQ");
    expect(mark?.host).toBe("node2");
    expect(mark?.rule).toBe("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
  });

  it("pod → ClusterIP (1c): connected, no SNAT, the pod's own address seen", () => {
    const [b] = run.branches("from a pod", 0);
    expect(b!.result).toBe("connected");
    expect(b!.sourceSeen?.ip).toBe("10.244.2.5");
    expect(b!.masqueraded).toBe(false);
    expect(b!.replyFrom).toEqual({ ip: "10.96.0.100", port: 8080 });
  });

  it("pod → another node's NodePort: connected and masqueraded by that node", () => {
    const [b] = run.branches("from a pod", 1);
    expect(b!.result).toBe("connected");
    expect(b!.replyFrom).toEqual({ ip: "192.168.1.11", port: 30080 });
    expect(b!.masqueraded).toBe(true);
  });

  it("a port with no NodePort rule: nothing listens on node2, RST → refused", () => {
    const [b] = run.branches("a port nobody serves");
    expect(b!.result).toBe("refused");
    expect(b!.signal).toBe("rst");
    expect(b!.replyFrom).toEqual({ ip: "192.168.1.12", port: 30081 });
    expect(b!.explanation).toContain("nothing listens on node2 TCP 192.168.1.12:30081");
  });
});
