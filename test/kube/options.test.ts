// One case per Service type and kube-proxy option: the lines kube-proxy writes (or must not).

import { describe, expect, it } from "vitest";
import { writeRestore, type ProxierConfig } from "../../src/kube/proxier/index.js";
import type { Endpoint, EndpointSlice, Service, ServiceSpec } from "../../src/world/k8s.js";
import { FAKE_PROXIER } from "./fake-proxier.js";

const cfg0: ProxierConfig = { ...FAKE_PROXIER, nodeIPs: ["192.168.0.2"] };

const svc = (spec: ServiceSpec, status?: Service["status"]): Service => ({
  metadata: { name: "svc1", namespace: "ns1" },
  spec: { clusterIP: "172.30.0.41", ports: [{ name: "p80", port: 80, protocol: "TCP" }], ...spec },
  ...(status ? { status } : {}),
});
const slice = (endpoints: Endpoint[], name: string | null = "p80", addressType: "IPv4" | "IPv6" = "IPv4"): EndpointSlice => ({
  metadata: { name: "svc1-1", namespace: "ns1", labels: { "kubernetes.io/service-name": "svc1" } },
  addressType,
  endpoints,
  ports: [{ name, port: 80, protocol: "TCP" }],
});
const lb = (ip: string, ipMode?: "VIP" | "Proxy"): Service["status"] => ({ loadBalancer: { ingress: [{ ip, ...(ipMode ? { ipMode } : {}) }] } });

interface Case {
  name: string;
  services: Service[];
  slices: EndpointSlice[];
  cfg?: Partial<ProxierConfig>;
  present?: string[];
  absent?: string[];
}

const CASES: Case[] = [
  {
    name: "ClusterIP with an endpoint",
    services: [svc({ type: "ClusterIP" })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    present: ['-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O'],
  },
  {
    name: "a Service without type is not defaulted (externalIPs then do not make eTP Local count)",
    services: [svc({ externalIPs: ["192.168.99.11"], externalTrafficPolicy: "Local" })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    present: ['-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ'],
    absent: ["KUBE-SVL-"],
  },
  { name: "headless Service is skipped", services: [svc({ clusterIP: "None" })], slices: [slice([{ addresses: ["10.180.0.1"] }])], absent: ["ns1/svc1"] },
  {
    name: "ExternalName is skipped even with a clusterIP",
    services: [svc({ type: "ExternalName", externalName: "foo.example.com" })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    absent: ["ns1/svc1"],
  },
  {
    name: "no endpoints: REJECT in filter for every destination, no nat chains",
    services: [svc({ type: "LoadBalancer", externalIPs: ["192.168.99.11"], ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 3001 }] }, lb("1.2.3.4"))],
    slices: [],
    present: [
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 192.168.99.11 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j REJECT',
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT',
    ],
    absent: ["KUBE-SVC-XPGD46QRK7WJZT7O", "KUBE-EXT-"],
  },
  {
    name: "NodePort type with nodePort 0 writes no NodePort rule",
    services: [svc({ type: "NodePort" })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    absent: ["-A KUBE-NODEPORTS", "KUBE-EXT-"],
  },
  {
    name: "LoadBalancer ingress with ipMode Proxy gets no rule; VIP does",
    services: [svc({ type: "LoadBalancer" }, { loadBalancer: { ingress: [{ ip: "1.2.3.4", ipMode: "Proxy" }, { ip: "1.2.3.5", ipMode: "VIP" }, { hostname: "lb.example.com" }] } })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    present: ['-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.5 --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O'],
    absent: ["-d 1.2.3.4 "],
  },
  {
    name: "eTP Local with a local endpoint: EXT falls through to SVL, SVL holds only the local one",
    services: [svc({ type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 30000, ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 3001 }] }, lb("1.2.3.4"))],
    slices: [slice([{ addresses: ["10.180.0.1"] }, { addresses: ["10.180.2.1"], nodeName: "test-node" }])],
    present: [
      "-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVL-XPGD46QRK7WJZT7O",
      '-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.2.1:80" -j KUBE-SEP-',
      '-A KUBE-NODEPORTS -m comment --comment "ns1/svc1:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT',
    ],
    absent: ['-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80"', "has no local endpoints"],
  },
  {
    name: "healthCheckNodePort is ignored unless LoadBalancer with eTP Local",
    services: [svc({ type: "NodePort", externalTrafficPolicy: "Local", healthCheckNodePort: 30000, ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 3001 }] })],
    slices: [slice([{ addresses: ["10.180.0.1"], nodeName: "test-node" }])],
    absent: ["health check node port"],
  },
  {
    name: "iTP Local without local endpoints: filter DROP for the clusterIP",
    services: [svc({ internalTrafficPolicy: "Local" })],
    slices: [slice([{ addresses: ["10.180.0.1"], nodeName: "node0" }])],
    present: ['-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP'],
    absent: ["KUBE-SVL-", "KUBE-SEP-"],
  },
  {
    name: "masqueradeAll: the clusterIP masquerade rule has no source match",
    services: [svc({})],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    cfg: { masqueradeAll: true },
    present: ['-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ'],
  },
  {
    name: "no local traffic detector: no clusterIP masquerade, no pod short-circuit",
    services: [svc({ type: "NodePort", externalTrafficPolicy: "Local", ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 3001 }] })],
    slices: [slice([{ addresses: ["10.180.0.1"], nodeName: "test-node" }])],
    cfg: { clusterCIDR: null },
    absent: ["cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s", "pod traffic for"],
    present: ['-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ'],
  },
  {
    name: "ClientIP affinity with its own timeout",
    services: [svc({ sessionAffinity: "ClientIP", sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    present: ["-m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --rcheck --seconds 600 --reap -j KUBE-SEP-SXIVWICOYRO3J4NJ", "-m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --set -m tcp -p tcp -j DNAT"],
  },
  {
    name: "three endpoints: ladder 1/3, 1/2, then unconditional, in byte order of ip:port",
    services: [svc({})],
    slices: [slice([{ addresses: ["10.1.1.2"] }, { addresses: ["10.1.1.11"] }, { addresses: ["10.1.1.1"] }])],
    present: [
      '-m comment --comment "ns1/svc1:p80 -> 10.1.1.11:80" -m statistic --mode random --probability 0.3333333333 -j',
      '-m comment --comment "ns1/svc1:p80 -> 10.1.1.1:80" -m statistic --mode random --probability 0.5000000000 -j',
      '-m comment --comment "ns1/svc1:p80 -> 10.1.1.2:80" -j KUBE-SEP-',
    ],
  },
  {
    name: "--random-fully and the masquerade teaching switch",
    services: [],
    slices: [],
    cfg: { randomFully: true },
    present: ['-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'],
  },
  { name: "masquerade off removes the MASQUERADE rule", services: [], slices: [], cfg: { masquerade: false }, absent: ["-j MASQUERADE"] },
  {
    name: "no nfacct counters: plain INVALID drop, no localhost accounting rule (TestDropInvalidRule)",
    services: [svc({ type: "NodePort", ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 3001 }] })],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    cfg: { nfacct: false },
    present: ["-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n"],
    absent: ["nfacct"],
  },
  { name: "tcp_be_liberal: no INVALID drop", services: [], slices: [], cfg: { conntrackTCPLiberal: true }, absent: ["INVALID"] },
  {
    name: "nodePortAddresses without loopback and localhost NodePorts off: one tail rule per matching node IP",
    services: [],
    slices: [],
    cfg: { nodeIPs: ["192.168.0.2", "192.168.1.2"], nodePortAddresses: ["192.168.0.0/24", "127.0.0.1/32"], localhostNodePorts: false },
    present: ['-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS\n'],
    absent: ["-d 192.168.1.2", "-d 127.0.0.1 -j", "KUBE-FIREWALL"],
  },
  {
    name: "localhost NodePorts off: the tail rule excludes 127.0.0.0/8, no KUBE-FIREWALL",
    services: [],
    slices: [],
    cfg: { localhostNodePorts: false },
    present: ["-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS"],
    absent: ["KUBE-FIREWALL"],
  },
  {
    name: "nodePortAddresses without 127.0.0.1 turns localhost NodePorts off (NewProxier)",
    services: [],
    slices: [],
    cfg: { nodePortAddresses: ["192.168.0.0/24"] },
    absent: ["KUBE-FIREWALL", "-d 127."],
  },
  {
    name: "IPv6 proxier: bracketed endpoints, ::1 excluded from NodePorts, no KUBE-FIREWALL, IPv4 objects ignored",
    services: [
      { metadata: { name: "svc1", namespace: "ns1" }, spec: { type: "NodePort", clusterIP: "fd00:172:30::41", externalIPs: ["192.168.99.11"], ports: [{ name: "p80", port: 80, protocol: "TCP", nodePort: 3001 }] } },
    ],
    slices: [slice([{ addresses: ["fd00:10:180:0:0:0:2:1"], nodeName: "test-node" }], "p80", "IPv6"), slice([{ addresses: ["10.180.0.1"] }])],
    cfg: { nodeIPs: ["2001:db8::1"], clusterCIDR: "fd00:10::/64" },
    present: [
      "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d fd00:172:30::41 --dport 80 -j KUBE-SVC-",
      "-j DNAT --to-destination [fd00:10:180::2:1]:80",
      "-m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS",
      "! -s fd00:10::/64 -j KUBE-MARK-MASQ",
    ],
    absent: ["KUBE-FIREWALL", "10.180.0.1", "192.168.99.11", "nfacct --nfacct-name localhost"],
  },
  {
    name: "slice ports with a nil name are ignored",
    services: [svc({})],
    slices: [slice([{ addresses: ["10.180.0.1"] }], null)],
    present: ["ns1/svc1:p80 has no endpoints"],
  },
  {
    name: "loadBalancerSourceRanges containing the node IP also admit the LB VIP as source",
    services: [svc({ type: "LoadBalancer", loadBalancerSourceRanges: ["192.168.0.0/24"] }, lb("1.2.3.4"))],
    slices: [slice([{ addresses: ["10.180.0.1"] }])],
    present: [
      '-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 192.168.0.0/24 -j KUBE-EXT-XPGD46QRK7WJZT7O\n-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 1.2.3.4 -j KUBE-EXT-XPGD46QRK7WJZT7O\n-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"\n',
    ],
  },
];

describe("rules per Service type and option", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", (_n, c) => {
    const out = writeRestore(c.services, c.slices, { ...cfg0, ...c.cfg });
    for (const p of c.present ?? []) expect(out).toContain(p);
    for (const a of c.absent ?? []) expect(out).not.toContain(a);
  });
});

describe("large-cluster mode (TestSyncProxyRulesLargeClusterMode)", () => {
  const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ addresses: [`${prefix}.${i % 256}.${Math.floor(i / 256)}`] }));
  const mk = (ns: string, name: string, ip: string, portName: string, port: number): Service => ({
    metadata: { name, namespace: ns },
    spec: { type: "ClusterIP", clusterIP: ip, ports: [{ name: portName, port, protocol: "TCP" }] },
  });
  const sl = (ns: string, name: string, eps: Endpoint[], portName: string, port: number): EndpointSlice => ({
    metadata: { name: `${name}-1`, namespace: ns, labels: { "kubernetes.io/service-name": name } },
    addressType: "IPv4",
    endpoints: eps,
    ports: [{ name: portName, port, protocol: "TCP" }],
  });
  const services = [mk("ns1", "svc1", "172.30.0.41", "p80", 80), mk("ns2", "svc2", "172.30.0.42", "p8080", 8080), mk("ns3", "svc3", "172.30.0.43", "p8081", 8081)];
  const below = [sl("ns1", "svc1", many("10.0", 499), "p80", 80), sl("ns2", "svc2", many("10.1", 499), "p8080", 8080)];
  const above = [...below, sl("ns3", "svc3", [{ addresses: ["203.0.113.4"] }, { addresses: ["203.0.113.8"] }, { addresses: ["203.0.113.12"] }], "p8081", 8081)];
  const cfg = { ...cfg0, masqueradeAll: true };
  it("998 endpoints keep their comments", () => {
    expect(writeRestore(services, below, cfg)).toContain("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80\n");
  });
  it("1001 endpoints drop the per-endpoint comments, keep the others", () => {
    const out = writeRestore(services, above, cfg);
    expect(out).toContain("-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80\n");
    expect(out).toContain("-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081\n");
    expect(out).toContain('-A KUBE-SERVICES -m comment --comment "ns3/svc3:p8081 cluster IP"');
    expect(out.split("\n").filter((l) => l.startsWith("-A KUBE-SEP-") && l.includes("--comment"))).toEqual([]);
  });
});
