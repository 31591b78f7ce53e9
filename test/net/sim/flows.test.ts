// Remembered table runs: a repeat of the same fields gets the same branches; anything the
// rules can read tells runs apart; rules reading the source port or `-m recent` lists are never
// remembered (a probe's source port is new every time).
import { describe, expect, it } from "vitest";
import { loadRuleset, runTable } from "../../../src/net/netfilter/index.js";
import type { PacketView } from "../../../src/net/netfilter/api.js";
import { CT } from "../../../src/net/netfilter/api.js";
import { flowCacheFor } from "../../../src/net/sim/flows.js";
import { SimHost } from "../../../src/net/sim/host.js";
import { SimNetwork } from "../../../src/net/sim/index.js";
import type { HostSpec, Topology } from "../../../src/net/topology.js";

const sys = { ipForward: true, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 as const };
const spec = (name: string, over: Partial<HostSpec>): HostSpec => ({ name, kind: "node", interfaces: [], bridges: [], routes: [], sysctls: sys, iptables: null, listeners: [], up: true, ...over });
const host = new SimHost(spec("n", { interfaces: [{ name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.11", prefix: 24 }] }] }));

const NAT = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SVC - [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-SVC
-A KUBE-SVC -p tcp -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.244.1.2:8080
-A KUBE-SVC -p tcp -j DNAT --to-destination 10.244.2.2:8080
COMMIT
`;

const view = (over: Partial<PacketView> = {}): PacketView => ({ src: 0x0af40305, dst: 0x0a60000a, proto: 6, sport: 40000, dport: 80, mark: 0, inIface: "eth0", outIface: null, ...over });

describe("remembered table runs", () => {
  it("answer a repeat of the same fields with the branches of the first run, whatever the source port", () => {
    const rs = loadRuleset(NAT);
    const flows = flowCacheFor(rs, host)!;
    expect(flows).not.toBeNull();
    const first = runTable(rs, "nat", "PREROUTING", view(), { isLocal: () => false, addrType: () => "UNICAST", ctstate: CT.NEW, recent: new Map(), now: 0 });
    expect(first).toHaveLength(2);
    flows.set("nat", "PREROUTING", view(), CT.NEW, first);
    expect(flows.get("nat", "PREROUTING", view({ sport: 51234 }), CT.NEW)).toBe(first);
  });

  it("tell apart runs that differ in anything the rules can read", () => {
    const rs = loadRuleset(NAT);
    const flows = flowCacheFor(rs, host)!;
    const branches = runTable(rs, "nat", "PREROUTING", view(), { isLocal: () => false, addrType: () => "UNICAST", ctstate: CT.NEW, recent: new Map(), now: 0 });
    flows.set("nat", "PREROUTING", view(), CT.NEW, branches);
    const others: Array<[Partial<PacketView>, number, string, string]> = [
      [{ src: 0x0af40306 }, CT.NEW, "nat", "PREROUTING"],
      [{ dst: 0x0a60000b }, CT.NEW, "nat", "PREROUTING"],
      [{ proto: 17 }, CT.NEW, "nat", "PREROUTING"],
      [{ dport: 81 }, CT.NEW, "nat", "PREROUTING"],
      [{ mark: 0x4000 }, CT.NEW, "nat", "PREROUTING"],
      [{ inIface: "cni0" }, CT.NEW, "nat", "PREROUTING"],
      [{ outIface: "eth0" }, CT.NEW, "nat", "PREROUTING"],
      [{ physInIface: "veth1" }, CT.NEW, "nat", "PREROUTING"],
      [{}, CT.ESTABLISHED, "nat", "PREROUTING"],
      [{}, CT.NEW, "filter", "PREROUTING"],
      [{}, CT.NEW, "nat", "OUTPUT"],
    ];
    for (const [over, ct, table, hook] of others) expect(flows.get(table as "nat", hook as "OUTPUT", view(over), ct)).toBeUndefined();
    // Another host (its own addresses for addrtype) has its own runs.
    const other = new SimHost(spec("m", { interfaces: [{ name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.12", prefix: 24 }] }] }));
    expect(flowCacheFor(rs, other)!.get("nat", "PREROUTING", view(), CT.NEW)).toBeUndefined();
  });

  it("are never kept for rules that read the source port or recent lists", () => {
    const sport = loadRuleset(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --sport 40001 -j DROP\nCOMMIT\n`);
    const sports = loadRuleset(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --ports 40001,40002 -j DROP\nCOMMIT\n`);
    const recent = loadRuleset(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m recent --rcheck --seconds 60 --name x -j DROP\nCOMMIT\n`);
    const dports = loadRuleset(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m multiport --dports 80,443 -j DROP\nCOMMIT\n`);
    expect(flowCacheFor(sport, host)).toBeNull();
    expect(flowCacheFor(sports, host)).toBeNull();
    expect(flowCacheFor(recent, host)).toBeNull();
    expect(flowCacheFor(dports, host)).not.toBeNull();
  });

  it("leave a probe's verdict to its own source port when a rule reads it", () => {
    // client ── router (drops TCP from source port 40001) ── server: the second probe's port.
    const topo: Topology = {
      hosts: [
        spec("c", { kind: "client", sysctls: { ...sys, ipForward: false }, interfaces: [{ name: "eth0", segment: "out", addrs: [{ ip: "203.0.113.7", prefix: 24 }] }], routes: [{ dst: "0.0.0.0/0", via: ["203.0.113.1"] }] }),
        spec("r", {
          kind: "router",
          interfaces: [
            { name: "eth0", segment: "out", addrs: [{ ip: "203.0.113.1", prefix: 24 }] },
            { name: "eth1", segment: "lan", addrs: [{ ip: "192.168.1.1", prefix: 24 }] },
          ],
          iptables: `*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -m tcp --sport 40001 -j DROP\nCOMMIT\n`,
        }),
        spec("s", { interfaces: [{ name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.11", prefix: 24 }] }], routes: [{ dst: "0.0.0.0/0", via: ["192.168.1.1"] }], listeners: [{ protocol: "TCP", port: 80, app: "echo" }] }),
      ],
      segments: [
        { name: "out", kind: "switch" },
        { name: "lan", kind: "switch" },
      ],
    };
    const net = new SimNetwork(topo);
    const results = [1, 2, 3].map(() => net.probe({ protocol: "tcp", from: "c", dst: "192.168.1.11", dport: 80 }).branches[0]!.result);
    expect(results).toEqual(["connected", "timeout", "connected"]);
  });
});
