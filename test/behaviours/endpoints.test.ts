// Behaviour 9 — endpoints follow readiness: a not-ready pod is excluded from the KUBE-SVC chain
// and from `kubectl get endpoints`; with no ready endpoint kube-proxy's filter REJECT answers
// with ICMP port unreachable (`rejected`, not a timeout).

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  pod web-1 on node1 ip 10.244.1.21 labels app=web listen tcp/8080
  pod web-2 on node1 ip 10.244.1.22 labels app=web not-ready listen tcp/8080
  pod web-3 on node1 ip 10.244.1.23 labels app=web listen tcp/8080
  pod web-4 on node1 ip 10.244.1.24 labels app=web listen tcp/8080
  pod web-5 on node1 ip 10.244.1.25 labels app=web listen tcp/8080
  pod tester on node1
}

service web {
  selector app=web
  port http tcp 80 -> 8080
}

scenario "some not ready" {
  show endpoints web
  send tcp from tester to web:80
}

scenario "one turns ready" {
  set pod web-2 ready
  show endpoints web
  send tcp from tester to web:80
}

scenario "none ready" {
  set pod web-1 not-ready
  set pod web-3 not-ready
  set pod web-4 not-ready
  delete pod web-5
  show endpoints web
  send tcp from tester to web:80
  show iptables node1 filter KUBE-SERVICES
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("endpoints and readiness", () => {
  it("show endpoints lists the ready endpoints in kubectl's layout", () => {
    expect(run.probe("some not ready", 0).output).toBe(
      "NAME   ENDPOINTS\nweb    10.244.1.21:8080,10.244.1.23:8080,10.244.1.24:8080 + 1 more...",
    );
  });

  it("the not-ready pod gets no branch; the four ready ones 1/4 each", () => {
    const bs = run.branches("some not ready", 1);
    expect(bs.map((b) => b.deliveredTo?.ip)).toEqual(["10.244.1.21", "10.244.1.23", "10.244.1.24", "10.244.1.25"]);
    for (const b of bs) expect(b.probability).toBeCloseTo(0.25, 9);
  });

  it("when it turns ready it joins: five branches, 1/5 each", () => {
    expect(run.probe("one turns ready", 0).output).toContain("10.244.1.22:8080");
    const bs = run.branches("one turns ready", 1);
    expect(bs).toHaveLength(5);
    for (const b of bs) expect(b.probability).toBeCloseTo(0.2, 9);
  });

  it("no ready endpoint: <none>, and the client is rejected by filter KUBE-SERVICES with ICMP port unreachable", () => {
    expect(run.probe("none ready", 0).output).toBe("NAME   ENDPOINTS\nweb    <none>");
    const bs = run.branches("none ready", 1);
    expect(bs).toHaveLength(1);
    const b = bs[0]!;
    expect(b.result).toBe("refused");
    expect(b.signal).toBe("icmp-port-unreachable");
    expect(b.deliveredTo).toBeNull();
    expect(b.explanation).toMatch(/^rejected on node1 by KUBE-SERVICES: default\/web:http has no endpoints \(icmp-port-unreachable\), so tester got ICMP port-unreachable from 10\.\d+\.\d+\.\d+ and reported ECONNREFUSED$/);
    expect(run.probe("none ready", 2).output).toMatch(/-A KUBE-SERVICES -d 10\.\d+\.\d+\.\d+\/32 -p tcp -m comment --comment "default\/web:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable/);
  });
});
