import { describe, expect, it } from "vitest";
import { fmtIp, ip, parseCidr, parseIp } from "../../../src/net/sim/addr.js";
import { SimHost } from "../../../src/net/sim/host.js";
import type { HostSpec } from "../../../src/net/topology.js";

const base = (over: Partial<HostSpec>): HostSpec => ({
  name: "h",
  kind: "router",
  interfaces: [],
  bridges: [],
  routes: [],
  sysctls: { ipForward: true, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 },
  iptables: null,
  listeners: [],
  up: true,
  ...over,
});

describe("addresses", () => {
  it("parses and prints dotted quads as uint32", () => {
    expect(ip("192.168.1.12")).toBe(0xc0a8010c);
    expect(fmtIp(0xc0a8010c)).toBe("192.168.1.12");
    expect(parseIp("1.2.3")).toBe(-1);
    expect(parseIp("1.2.3.256")).toBe(-1);
    expect(parseCidr("10.244.1.7/24")).toEqual({ net: ip("10.244.1.0"), mask: 0xffffff00, prefix: 24 });
  });
});

describe("a host's own addresses", () => {
  it("are local, whether the host has a few (a list) or many (a set), and nothing else is but 127/8", () => {
    for (const n of [1, 3, 8, 9, 40]) {
      const addrs = Array.from({ length: n }, (_, i) => ({ ip: `192.168.${i}.${200 + (i % 50)}`, prefix: 24 }));
      const h = new SimHost(base({ interfaces: [{ name: "eth0", segment: "lan", addrs: addrs.slice(0, 1) }, { name: "eth1", segment: "lan2", addrs: addrs.slice(1) }] }));
      for (const a of addrs) expect(h.isLocal(ip(a.ip))).toBe(true);
      expect(h.isLocal(ip("127.0.0.53"))).toBe(true);
      expect(h.isLocal(ip("192.168.0.1"))).toBe(false);
      expect(h.isLocal(ip("10.0.0.1"))).toBe(false);
      expect(h.addrType(ip(addrs[n - 1]!.ip))).toBe("LOCAL");
    }
  });
});

describe("routing", () => {
  const host = new SimHost(
    base({
      interfaces: [
        { name: "eth0", segment: "a", addrs: [{ ip: "192.168.1.11", prefix: 24 }] },
        { name: "eth1", segment: "b", addrs: [{ ip: "10.0.0.1", prefix: 8 }] },
      ],
      routes: [
        { dst: "0.0.0.0/0", via: ["192.168.1.1"] },
        { dst: "10.244.2.0/24", via: ["192.168.1.12"] },
        { dst: "198.51.100.0/24", via: ["192.168.1.21", "192.168.1.22"] },
        { dst: "172.16.0.0/12", via: ["203.0.113.1"] },
      ],
    }),
  );

  it("prefers the longest prefix", () => {
    const r = host.routes.lookup(ip("10.244.2.5"));
    expect(r.kind).toBe("unicast");
    if (r.kind !== "unicast") return;
    expect(fmtIp(r.route.hops[0]!.gw)).toBe("192.168.1.12");
    const c = host.routes.lookup(ip("10.9.9.9"));
    expect(c.kind === "unicast" && c.route.connected && c.route.hops[0]!.dev.name).toBe("eth1");
    const d = host.routes.lookup(ip("8.8.8.8"));
    expect(d.kind === "unicast" && fmtIp(d.route.hops[0]!.gw)).toBe("192.168.1.1");
  });

  it("keeps every ECMP next hop", () => {
    const r = host.routes.lookup(ip("198.51.100.10"));
    expect(r.kind === "unicast" && r.route.hops.map((h) => fmtIp(h.gw))).toEqual(["192.168.1.21", "192.168.1.22"]);
  });

  it("answers local for its own addresses and 127.0.0.0/8", () => {
    expect(host.routes.lookup(ip("192.168.1.11")).kind).toBe("local");
    expect(host.routes.lookup(ip("127.3.4.5")).kind).toBe("local");
  });

  it("refuses a gateway on no connected subnet, and then has no route", () => {
    expect(host.refusedRoutes).toEqual(["172.16.0.0/12 via 203.0.113.1: gateway not on a connected subnet"]);
    const lonely = new SimHost(base({ interfaces: [{ name: "eth0", segment: "a", addrs: [{ ip: "192.168.1.11", prefix: 24 }] }] }));
    expect(lonely.routes.lookup(ip("8.8.8.8")).kind).toBe("unreachable");
  });

  it("prints like ip route", () => {
    expect(host.routes.text()).toBe(
      [
        "default via 192.168.1.1 dev eth0",
        "10.0.0.0/8 dev eth1 proto kernel scope link src 10.0.0.1",
        "10.244.2.0/24 via 192.168.1.12 dev eth0",
        "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11",
        "198.51.100.0/24",
        "\tnexthop via 192.168.1.21 dev eth0 weight 1",
        "\tnexthop via 192.168.1.22 dev eth0 weight 1",
        "",
      ].join("\n"),
    );
  });

  it("picks the source address of the egress device, and classifies addresses", () => {
    const r = host.routes.lookup(ip("8.8.8.8"));
    if (r.kind !== "unicast") throw new Error("route expected");
    expect(fmtIp(host.selectSource(r.route, r.route.hops[0]!.gw))).toBe("192.168.1.11");
    expect(host.addrType(ip("192.168.1.255"))).toBe("BROADCAST");
    expect(host.addrType(ip("224.0.0.1"))).toBe("MULTICAST");
    expect(host.addrType(ip("10.0.0.1"))).toBe("LOCAL");
    expect(host.addrType(ip("8.8.8.8"))).toBe("UNICAST");
  });
});
