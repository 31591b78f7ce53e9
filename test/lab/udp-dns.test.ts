// UDP echo, DNS over UDP and TCP, repeated probes for load balancing, and the host views
// (iptables-save, conntrack, routes) on the kernel engine.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelLab } from "../../src/lab/kernel-lab.js";
import { handTopology } from "./hand-topology.js";
import { labSkipReason } from "./lab-env.js";

describe.skipIf(labSkipReason !== null)("kernel engine: UDP, DNS and host views", () => {
  let lab: KernelLab;
  beforeAll(async () => {
    lab = await KernelLab.create(
      handTopology({
        extraListeners: [
          { protocol: "UDP", port: 7, app: "echo" },
          { protocol: "UDP", port: 53, app: "dns" },
          { protocol: "TCP", port: 53, app: "dns" },
        ],
      }),
      {
        dnsZone: {
          "nginx.default.svc.cluster.local": { A: ["10.96.0.100"] },
          "alias.default.svc.cluster.local": { CNAME: "nginx.default.svc.cluster.local" },
          "outside.default.svc.cluster.local": { CNAME: "example.org" },
        },
      },
    );
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it("UDP echo: the pod answers and reports the source it saw", async () => {
    const out = await lab.probe({ protocol: "udp", from: "b2", dst: "10.244.1.5", dport: 7 });
    expect(out.branches).toHaveLength(1);
    const b = out.branches[0]!;
    expect(b).toMatchObject({ result: "connected", signal: "udp-reply", deliveredTo: { host: "nginx-1", ip: "10.244.1.5", port: 7 } });
    expect(b.sourceSeen?.ip).toBe("10.244.2.5");
    expect(b.via).toEqual(["node2", "node1"]);
    expect(b.masqueraded).toBe(false);
  }, 30_000);

  it("UDP to a port nobody listens on: ICMP port unreachable, ECONNREFUSED", async () => {
    const out = await lab.probe({ protocol: "udp", from: "b2", dst: "10.244.1.5", dport: 9 });
    expect(out.branches[0]).toMatchObject({ result: "refused", signal: "icmp-port-unreachable", replyFrom: { ip: "10.244.1.5", port: 0 }, deliveredTo: null });
  }, 30_000);

  it("TCP to a port nobody listens on: RST, ECONNREFUSED", async () => {
    const out = await lab.probe({ protocol: "tcp", from: "b2", dst: "10.244.1.5", dport: 81 });
    expect(out.branches[0]).toMatchObject({ result: "refused", signal: "rst", replyFrom: { ip: "10.244.1.5", port: 81 } });
  }, 30_000);

  it("DNS over UDP: A record, and the server saw the query from the client pod", async () => {
    const out = await lab.probe({ protocol: "udp", from: "b2", dst: "10.244.1.5", dport: 53, dnsQuery: { name: "nginx.default.svc.cluster.local", type: "A" } });
    const b = out.branches[0]!;
    expect(b.result).toBe("connected");
    expect(b.dns).toEqual({ rcode: "NOERROR", answers: [{ type: "A", name: "nginx.default.svc.cluster.local", value: "10.96.0.100" }] });
    expect(b.deliveredTo).toMatchObject({ host: "nginx-1", port: 53 });
    expect(b.sourceSeen?.ip).toBe("10.244.2.5");
  }, 30_000);

  it("DNS over TCP: CNAME followed inside the zone; unknown names are NXDOMAIN", async () => {
    const alias = await lab.probe({ protocol: "tcp", from: "b2", dst: "10.244.1.5", dport: 53, dnsQuery: { name: "alias.default.svc.cluster.local", type: "A" } });
    expect(alias.branches[0]!.dns).toEqual({
      rcode: "NOERROR",
      answers: [
        { type: "CNAME", name: "alias.default.svc.cluster.local", value: "nginx.default.svc.cluster.local" },
        { type: "A", name: "nginx.default.svc.cluster.local", value: "10.96.0.100" },
      ],
    });
    const missing = await lab.probe({ protocol: "udp", from: "b2", dst: "10.244.1.5", dport: 53, dnsQuery: { name: "nope.default.svc.cluster.local", type: "A" } });
    expect(missing.branches[0]!.dns).toEqual({ rcode: "NXDOMAIN", answers: [] });
  }, 30_000);

  it("repeats a probe until every expected endpoint was seen and reports shares", async () => {
    const out = await lab.probe({ protocol: "tcp", from: "client", dst: "192.168.1.12", dport: 30080 }, { expectEndpoints: ["nginx-1"], minAttempts: 3 });
    expect(out.branches).toHaveLength(1);
    expect(out.branches[0]!.probability).toBe(1);
    expect(out.branches[0]!.explanation).toMatch(/Seen in 3 of 3 attempts/);
    expect(out.branches[0]!.choices).toEqual(["via node2 → node1", "nginx-1 10.244.1.5:80"]);
  }, 30_000);

  it("iptables-save shows the node's tables as the kernel holds them, without the lab's counters", async () => {
    await lab.probe({ protocol: "tcp", from: "node1", dst: "10.96.0.100", dport: 8080 });
    const saved = await lab.iptablesSave("node1");
    expect(saved).toContain("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
    expect(saved).toContain("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0");
    expect(saved).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.100\/32 -p tcp -m comment --comment "default\/nginx:http cluster IP" -m tcp --dport 8080/);
    expect(saved).not.toContain("SVS-PROBE");
    expect(saved).not.toContain("*mangle");
  }, 30_000);

  it("conntrack and routes of a node", async () => {
    await lab.probe({ protocol: "tcp", from: "client", dst: "192.168.1.11", dport: 30080 });
    const ct = await lab.conntrackList("node1");
    expect(ct).toMatch(/^tcp +6 +\d+ +\w+ src=203\.0\.113\.7 dst=192\.168\.1\.11 sport=\d+ dport=30080 src=10\.244\.1\.5 dst=10\.244\.1\.1 sport=80 /m);
    const routes = await lab.routesText("node1");
    expect(routes).toContain("default via 192.168.1.1 dev eth0");
    expect(routes).toContain("10.244.2.0/24 via 192.168.1.12 dev eth0");
    expect(routes).toMatch(/10\.244\.1\.0\/24 dev cni0 proto kernel scope link src 10\.244\.1\.1/);
  }, 30_000);
});
