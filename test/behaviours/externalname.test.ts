// Behaviour 6 — ExternalName: no ClusterIP, no kube-proxy rule, a CNAME from kube-dns.

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  pod app on node1
}

service my-service ExternalName {
  external-name my.database.example.com
}

scenario "dns" {
  resolve my-service.default.svc.cluster.local from app
  resolve my-service from app
  nslookup my-service from app
}

scenario "rules" {
  show iptables node1
  show services
}

scenario "sending to it" {
  send tcp from app to my-service:5432
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("ExternalName", () => {
  it("the full and the short name answer with a CNAME to the external host, through kube-dns", () => {
    for (const n of [0, 1]) {
      const st = run.probe("dns", n);
      expect(st.output).toMatch(/^my-service\.default\.svc\.cluster\.local\n {2}CNAME my\.database\.example\.com$/);
      const b = st.branches[0]!;
      expect(b.dns?.rcode).toBe("NOERROR");
      expect(b.dns?.answers).toContainEqual({ type: "CNAME", name: "my-service.default.svc.cluster.local", value: "my.database.example.com" });
      // The query itself was a UDP packet to kube-dns's ClusterIP, DNATed to a CoreDNS pod.
      expect(b.deliveredTo?.host).toMatch(/^pod:kube-system\/coredns-/);
    }
  });

  it("kube-proxy writes nothing for it, in any table", () => {
    const rules = run.probe("rules", 0).output!;
    expect(rules).toContain("*nat");
    expect(rules).toContain("*filter");
    expect(rules).not.toContain("my-service");
    expect(run.probe("rules", 1).output).toMatch(/default\s+my-service\s+ExternalName\s+<none>\s+my\.database\.example\.com\s+<none>/);
  });

  it("it has no address to send to: the step fails saying so", () => {
    const st = run.scenario("sending to it").steps[0]!;
    expect(st.error).toBe("Service my-service is an ExternalName Service: it has no address, only a DNS CNAME to my.database.example.com");
  });
});
