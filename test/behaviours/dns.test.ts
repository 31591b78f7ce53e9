// Behaviour 8 — DNS through kube-dns: A records for ClusterIPs, pod IPs for headless Services,
// the pod's search path (`kubernetes.default`), busybox 1.28 nslookup output, and nothing once
// kube-dns is stopped.

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod db-0 on node1 ip 10.244.1.10 labels app=db listen tcp/5432
  pod db-1 on node2 ip 10.244.2.10 labels app=db listen tcp/5432
  pod db-2 on node2 ip 10.244.2.11 labels app=db not-ready listen tcp/5432
  pod client on node2 ip 10.244.2.20
}

service db {
  selector app=db
  port tcp 5432
  cluster-ip None
}

service api {
  selector app=db
  port tcp 5432
  cluster-ip 10.96.0.77
}

scenario "lookups" {
  resolve api from client
  resolve api.default.svc.cluster.local from client
  resolve db from client
  nslookup kubernetes.default from client
  resolve nope from client
  nslookup api from client
  send tcp from client to db.default.svc.cluster.local:5432
}

scenario "kube-dns stopped" {
  stop kube-dns
  nslookup kubernetes.default from client expect fails
  resolve api from client expect fails
  send tcp from client to api.default.svc.cluster.local:5432
  send tcp from client to api:5432
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("DNS", () => {
  it("a ClusterIP Service's short and full names answer its ClusterIP", () => {
    for (const n of [0, 1]) {
      const st = run.probe("lookups", n);
      expect(st.branches[0]!.dns?.rcode).toBe("NOERROR");
      expect(st.branches[0]!.dns?.answers.filter((a) => a.type === "A").map((a) => a.value)).toEqual(["10.96.0.77"]);
      expect(st.output).toBe("api.default.svc.cluster.local\n  A     10.96.0.77");
    }
  });

  it("the query is a UDP packet to kube-dns's ClusterIP, DNATed to a CoreDNS pod, which sees the pod's address", () => {
    const b = run.probe("lookups", 0).branches[0]!;
    expect(b.result).toBe("connected");
    expect(b.signal).toBe("udp-reply");
    expect(b.replyFrom).toEqual({ ip: "10.96.0.10", port: 53 });
    expect(b.deliveredTo?.host).toMatch(/^pod:kube-system\/coredns-\d$/);
    expect(b.deliveredTo?.port).toBe(53);
    expect(b.sourceSeen?.ip).toBe("10.244.2.20");
  });

  it("a headless Service answers with its ready pods only", () => {
    const st = run.probe("lookups", 2);
    expect(st.branches[0]!.dns?.answers.filter((a) => a.type === "A").map((a) => a.value).sort()).toEqual(["10.244.1.10", "10.244.2.10"]);
  });

  it("kubernetes.default resolves through the search path; nslookup prints what busybox 1.28 prints", () => {
    expect(run.probe("lookups", 3).output).toBe(
      [
        "Server:    10.96.0.10",
        "Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local",
        "",
        "Name:      kubernetes.default",
        "Address 1: 10.96.0.1 kubernetes.default.svc.cluster.local",
      ].join("\n"),
    );
    expect(run.probe("lookups", 5).output).toContain("Address 1: 10.96.0.77 api.default.svc.cluster.local");
  });

  it("an unknown name is NXDOMAIN for every search-path candidate", () => {
    const st = run.probe("lookups", 4);
    expect(st.branches[0]!.result).toBe("connected");
    expect(st.output).toBe(
      "nope: nope does not exist: kube-dns answered NXDOMAIN for nope.default.svc.cluster.local, nope.svc.cluster.local, nope.cluster.local, nope (client's search path)",
    );
  });

  it("sending to a headless name spreads over its pods' addresses (1/2 each), no DNAT", () => {
    const bs = run.branches("lookups", 6);
    expect(bs.map((b) => [b.deliveredTo?.host, b.probability, b.masqueraded])).toEqual([
      ["pod:default/db-0", 0.5, false],
      ["pod:default/db-1", 0.5, false],
    ]);
    expect(bs.every((b) => b.result === "connected" && b.choices[0]!.startsWith("address "))).toBe(true);
  });

  it("with kube-dns stopped: nslookup can't resolve, resolve fails saying why, sending by name cannot start", () => {
    const ns = run.probe("kube-dns stopped", 0);
    expect(ns.status).toBe("passed");
    expect(ns.output).toBe(["Server:    10.96.0.10", "Address 1: 10.96.0.10", "", "nslookup: can't resolve 'kubernetes.default'"].join("\n"));
    const res = run.probe("kube-dns stopped", 1);
    expect(res.status).toBe("passed");
    // No CoreDNS endpoint left: kube-proxy REJECTs the query (filter KUBE-SERVICES).
    expect(res.branches[0]!.explanation).toMatch(/^no DNS server answered client's query to 10\.96\.0\.10:53 \(refused \(icmp port unreachable\)\)/);
    expect(res.branches[0]!.explanation).toContain("kube-system/kube-dns:dns has no endpoints");
    const send = run.scenario("kube-dns stopped").steps[3]!;
    expect(send.status).toBe("failed");
    expect(send.error).toMatch(/^no DNS server answered client's query/);
    // The Service itself still works: a Service name in a probe is its ClusterIP, no DNS needed.
    expect(run.branches("kube-dns stopped", 3).every((b) => b.result === "connected")).toBe(true);
  });
});
