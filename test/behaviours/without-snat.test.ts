// Behaviour 3 — NodePort without SNAT (`masquerade off`: KUBE-POSTROUTING has no MASQUERADE).
// Through the remote node the SYN-ACK comes straight from the pod, the client answers RST and
// its connect times out (kernel-lab 2a); through the endpoint's own node the reply is un-NATed
// there and it works, the pod seeing the client's address (2b).

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  masquerade off
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod nginx-1 on node1 ip 10.244.1.5 labels run=my-nginx listen tcp/80
  client laptop 203.0.113.7
}

service my-nginx NodePort {
  selector run=my-nginx
  port http tcp 8080 -> 80 node-port 30080
}

scenario "remote" {
  send tcp from laptop to node2:30080
}

scenario "local" {
  send tcp from laptop to node1:30080
}

scenario "rules" {
  show iptables node2 nat KUBE-POSTROUTING
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("NodePort without SNAT", () => {
  it("the spec itself has no failures", () => {
    expect(run.failures()).toBe("");
  });

  it("through node2: timeout; the SYN-ACK came from the pod's address and the client answered RST", () => {
    const bs = run.branches("remote");
    expect(bs).toHaveLength(1);
    const b = bs[0]!;
    expect(b.result).toBe("timeout");
    expect(b.signal).toBe("syn-ack");
    expect(b.replyFrom).toEqual({ ip: "10.244.1.5", port: 80 });
    // The handshake never completed: the server's accept() never returned this connection.
    expect(b.deliveredTo).toBeNull();
    expect(b.sourceSeen).toBeNull();
    expect(b.masqueraded).toBe(false);
    expect(b.explanation).toContain("nginx-1's reply came from 10.244.1.5:80, not 192.168.1.12:30080 that laptop talked to");
    expect(b.explanation).toContain("no SNAT on node2");
    expect(b.explanation).toContain("answered RST");
    const rst = b.trace.find((e) => e.host === "client:laptop" && e.kind === "reply");
    expect(rst?.text).toContain("answers RST");
  });

  it("the SYN-ACK leaves node1 towards the client directly, never passing node2 again", () => {
    const b = run.branches("remote")[0]!;
    const replyHosts = b.trace.filter((e) => e.phase === "reply" && e.kind === "interface").map((e) => e.host);
    expect(replyHosts).toContain("node1");
    expect(replyHosts).not.toContain("node2");
  });

  it("through node1: connected, and the pod sees the client's own address", () => {
    const [b] = run.branches("local");
    expect(b!.result).toBe("connected");
    expect(b!.replyFrom).toEqual({ ip: "192.168.1.11", port: 30080 });
    expect(b!.sourceSeen?.ip).toBe("203.0.113.7");
    expect(b!.masqueraded).toBe(false);
  });

  it("KUBE-POSTROUTING still clears the mark but has no MASQUERADE", () => {
    const out = run.probe("rules").output!;
    expect(out).toContain("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0");
    expect(out).not.toContain("MASQUERADE");
  });
});
