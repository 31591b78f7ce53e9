// Behaviour 13 — the views print what the real tools print on a node: `iptables-save`,
// `ip route`, `conntrack -L`, the bridge's hairpin flags and `ip link`, `kubectl get
// svc/endpoints/pods`, and `trace` follows one probe hop by hop.

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod web-1 on node1 ip 10.244.1.40 labels app=web listen tcp/8080
  pod web-2 on node1 ip 10.244.1.41 labels app=web not-ready listen tcp/8080
  client laptop 203.0.113.7
}

service web NodePort {
  selector app=web
  port http tcp 80 -> 8080 node-port 30080
  cluster-ip 10.96.0.60
}

scenario "views" {
  show iptables node1 nat KUBE-SERVICES
  show iptables node1 filter
  show routes node2
  send tcp from laptop to node2:30080
  show conntrack node2
  show conntrack node1
  show hairpin node1
  show bridge node1
  show pods
  show services
  show endpoints web
  trace tcp from laptop to node2:30080
  show iptables node1
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

/** A view's text; the tools end their output with a newline, which the comparisons leave out. */
const out = (n: number): string => (run.probe("views", n).output ?? "").replace(/\n$/, "");

describe("views", () => {
  it("show iptables NODE nat CHAIN: only that chain, in iptables-save form", () => {
    const t = out(0);
    expect(t.split("\n")[0]).toBe("*nat");
    expect(t.split("\n")[1]).toBe(":KUBE-SERVICES - [0:0]");
    expect(t).toMatch(/^-A KUBE-SERVICES -d 10\.96\.0\.60\/32 -p tcp -m comment --comment "default\/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-[A-Z0-9]{16}$/m);
    expect(t.split("\n").slice(2).every((l) => l.startsWith("-A KUBE-SERVICES "))).toBe(true);
    expect(t.split("\n").at(-1)).toBe('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  });

  it("show iptables NODE filter: the whole filter table, built-in chains with policy and counters", () => {
    const t = out(1);
    expect(t).toMatch(/^\*filter\n/);
    expect(t).toContain(":INPUT ACCEPT [0:0]");
    expect(t).toContain(":KUBE-FORWARD - [0:0]");
    expect(t).toContain('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT');
    expect(t).toMatch(/COMMIT$/);
    expect(t).not.toContain("*nat");
  });

  it("show iptables NODE: both tables, as iptables-save prints a node", () => {
    const t = out(12);
    expect(t.indexOf("*filter")).toBeGreaterThanOrEqual(0);
    expect(t.indexOf("*nat")).toBeGreaterThanOrEqual(0);
    expect(t.match(/^COMMIT$/gm)).toHaveLength(2);
  });

  it("show routes: ip route's layout, the other node's pod range via its node IP", () => {
    expect(out(2)).toBe(
      [
        "default via 192.168.1.1 dev eth0",
        "10.244.1.0/24 via 192.168.1.11 dev eth0",
        "10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1",
        "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.12",
      ].join("\n"),
    );
  });

  it("show conntrack after a NodePort connection: node2 holds DNAT and SNAT in one entry, node1 the forwarded flow", () => {
    const branch = run.branches("views", 3)[0]!;
    const sport = branch.trace[0]!.text.match(/203\.0\.113\.7:(\d+)/)![1];
    // kube-proxy's MASQUERADE --random-fully: the pod saw node2 from a port drawn at random.
    const masqPort = branch.sourceSeen!.port;
    expect(String(masqPort)).not.toBe(sport);
    expect(out(4)).toBe(
      // After the handshake's final ACK: ESTABLISHED, assured, kube-proxy's 24 h timeout.
      `tcp      6 86400 ESTABLISHED src=203.0.113.7 dst=192.168.1.12 sport=${sport} dport=30080 src=10.244.1.40 dst=192.168.1.12 sport=8080 dport=${masqPort} [ASSURED] mark=0 use=1`,
    );
    expect(out(5)).toMatch(/^tcp {6}6 86400 ESTABLISHED src=192\.168\.1\.12 dst=10\.244\.1\.40 sport=\d+ dport=8080 src=10\.244\.1\.40 dst=192\.168\.1\.12 sport=8080 dport=\d+ \[ASSURED\] mark=0 use=1$/);
  });

  it("show hairpin: one sysfs line per veth on the bridge (web-1, web-2, a CoreDNS pod)", () => {
    const lines = out(6).split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l).toMatch(/^\/sys\/class\/net\/veth\w+\/brport\/hairpin_mode: 1$/);
  });

  it("show bridge: ip link's cni0 line, not promiscuous by default", () => {
    expect(out(7)).toMatch(/^\d+: cni0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 .*\n {4}link\/ether ([0-9a-f]{2}:){5}[0-9a-f]{2} brd ff:ff:ff:ff:ff:ff$/);
    expect(out(7)).not.toContain("PROMISC");
  });

  it("show pods: kubectl get pods -o wide columns, READY 0/1 for the not-ready pod", () => {
    const t = out(8);
    expect(t.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+IP\s+NODE$/);
    expect(t).toMatch(/^default\s+web-1\s+1\/1\s+Running\s+10\.244\.1\.40\s+node1$/m);
    expect(t).toMatch(/^default\s+web-2\s+0\/1\s+Running\s+10\.244\.1\.41\s+node1$/m);
  });

  it("show services and show endpoints: kubectl's tables", () => {
    expect(out(9)).toMatch(/^default\s+web\s+NodePort\s+10\.96\.0\.60\s+<none>\s+80:30080\/TCP$/m);
    expect(out(9)).toMatch(/^default\s+kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP$/m);
    expect(out(10)).toBe("NAME   ENDPOINTS\nweb    10.244.1.40:8080");
  });

  it("trace: the branch header, every hop in order with hook columns and rules, the NATs, and the why", () => {
    const t = out(11);
    const lines = t.split("\n");
    expect(lines[0]).toMatch(/^branch web-1 \(p=1\.00\): connected to web-1, source seen 192\.168\.1\.12:\d+ \(node2's node IP\), reply from 192\.168\.1\.12:30080 \(node2's node IP\)$/);
    expect(lines[1]).toMatch(/^ {2}→ laptop {5}send {15}/);
    expect(t).toMatch(/\n {2}→ node2 {6}nat\/PREROUTING {5}KUBE-NODEPORTS #\d+: jump: -A KUBE-NODEPORTS -p tcp -m comment --comment "default\/web:http" -m tcp --dport 30080 -j KUBE-EXT-\w+\n/);
    expect(t).toMatch(/\n {2}→ node2 {6}PREROUTING {9}PREROUTING DNAT 192\.168\.1\.12:30080 → 10\.244\.1\.40:8080 \(KUBE-SEP-\w+\)\n/);
    expect(t).toMatch(/\n {2}→ node2 {6}POSTROUTING {8}POSTROUTING MASQUERADE 203\.0\.113\.7:\d+ → 192\.168\.1\.12:\d+ \(KUBE-POSTROUTING, out eth0, --random-fully: a random port\)\n/);
    expect(t).toMatch(/\n {2}← web-1 {6}reply {14}web-1 accepts from 192\.168\.1\.12:\d+, answers TCP SYN-ACK/);
    expect(t).toMatch(/\n {2}← laptop {5}deliver {12}laptop receives TCP SYN-ACK 192\.168\.1\.12:30080 → 203\.0\.113\.7:\d+\n/);
    expect(lines.at(-1)).toMatch(/^ {2}why: laptop connected to web-1 \(10\.244\.1\.40:8080\) after node2 DNATed 192\.168\.1\.12:30080 to 10\.244\.1\.40:8080/);
    // Hops come in the order the packets took them: request, then reply.
    const phases = lines.filter((l) => /^ {2}[→←]/.test(l)).map((l) => l[2]);
    expect(phases.indexOf("←")).toBeGreaterThan(0);
    expect(phases.slice(phases.indexOf("←")).every((p) => p === "←")).toBe(true);
  });
});
