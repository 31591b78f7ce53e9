// The kernel engine's pure parts, tested without root: DNS wire format, the build plan,
// conntrack parsing and flow following, probe counters, and iptables-save filtering.

import { describe, expect, it } from "vitest";
import { followFlow, parseConntrack } from "../../src/lab/conntrack.js";
import { counterReplyFrom, failureSignal, parseProbeCounters, probeChainRestore } from "../../src/lab/counters.js";
import { answerFromZone, buildResponse, decodeMessage, encodeQuery, tcpFrame } from "../../src/lab/dns-wire.js";
import { stripProbeChain } from "../../src/lab/kernel-lab.js";
import { hostNamespace, LAB_NAMESPACE_PATTERN, newLabPrefix, segmentNamespace } from "../../src/lab/names.js";
import { LabTopologyError, planLab } from "../../src/lab/plan.js";
import { handTopology } from "./hand-topology.js";

describe("dns-wire", () => {
  const zone = {
    "web.default.svc.cluster.local": { A: ["10.96.0.10", "10.96.0.11"] },
    "alias.default.svc.cluster.local": { CNAME: "web.default.svc.cluster.local" },
    "ext.default.svc.cluster.local": { CNAME: "example.org" },
    "loop.a": { CNAME: "loop.b" },
    "loop.b": { CNAME: "loop.a" },
  };
  it("answers A queries from the zone, case-insensitively, with the question echoed", () => {
    const reply = decodeMessage(buildResponse(encodeQuery(4242, "WEB.default.svc.cluster.local.", "A"), zone));
    expect(reply.id).toBe(4242);
    expect(reply.response).toBe(true);
    expect(reply.rcode).toBe(0);
    expect(reply.questions).toEqual([{ name: "web.default.svc.cluster.local", type: 1 }]);
    expect(reply.answers.map((a) => a.value)).toEqual(["10.96.0.10", "10.96.0.11"]);
  });
  it("follows CNAMEs inside the zone for A, stops at the alias for CNAME, NXDOMAIN otherwise", () => {
    expect(answerFromZone(zone, "alias.default.svc.cluster.local", 1)!.map((a) => `${a.type} ${a.value}`)).toEqual([
      "CNAME web.default.svc.cluster.local",
      "A 10.96.0.10",
      "A 10.96.0.11",
    ]);
    expect(answerFromZone(zone, "alias.default.svc.cluster.local", 5)).toHaveLength(1);
    expect(answerFromZone(zone, "ext.default.svc.cluster.local", 1)).toEqual([{ type: "CNAME", name: "ext.default.svc.cluster.local", value: "example.org" }]);
    expect(answerFromZone(zone, "web.default.svc.cluster.local", 5)).toEqual([]);
    expect(answerFromZone(zone, "nope", 1)).toBeNull();
    expect(answerFromZone(zone, "loop.a", 1)!.length).toBe(8);
    expect(decodeMessage(buildResponse(encodeQuery(1, "nope.example", "A"), zone)).rcode).toBe(3);
  });
  it("frames TCP messages with a 2-byte length", () => {
    const q = encodeQuery(7, "a.b", "ANY");
    const framed = tcpFrame(q);
    expect(framed.readUInt16BE(0)).toBe(q.length);
    expect(framed.subarray(2)).toEqual(q);
  });
});

describe("names", () => {
  it("makes per-run prefixes the clean sweep recognises, and fits long names", () => {
    const p = newLabPrefix();
    expect(p).toMatch(/^svs[0-9a-f]{6}$/);
    expect(LAB_NAMESPACE_PATTERN.test(hostNamespace(p, "pod:default/web-1"))).toBe(true);
    expect(hostNamespace(p, "pod:default/web-1")).toBe(`${p}-pod_default_web-1`);
    const long = hostNamespace(p, `pod:default/${"x".repeat(200)}`);
    expect(long.length).toBeLessThanOrEqual(60);
    expect(long).not.toBe(hostNamespace(p, `pod:default/${"x".repeat(199)}y`));
    expect(segmentNamespace(p, "veth:default/web-1")).toBe(`${p}-seg_veth_default_web-1`);
  });
});

describe("plan", () => {
  it("creates every veth end directly inside lab namespaces, one switch namespace per switch segment", () => {
    const plan = planLab(handTopology(), "svsabc123");
    expect(plan.namespaces.map((n) => n.ns).sort()).toEqual(
      ["b2", "client", "nginx-1", "node1", "node2", "router", "seg_node-net"].map((n) => `svsabc123-${n}`).sort(),
    );
    expect(plan.links).toContain("link add eth0 netns svsabc123-client type veth peer name eth0 netns svsabc123-router");
    expect(plan.links).toContain("link add p1 netns svsabc123-seg_node-net type veth peer name eth0 netns svsabc123-node1");
    // Every link names both namespaces: nothing is created in the root namespace.
    for (const l of plan.links) expect(l).toMatch(/^link add \S+ netns svsabc123-\S+ type veth peer name \S+ netns svsabc123-\S+$/);
    const node1 = plan.namespaces.find((n) => n.host?.name === "node1")!.setup;
    expect(node1).toContain("echo 1 > /proc/sys/net/ipv4/ip_forward");
    expect(node1).toContain("echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables");
    expect(node1).toContain("link set dev veth-nginx-1 type bridge_slave hairpin on");
    expect(node1).toContain("route replace 10.244.2.0/24 via 192.168.1.12");
    expect(node1.trim().endsWith("iptables-restore")).toBe(true);
    expect(plan.namespaces.find((n) => n.host?.name === "client")!.setup).not.toContain("iptables-restore");
  });
  it("writes ECMP routes with nexthops and keeps a failed node's links down", () => {
    const topo = handTopology();
    const router = topo.hosts.find((h) => h.name === "router")!;
    router.routes.push({ dst: "198.51.100.10/32", via: ["192.168.1.11", "192.168.1.12"] });
    topo.hosts.find((h) => h.name === "node2")!.up = false;
    const plan = planLab(topo, "svsabc123");
    expect(plan.namespaces.find((n) => n.host?.name === "router")!.setup).toContain("route replace 198.51.100.10/32 nexthop via 192.168.1.11 nexthop via 192.168.1.12");
    const node2 = plan.namespaces.find((n) => n.host?.name === "node2")!.setup;
    expect(node2).not.toMatch(/link set dev eth0 up/);
    expect(node2).not.toContain("iptables-restore");
  });
  it("refuses interface names Linux refuses, and unknown segments or bridges", () => {
    const long = handTopology();
    long.hosts[0]!.interfaces[0]!.name = "a-very-long-interface";
    expect(() => planLab(long, "svsabc123")).toThrow(LabTopologyError);
    const seg = handTopology();
    seg.hosts[0]!.interfaces[0]!.segment = "nowhere";
    expect(() => planLab(seg, "svsabc123")).toThrow(/unknown segment "nowhere"/);
    const br = handTopology();
    br.hosts.find((h) => h.name === "node1")!.bridges = [];
    expect(() => planLab(br, "svsabc123")).toThrow(/no bridge "cni0"/);
  });
});

describe("conntrack", () => {
  const node2 = parseConntrack(
    [
      "ipv4     2 tcp      6 117 SYN_SENT src=203.0.113.7 dst=192.168.1.12 sport=20001 dport=30080 [UNREPLIED] src=10.244.1.5 dst=192.168.1.12 sport=80 dport=41234 mark=0 zone=0 use=2",
      "ipv4     2 udp      17 29 src=10.244.2.5 dst=10.244.1.5 sport=20002 dport=7 src=10.244.1.5 dst=10.244.2.5 sport=7 dport=20002 mark=0 zone=0 use=2",
    ].join("\n"),
  );
  const node1 = parseConntrack(
    [
      "ipv4     2 tcp      6 117 SYN_RECV src=192.168.1.12 dst=10.244.1.5 sport=41234 dport=80 src=10.244.1.5 dst=192.168.1.12 sport=80 dport=41234 mark=0 zone=0 use=2",
      "ipv4     2 udp      17 29 src=10.244.2.5 dst=10.244.1.5 sport=20002 dport=7 src=10.244.1.5 dst=10.244.2.5 sport=7 dport=20002 mark=0 zone=0 use=2",
    ].join("\n"),
  );
  it("parses /proc/net/nf_conntrack lines into tuples, state and flags", () => {
    expect(node2[0]).toMatchObject({
      protocol: "tcp",
      state: "SYN_SENT",
      original: { src: "203.0.113.7", dst: "192.168.1.12", sport: 20001, dport: 30080 },
      reply: { src: "10.244.1.5", dst: "192.168.1.12", sport: 80, dport: 41234 },
      flags: ["UNREPLIED"],
    });
    expect(node2[0]!.text.startsWith("tcp 6 117 SYN_SENT src=203.0.113.7")).toBe(true);
  });
  it("follows a NATed flow from node to node and sees the rewrites", () => {
    const hops = followFlow("tcp", { src: "", sport: 20001, dst: "192.168.1.12", dport: 30080 }, new Map([["node1", node1], ["node2", node2]]));
    expect(hops.map((h) => [h.host, h.dnat, h.snat])).toEqual([
      ["node2", true, true],
      ["node1", false, false],
    ]);
    expect(hops[0]!.out).toEqual({ src: "192.168.1.12", sport: 41234, dst: "10.244.1.5", dport: 80 });
  });
  it("orders hops that do not rewrite the flow by adjacency", () => {
    const tables = new Map([["node1", node1], ["node2", node2]]);
    const adjacent = (a: string, b: string) => (a === "b2" && b === "node2") || [a, b].sort().join() === "node1,node2";
    const hops = followFlow("udp", { src: "10.244.2.5", sport: 20002, dst: "10.244.1.5", dport: 7 }, tables, "b2", adjacent);
    expect(hops.map((h) => h.host)).toEqual(["node2", "node1"]);
  });
});

describe("probe counters", () => {
  it("writes one restore with a jump only the first time", () => {
    const first = probeChainRestore(["10.244.1.5"], [{ protocol: "tcp", port: 80 }], true);
    expect(first).toContain("-I INPUT 1 -j SVS-PROBE");
    expect(first).toContain('-A SVS-PROBE-SYNACK -s 10.244.1.5/32 -m comment --comment "svs syn-ack-src=10.244.1.5"');
    expect(probeChainRestore(["10.244.1.5"], [], false)).not.toContain("-I INPUT");
  });
  const listing = `Chain SVS-PROBE (1 references)
    pkts      bytes target     prot opt in     out     source               destination
       2      120            6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x12/0x12 /* svs kind=syn-ack */
       1       40            6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp flags:0x04/0x04 /* svs kind=rst */
       1       68            1    --  *      *       0.0.0.0/0            0.0.0.0/0            icmptype 3 code 0 /* svs kind=icmp-net-unreachable */
Chain SVS-PROBE-SYNACK (1 references)
       2      120            0    --  *      *       10.244.1.5           0.0.0.0/0            /* svs syn-ack-src=10.244.1.5 */
       0        0            0    --  *      *       203.0.113.7          0.0.0.0/0            /* svs syn-ack-src=203.0.113.7 */
       2      120            6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp spt:80 /* svs syn-ack-sport=80 */
Chain SVS-PROBE-ICMP (1 references)
       1       68            0    --  *      *       203.0.113.1          0.0.0.0/0            /* svs icmp-src=203.0.113.1 */
`;
  it("picks the answer consistent with the errno and attributes it to its own sender", () => {
    const c = parseProbeCounters(listing);
    // Row 2a: the connect timed out; the ICMP answered the client's RST, not the SYN.
    expect(failureSignal(c, "timeout", "tcp")).toBe("syn-ack");
    expect(counterReplyFrom(c, new Set(["203.0.113.7"]), "syn-ack")).toEqual({ ip: "10.244.1.5", port: 80 });
    expect(failureSignal(c, "net-unreachable", "tcp")).toBe("icmp-net-unreachable");
    expect(counterReplyFrom(c, new Set(), "icmp-net-unreachable")).toEqual({ ip: "203.0.113.1", port: 0 });
    expect(failureSignal(c, "host-unreachable", "tcp")).toBe("none");
    expect(failureSignal(c, "timeout", "udp")).toBe("none");
  });
});

describe("iptables-save filtering", () => {
  it("drops the lab's chains and a mangle table that exists only for them", () => {
    const saved = [
      "# Generated by iptables-save v1.8.9 (nf_tables) on Thu",
      "*mangle",
      ":PREROUTING ACCEPT [0:0]",
      ":INPUT ACCEPT [0:0]",
      ":SVS-PROBE - [0:0]",
      "-A INPUT -j SVS-PROBE",
      '-A SVS-PROBE -p udp -m comment --comment "svs kind=udp-reply"',
      "COMMIT",
      "# Completed on Thu",
      "# Generated by iptables-save v1.8.9 (nf_tables) on Thu",
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      "-A PREROUTING -j KUBE-SERVICES",
      "COMMIT",
      "# Completed on Thu",
      "",
    ].join("\n");
    const out = stripProbeChain(saved, new Set(["*nat"]));
    expect(out).not.toContain("mangle");
    expect(out).not.toContain("SVS-PROBE");
    expect(out).toContain("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT");
    expect(out.endsWith("\n")).toBe(true);
    // A mangle table the node's own rules loaded stays, minus the lab's lines.
    expect(stripProbeChain(saved, new Set(["*nat", "*mangle"]))).toContain("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\nCOMMIT");
  });
});
