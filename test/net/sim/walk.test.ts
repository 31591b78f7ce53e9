// The walk's mechanisms one at a time, on small hand-written networks and rules.
import { describe, expect, it } from "vitest";
import { SimNetwork } from "../../../src/net/sim/index.js";
import type { HostSpec, Topology } from "../../../src/net/topology.js";
import { labTopology, CLIENT, B2 } from "./kernel-lab-topology.js";
import { clientRouterNet, host } from "./nets.js";

/** client ── router (ECMP to s1, s2 for 10.9.9.9) ── s1, s2 both own 10.9.9.9 on a loopback-like second address. */
function ecmpNet(udp = false): Topology {
  const server = (name: string, ip: string): HostSpec =>
    host(name, {
      kind: "node",
      interfaces: [
        { name: "eth0", segment: "lan", addrs: [{ ip, prefix: 24 }] },
        { name: "dummy0", segment: `d-${name}`, addrs: [{ ip: "10.9.9.9", prefix: 32 }] },
      ],
      routes: [{ dst: "0.0.0.0/0", via: ["192.168.1.1"] }],
      listeners: udp ? [] : [{ protocol: "TCP", port: 80, app: "echo" }],
    });
  return clientRouterNet({ routes: [{ dst: "10.9.9.9/32", via: ["192.168.1.11", "192.168.1.12"] }] }, [server("s1", "192.168.1.11"), server("s2", "192.168.1.12")]);
}

describe("routing in the walk", () => {
  it("forks an ECMP route into equally likely branches, each named by its next hop", () => {
    const out = new SimNetwork(ecmpNet()).probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 });
    expect(out.branches.map((b) => [b.choices, b.probability, b.result, b.deliveredTo?.host])).toEqual([
      [["r → s1"], 0.5, "connected", "s1"],
      [["r → s2"], 0.5, "connected", "s2"],
    ]);
  });

  it("builds each topology's own hosts: another wiring (a host down, a listener gone) is never an earlier one's", () => {
    const probe = (t: Topology) => new SimNetwork(t).probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches.map((b) => [b.result, b.deliveredTo?.host ?? null]);
    const both = ecmpNet();
    const s2Down: Topology = { ...both, hosts: both.hosts.map((h) => (h.name === "s2" ? { ...h, up: false } : h)) };
    const noListener: Topology = { ...both, hosts: both.hosts.map((h) => (h.name === "s1" ? { ...h, listeners: [] } : h)) };
    expect(probe(both)).toEqual([["connected", "s1"], ["connected", "s2"]]);
    expect(probe(s2Down)).toEqual([["connected", "s1"], ["host-unreachable", null]]);
    expect(probe(noListener)).toEqual([["refused", null], ["connected", "s2"]]);
    // The same wiring again (a new Topology object, other rules text): the same answers.
    expect(probe({ ...both, hosts: both.hosts.map((h) => ({ ...h })) })).toEqual(probe(both));
  });

  it("answers a UDP datagram to a closed port with ICMP port unreachable (ECONNREFUSED)", () => {
    const out = new SimNetwork(ecmpNet(true)).probe({ protocol: "udp", from: "c", dst: "192.168.1.11", dport: 53 });
    expect(out.branches).toHaveLength(1);
    expect(out.branches[0]).toMatchObject({ result: "refused", signal: "icmp-port-unreachable", replyFrom: { ip: "192.168.1.11", port: 0 } });
  });

  it("answers a TCP SYN to a closed port with RST", () => {
    const out = new SimNetwork(ecmpNet(true)).probe({ protocol: "tcp", from: "c", dst: "192.168.1.12", dport: 81 });
    expect(out.branches[0]).toMatchObject({ result: "refused", signal: "rst", replyFrom: { ip: "192.168.1.12", port: 81 } });
  });

  it("a host that is down answers no ARP: the router reports host unreachable", () => {
    const t = ecmpNet();
    t.hosts.find((h) => h.name === "s1")!.up = false;
    const out = new SimNetwork(t).probe({ protocol: "tcp", from: "c", dst: "192.168.1.11", dport: 80 });
    expect(out.branches[0]).toMatchObject({ result: "host-unreachable", signal: "icmp-host-unreachable" });
    expect(out.branches[0]!.explanation).toMatch(/nobody answered r's ARP for 192\.168\.1\.11/);
  });

  it("asks ARP again for each new address out of the same on-link hop (each hop remembers only its last answer)", () => {
    // r reaches 192.168.1.11, .12 (up) and .13 (nobody) by the same connected route, gw 0.
    const net = new SimNetwork(ecmpNet());
    const to = (dst: string) => {
      const b = net.probe({ protocol: "tcp", from: "c", dst, dport: 80 }).branches[0]!;
      return [b.result, b.deliveredTo?.host ?? null];
    };
    expect(["192.168.1.11", "192.168.1.13", "192.168.1.12", "192.168.1.12", "192.168.1.13", "192.168.1.11"].map(to)).toEqual([
      ["connected", "s1"],
      ["host-unreachable", null],
      ["connected", "s2"],
      ["connected", "s2"],
      ["host-unreachable", null],
      ["connected", "s1"],
    ]);
  });

  it("names each load-balancing branch by the chain that DNATed it, probe after probe", () => {
    const rules = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":SEP-A - [0:0]",
      ":SEP-B - [0:0]",
      "-A PREROUTING -d 10.9.9.10/32 -p tcp -m statistic --mode random --probability 0.5 -j SEP-A",
      "-A PREROUTING -d 10.9.9.10/32 -p tcp -j SEP-B",
      "-A SEP-A -p tcp -j DNAT --to-destination 192.168.1.11:80",
      "-A SEP-B -p tcp -j DNAT --to-destination 192.168.1.12:80",
      "COMMIT",
      "",
    ].join("\n");
    const t = ecmpNet();
    t.hosts.find((h) => h.name === "r")!.iptables = rules;
    const net = new SimNetwork(t);
    for (let i = 0; i < 3; i++) {
      const out = net.probe({ protocol: "tcp", from: "c", dst: "10.9.9.10", dport: 80 });
      expect(out.branches.map((b) => [b.choices, b.probability, b.result, b.deliveredTo?.host])).toEqual([
        [["SEP-A 192.168.1.11:80"], 0.5, "connected", "s1"],
        [["SEP-B 192.168.1.12:80"], 0.5, "connected", "s2"],
      ]);
    }
  });

  it("a sender without a route fails at once with ENETUNREACH", () => {
    const out = new SimNetwork(ecmpNet()).probe({ protocol: "tcp", from: "r", dst: "10.1.2.3", dport: 80 });
    expect(out.branches[0]).toMatchObject({ result: "net-unreachable", signal: "none" });
  });
});

describe("conntrack across probes", () => {
  it("binds NAT on the first packet: a repeated SYN on the same tuple skips the nat table", () => {
    const net = new SimNetwork(labTopology({ masquerade: false }));
    const req = { protocol: "tcp" as const, from: CLIENT, dst: "192.168.1.12", dport: 30080, sport: 45000 };
    const first = net.probe(req);
    expect(first.branches[0]!.result).toBe("timeout");
    expect(net.conntrackList("node2")).toContain("src=203.0.113.7 dst=192.168.1.12 sport=45000 dport=30080 [UNREPLIED] src=10.244.1.5 dst=203.0.113.7 sport=80 dport=45000");
    const again = net.probe(req);
    const natRules = again.branches[0]!.trace.filter((e) => e.host === "node2" && e.table === "nat" && e.hook === "PREROUTING");
    expect(natRules).toEqual([]);
    expect(again.branches[0]!.trace.some((e) => e.kind === "conntrack" && e.host === "node2" && /original direction/.test(e.text))).toBe(true);
  });

  it("gives each probe a fresh source port", () => {
    const net = new SimNetwork(labTopology({}));
    const a = net.probe({ protocol: "tcp", from: B2, dst: "10.96.0.100", dport: 8080 });
    const b = net.probe({ protocol: "tcp", from: B2, dst: "10.96.0.100", dport: 8080 });
    expect(a.branches[0]!.sourceSeen!.port).not.toBe(b.branches[0]!.sourceSeen!.port);
    expect(net.conntrackList("node2").trim().split("\n")).toHaveLength(2);
  });
});

describe("a branch's trace", () => {
  it("reads as a plain field: in JSON, in copies and across a structured clone (worker threads)", () => {
    const b = new SimNetwork(ecmpNet()).probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches[0]!;
    expect(b.trace.length).toBeGreaterThan(3);
    expect(b.trace[0]).toMatchObject({ phase: "request", host: "c", kind: "send" });
    expect(JSON.parse(JSON.stringify(b)).trace).toEqual(b.trace);
    expect({ ...b }.trace).toEqual(b.trace);
    expect(structuredClone(b).trace).toEqual(b.trace);
    // No hidden bookkeeping leaks into what reports see.
    expect(Object.keys(JSON.parse(JSON.stringify(b)))).toEqual(Object.keys(b));
  });

  it("has its explanation, made when first read, in the same place: JSON, copies, structured clones", () => {
    const b = new SimNetwork(ecmpNet()).probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches[0]!;
    expect(b.result).toBe("connected");
    const keys = ["probability", "choices", "result", "signal", "replyFrom", "deliveredTo", "sourceSeen", "via", "masqueraded", "explanation", "trace"];
    expect(Object.keys(b)).toEqual(keys);
    expect(b.explanation).toMatch(/^c connected to (s\d) \(10\.9\.9\.9:80\), so \1 saw the connection come from 203\.0\.113\.7$/);
    expect(JSON.parse(JSON.stringify(b)).explanation).toBe(b.explanation);
    expect({ ...b }.explanation).toBe(b.explanation);
    expect(structuredClone(b).explanation).toBe(b.explanation);
    b.explanation = "replaced";
    expect(b.explanation).toBe("replaced");
  });

  it("is one accessor shared by every branch (per-branch closures kept every trace of a run alive)", () => {
    const net = new SimNetwork(ecmpNet());
    const a = net.probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches;
    const b = net.probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches;
    const getters = [...a, ...b].map((x) => Object.getOwnPropertyDescriptor(x, "trace")!.get);
    expect(getters.every((g) => typeof g === "function" && g === getters[0])).toBe(true);
  });

  it("keeps the events before a fork in both branches, in order, and each branch's after it as its own", () => {
    const [b1, b2] = new SimNetwork(ecmpNet()).probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches;
    const t1 = b1!.trace.map((e) => e.text);
    const t2 = b2!.trace.map((e) => e.text);
    let shared = 0;
    while (shared < t1.length && t1[shared] === t2[shared]) shared++;
    // c sends, routes, crosses to r; r routes: up to the ECMP choice, the same events.
    expect(shared).toBeGreaterThan(2);
    expect(t1[0]).toMatch(/^c sends TCP SYN/);
    expect(t1.slice(shared).some((t) => t.includes("s1"))).toBe(true);
    expect(t2.slice(shared).some((t) => t.includes("s2"))).toBe(true);
    expect(t1.slice(shared).some((t) => t.includes("s2"))).toBe(false);
    expect(t1.at(-1)).toMatch(/^c receives TCP SYN-ACK/);
  });

  it("can be replaced (the executor empties a passing step's) and stays replaced", () => {
    const [b1, b2] = new SimNetwork(ecmpNet()).probe({ protocol: "tcp", from: "c", dst: "10.9.9.9", dport: 80 }).branches;
    b1!.trace = [];
    expect(b1!.trace).toEqual([]);
    // Each branch keeps its own trace.
    expect(b2!.trace.some((e) => e.host === "s2")).toBe(true);
    expect(b2!.trace.some((e) => e.host === "s1")).toBe(false);
  });
});
