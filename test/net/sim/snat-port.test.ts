// The source port a source NAT gives a connection: kept without --random-fully (unless taken),
// drawn from the kernel's range with --random-fully (what kube-proxy's MASQUERADE rule says when
// iptables supports it), inside --to-ports when given.
import { describe, expect, it } from "vitest";
import { SimNetwork } from "../../../src/net/sim/index.js";
import type { Topology } from "../../../src/net/topology.js";
import { clientRouterNet, host } from "./nets.js";

/** client ── router (source NAT out of eth1 by `rule`) ── server listening on TCP 80. */
function natNet(rule: string): Topology {
  return clientRouterNet({ iptables: `*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth1 ${rule}\nCOMMIT\n` }, [
    host("s", { kind: "node", interfaces: [{ name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.11", prefix: 24 }] }], listeners: [{ protocol: "TCP", port: 80, app: "echo" }] }),
  ]);
}

const seen = (net: SimNetwork, sport?: number) => {
  const b = net.probe({ protocol: "tcp", from: "c", dst: "192.168.1.11", dport: 80, ...(sport !== undefined ? { sport } : {}) }).branches[0]!;
  expect(b.result).toBe("connected");
  return b.sourceSeen!;
};

describe("source NAT ports", () => {
  it("keeps the client's port without --random-fully", () => {
    const net = new SimNetwork(natNet("-j MASQUERADE"));
    expect(seen(net)).toEqual({ ip: "192.168.1.1", port: 40000 });
    expect(seen(net)).toEqual({ ip: "192.168.1.1", port: 40001 });
  });

  it("draws the port from 1024-65535 with --random-fully, the same way in every run, a free one each time", () => {
    const ports = (n: number) => {
      const net = new SimNetwork(natNet("-j MASQUERADE --random-fully"));
      return Array.from({ length: n }, () => seen(net));
    };
    const first = ports(20);
    for (const s of first) {
      expect(s.ip).toBe("192.168.1.1");
      expect(s.port).toBeGreaterThanOrEqual(1024);
      expect(s.port).toBeLessThanOrEqual(65535);
    }
    // Not the client's ports, and not just the next port each time.
    expect(first.filter((s, i) => s.port === 40000 + i)).toHaveLength(0);
    expect(new Set(first.map((s) => s.port)).size).toBe(20);
    expect(ports(20)).toEqual(first);
  });

  it("draws a low source port from the kernel's low ranges (600-1023, 1-511)", () => {
    const net = new SimNetwork(natNet("-j MASQUERADE --random-fully"));
    const p700 = seen(net, 700).port;
    expect(p700).toBeGreaterThanOrEqual(600);
    expect(p700).toBeLessThanOrEqual(1023);
    const p100 = seen(net, 100).port;
    expect(p100).toBeGreaterThanOrEqual(1);
    expect(p100).toBeLessThanOrEqual(511);
  });

  it("stays inside --to-ports, with and without --random-fully", () => {
    for (const rule of ["-p tcp -j MASQUERADE --to-ports 5000-5003", "-p tcp -j MASQUERADE --to-ports 5000-5003 --random-fully"]) {
      const net = new SimNetwork(natNet(rule));
      const got = Array.from({ length: 4 }, () => seen(net).port);
      expect(got.every((p) => p >= 5000 && p <= 5003)).toBe(true);
      expect(new Set(got).size).toBe(4);
    }
  });

  it("moves a kept port on when its reply tuple is taken (two clients' connections would clash)", () => {
    const net = new SimNetwork(natNet("-j MASQUERADE"));
    expect(seen(net, 45000).port).toBe(45000);
    // The same client port again (a new connection after the first, from the same source): the
    // first binding is still in conntrack, and its reply tuple is taken.
    const t = natNet("-j MASQUERADE");
    const two = new SimNetwork({ ...t, hosts: [...t.hosts, host("c2", { interfaces: [{ name: "eth0", segment: "out", addrs: [{ ip: "203.0.113.8", prefix: 24 }] }], routes: [{ dst: "0.0.0.0/0", via: ["203.0.113.1"] }] })] });
    const a = two.probe({ protocol: "tcp", from: "c", dst: "192.168.1.11", dport: 80, sport: 45000 }).branches[0]!.sourceSeen!;
    const b = two.probe({ protocol: "tcp", from: "c2", dst: "192.168.1.11", dport: 80, sport: 45000 }).branches[0]!.sourceSeen!;
    expect(a).toEqual({ ip: "192.168.1.1", port: 45000 });
    expect(b).toEqual({ ip: "192.168.1.1", port: 45001 });
  });
});
