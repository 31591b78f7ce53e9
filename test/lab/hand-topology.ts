// A Topology written by hand after shared/docs/kernel-lab.md, to exercise the kernel
// engine on its own: client — router — node network (a switch) — node1, node2; pod nginx-1
// (TCP :80) on node1, pod b2 on node2. Rules follow kube-proxy's layout (pkg/proxy/iptables)
// for default/nginx (clusterIP 10.96.0.100:8080, nodePort 30080 → 10.244.1.5:80) and
// default/nginx-ext (externalIP 198.51.100.10:80, same endpoint). Chain hashes are made up.

import type { HostSpec, Sysctls, Topology } from "../../src/net/topology.js";

export interface RuleOptions {
  /** externalTrafficPolicy Local for default/nginx. */
  local?: boolean;
  /** The node runs nginx-1 (the only endpoint). */
  hasLocalEndpoint: boolean;
  /** Keep kube-proxy's MASQUERADE rule (2a/2b remove it). */
  masquerade?: boolean;
  /** Keep the filter DROP for "has no local endpoints" (3d removes it). */
  localDrop?: boolean;
  /** Keep the SEP rule `-s 10.244.1.5/32 -j KUBE-MARK-MASQ` (hairpin rows). */
  hairpinMasq?: boolean;
  /** b2 (10.244.2.5:80) is a second endpoint of default/nginx, chosen with probability 1/2. */
  secondEndpoint?: boolean;
}

export function nodeRules(o: RuleOptions): string {
  const local = o.local ?? false;
  const filter = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":KUBE-EXTERNAL-SERVICES - [0:0]",
    ":KUBE-FIREWALL - [0:0]",
    ":KUBE-FORWARD - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-PROXY-FIREWALL - [0:0]",
    ":KUBE-SERVICES - [0:0]",
    "-A INPUT -j KUBE-FIREWALL",
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    "-A OUTPUT -j KUBE-FIREWALL",
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ];
  if (local && !o.hasLocalEndpoint && (o.localDrop ?? true)) {
    filter.push(
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/nginx:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP',
    );
  }
  filter.push("COMMIT");
  const nat = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    ":INPUT ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-NODEPORTS - [0:0]",
    ":KUBE-POSTROUTING - [0:0]",
    ":KUBE-MARK-MASQ - [0:0]",
    ":KUBE-SVC-NGINXHTTP0000000 - [0:0]",
    ":KUBE-EXT-NGINXHTTP0000000 - [0:0]",
    ":KUBE-SEP-NGINX1000000000 - [0:0]",
    ":KUBE-SVC-NGINXEXT0000000 - [0:0]",
    ":KUBE-EXT-NGINXEXT0000000 - [0:0]",
    ":KUBE-SEP-NGINXEXT100000 - [0:0]",
    ...(o.secondEndpoint ? [":KUBE-SEP-B20000000000000 - [0:0]"] : []),
    ...(local && o.hasLocalEndpoint ? [":KUBE-SVL-NGINXHTTP0000000 - [0:0]"] : []),
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
    ...((o.masquerade ?? true) ? ['-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'] : []),
    "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
    '-A KUBE-SERVICES -m comment --comment "default/nginx:http cluster IP" -m tcp -p tcp -d 10.96.0.100 --dport 8080 -j KUBE-SVC-NGINXHTTP0000000',
    '-A KUBE-SERVICES -m comment --comment "default/nginx-ext cluster IP" -m tcp -p tcp -d 10.96.0.101 --dport 80 -j KUBE-SVC-NGINXEXT0000000',
    '-A KUBE-SERVICES -m comment --comment "default/nginx-ext external IP" -m tcp -p tcp -d 198.51.100.10 --dport 80 -j KUBE-EXT-NGINXEXT0000000',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    "-A KUBE-NODEPORTS -m comment --comment default/nginx:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-NGINXHTTP0000000",
  ];
  if (local) {
    nat.push(
      '-A KUBE-EXT-NGINXHTTP0000000 -m comment --comment "pod traffic for default/nginx:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-NGINXHTTP0000000',
      '-A KUBE-EXT-NGINXHTTP0000000 -m comment --comment "masquerade LOCAL traffic for default/nginx:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
      '-A KUBE-EXT-NGINXHTTP0000000 -m comment --comment "route LOCAL traffic for default/nginx:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-NGINXHTTP0000000',
    );
    if (o.hasLocalEndpoint) {
      nat.push(
        "-A KUBE-EXT-NGINXHTTP0000000 -j KUBE-SVL-NGINXHTTP0000000",
        '-A KUBE-SVL-NGINXHTTP0000000 -m comment --comment "default/nginx:http -> 10.244.1.5:80" -j KUBE-SEP-NGINX1000000000',
      );
    }
  } else {
    nat.push(
      '-A KUBE-EXT-NGINXHTTP0000000 -m comment --comment "masquerade traffic for default/nginx:http external destinations" -j KUBE-MARK-MASQ',
      "-A KUBE-EXT-NGINXHTTP0000000 -j KUBE-SVC-NGINXHTTP0000000",
    );
  }
  const sepMasq = (o.hairpinMasq ?? true) ? ["-A KUBE-SEP-NGINX1000000000 -m comment --comment default/nginx:http -s 10.244.1.5 -j KUBE-MARK-MASQ"] : [];
  nat.push(
    '-A KUBE-SVC-NGINXHTTP0000000 -m comment --comment "default/nginx:http cluster IP" -m tcp -p tcp -d 10.96.0.100 --dport 8080 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    ...(o.secondEndpoint
      ? [
          '-A KUBE-SVC-NGINXHTTP0000000 -m comment --comment "default/nginx:http -> 10.244.1.5:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-NGINX1000000000',
          '-A KUBE-SVC-NGINXHTTP0000000 -m comment --comment "default/nginx:http -> 10.244.2.5:80" -j KUBE-SEP-B20000000000000',
          "-A KUBE-SEP-B20000000000000 -m comment --comment default/nginx:http -s 10.244.2.5 -j KUBE-MARK-MASQ",
          "-A KUBE-SEP-B20000000000000 -m comment --comment default/nginx:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.5:80",
        ]
      : ['-A KUBE-SVC-NGINXHTTP0000000 -m comment --comment "default/nginx:http -> 10.244.1.5:80" -j KUBE-SEP-NGINX1000000000']),
    ...sepMasq,
    "-A KUBE-SEP-NGINX1000000000 -m comment --comment default/nginx:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:80",
    '-A KUBE-EXT-NGINXEXT0000000 -m comment --comment "masquerade traffic for default/nginx-ext external destinations" -j KUBE-MARK-MASQ',
    "-A KUBE-EXT-NGINXEXT0000000 -j KUBE-SVC-NGINXEXT0000000",
    '-A KUBE-SVC-NGINXEXT0000000 -m comment --comment "default/nginx-ext cluster IP" -m tcp -p tcp -d 10.96.0.101 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-NGINXEXT0000000 -m comment --comment "default/nginx-ext -> 10.244.1.5:80" -j KUBE-SEP-NGINXEXT100000',
    "-A KUBE-SEP-NGINXEXT100000 -m comment --comment default/nginx-ext -s 10.244.1.5 -j KUBE-MARK-MASQ",
    "-A KUBE-SEP-NGINXEXT100000 -m comment --comment default/nginx-ext -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:80",
    "COMMIT",
  );
  return [...filter, ...nat, ""].join("\n");
}

const NODE_SYSCTLS: Sysctls = { ipForward: true, routeLocalnet: true, bridgeNfCallIptables: true, rpFilter: 0 };
const PLAIN_SYSCTLS: Sysctls = { ipForward: false, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 };

export interface HandTopologyOptions {
  rules?: Omit<RuleOptions, "hasLocalEndpoint">;
  /** Where the router sends 198.51.100.10 (4b/4c), if anywhere; "both": ECMP over the nodes. */
  externalIpVia?: "node1" | "node2" | "both";
  /** node1's bridge-nf-call-iptables (hairpin rows). */
  bridgeNf?: boolean;
  hairpin?: boolean;
  promisc?: boolean;
  /** Extra listeners on nginx-1 (UDP echo, DNS). */
  extraListeners?: HostSpec["listeners"];
}

export function handTopology(o: HandTopologyOptions = {}): Topology {
  const node = (n: 1 | 2, pod: string): HostSpec => ({
    name: `node${n}`,
    kind: "node",
    interfaces: [
      { name: "eth0", segment: "node-net", addrs: [{ ip: `192.168.1.1${n}`, prefix: 24 }] },
      { name: `veth-${pod}`.slice(0, 15), segment: `pod-${pod}`, addrs: [], bridge: "cni0", hairpin: n === 1 ? (o.hairpin ?? true) : true },
    ],
    bridges: [{ name: "cni0", addrs: [{ ip: `10.244.${n}.1`, prefix: 24 }], promisc: n === 1 ? (o.promisc ?? false) : false }],
    routes: [
      { dst: "0.0.0.0/0", via: ["192.168.1.1"] },
      { dst: `10.244.${3 - n}.0/24`, via: [`192.168.1.1${3 - n}`] },
    ],
    sysctls: { ...NODE_SYSCTLS, bridgeNfCallIptables: n === 1 ? (o.bridgeNf ?? true) : true },
    iptables: nodeRules({ ...(o.rules ?? {}), hasLocalEndpoint: n === 1 }),
    listeners: [],
    up: true,
  });
  const pod = (name: string, ip: string, gw: string, listeners: HostSpec["listeners"]): HostSpec => ({
    name,
    kind: "pod",
    interfaces: [{ name: "eth0", segment: `pod-${name}`, addrs: [{ ip, prefix: 24 }] }],
    bridges: [],
    routes: [{ dst: "0.0.0.0/0", via: [gw] }],
    sysctls: PLAIN_SYSCTLS,
    iptables: null,
    listeners,
    up: true,
  });
  const via = { node1: ["192.168.1.11"], node2: ["192.168.1.12"], both: ["192.168.1.11", "192.168.1.12"] };
  const routerRoutes = o.externalIpVia ? [{ dst: "198.51.100.10/32", via: via[o.externalIpVia] }] : [];
  return {
    hosts: [
      {
        name: "client",
        kind: "client",
        interfaces: [{ name: "eth0", segment: "client-net", addrs: [{ ip: "203.0.113.7", prefix: 24 }] }],
        bridges: [],
        routes: [{ dst: "0.0.0.0/0", via: ["203.0.113.1"] }],
        sysctls: PLAIN_SYSCTLS,
        iptables: null,
        listeners: [],
        up: true,
      },
      {
        name: "router",
        kind: "router",
        interfaces: [
          { name: "eth0", segment: "client-net", addrs: [{ ip: "203.0.113.1", prefix: 24 }] },
          { name: "eth1", segment: "node-net", addrs: [{ ip: "192.168.1.1", prefix: 24 }] },
        ],
        bridges: [],
        routes: routerRoutes,
        sysctls: { ...PLAIN_SYSCTLS, ipForward: true },
        iptables: null,
        listeners: [],
        up: true,
      },
      node(1, "nginx-1"),
      node(2, "b2"),
      pod("nginx-1", "10.244.1.5", "10.244.1.1", [{ protocol: "TCP", port: 80, app: "echo" }, ...(o.extraListeners ?? [])]),
      pod("b2", "10.244.2.5", "10.244.2.1", o.rules?.secondEndpoint ? [{ protocol: "TCP", port: 80, app: "echo" }] : []),
    ],
    segments: [
      { name: "client-net", kind: "veth" },
      { name: "node-net", kind: "switch" },
      { name: "pod-nginx-1", kind: "veth" },
      { name: "pod-b2", kind: "veth" },
    ],
  };
}
