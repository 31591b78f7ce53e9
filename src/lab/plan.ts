// Turns a Topology into what the kernel engine runs: one network namespace per host and per
// switch segment. Three steps, each as few processes as possible (spawning `ip netns exec`
// dominates build time): one `ip -batch` adds every namespace; one `ip -batch` adds every veth
// pair, each end born directly inside its lab namespace (`link add A netns NS1 type veth peer
// name B netns NS2`: the kernel creates the device in the target namespace, so no interface
// ever exists in the root namespace); then one shell script per namespace, all in parallel,
// sets sysctls, bridges, ports, addresses, links and routes (a single `ip -batch`) and loads
// the host's iptables. Pure: no side effects, so it is tested without root.

import type { HostSpec, InterfaceSpec, RouteSpec, Topology } from "../net/topology.js";
import { hostNamespace, MAX_IFNAME, segmentNamespace } from "./names.js";

export class LabTopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabTopologyError";
  }
}

export interface NamespacePlan {
  ns: string;
  /** The host this namespace plays, or null for a switch segment's namespace. */
  host: HostSpec | null;
  /** Segment name, for switch namespaces. */
  segment: string | null;
  /** Shell script run with `ip netns exec NS sh -c` once every veth exists. */
  setup: string;
}

export interface LabPlan {
  namespaces: NamespacePlan[];
  /** `ip -batch` lines, run in the root context, creating every veth pair inside lab namespaces. */
  links: string[];
  /** Host name → namespace name. */
  hostNamespaces: Map<string, string>;
}

interface Member {
  host: HostSpec;
  iface: InterfaceSpec;
}

/** Name of a switch's bridge and of its ports, inside the switch namespace. */
const SWITCH_BRIDGE = "br0";
const switchPort = (index: number): string => `p${index}`;

function sysctlLine(path: string, value: string | number): string {
  // Written through /proc so nothing beyond iproute2 and a shell is needed. A knob the kernel
  // lacks (IPv6 compiled out, say) is skipped rather than failing the build.
  return `if [ -w /proc/sys/${path} ]; then echo ${value} > /proc/sys/${path}; fi`;
}

function ipBatch(lines: string[]): string {
  if (lines.length === 0) return "";
  return `ip -batch - <<'SVS_EOF'\n${lines.join("\n")}\nSVS_EOF`;
}

function routeLine(r: RouteSpec): string {
  const dst = r.dst === "0.0.0.0/0" ? "default" : r.dst;
  const dev = r.dev ? ` dev ${r.dev}` : "";
  if (r.via.length === 0) return `route replace ${dst}${dev}`;
  if (r.via.length === 1) return `route replace ${dst} via ${r.via[0]}${dev}`;
  return `route replace ${dst} ${r.via.map((v) => `nexthop via ${v}${dev}`).join(" ")}`;
}

function checkIfName(name: string, where: string): void {
  if (name.length === 0 || name.length > MAX_IFNAME || /[\s/:]/.test(name)) {
    throw new LabTopologyError(`${where}: interface name "${name}" is not a valid Linux interface name (1-${MAX_IFNAME} characters, no spaces, "/" or ":")`);
  }
}

export function planLab(topology: Topology, prefix: string): LabPlan {
  const hostNamespaces = new Map<string, string>();
  for (const h of topology.hosts) {
    if (hostNamespaces.has(h.name)) throw new LabTopologyError(`host "${h.name}" is declared twice`);
    hostNamespaces.set(h.name, hostNamespace(prefix, h.name));
    for (const i of h.interfaces) checkIfName(i.name, `host ${h.name}`);
    for (const b of h.bridges) checkIfName(b.name, `host ${h.name}`);
  }

  const members = new Map<string, Member[]>();
  for (const seg of topology.segments) members.set(seg.name, []);
  for (const host of topology.hosts) {
    for (const iface of host.interfaces) {
      const list = members.get(iface.segment);
      if (!list) throw new LabTopologyError(`host ${host.name} interface ${iface.name}: unknown segment "${iface.segment}"`);
      list.push({ host, iface });
    }
  }

  const links: string[] = [];
  const switches: NamespacePlan[] = [];

  for (const seg of topology.segments) {
    const list = members.get(seg.name)!;
    if (list.length === 0) continue;
    if (seg.kind === "veth" && list.length === 2) {
      // One pair, each end born inside its own namespace.
      const [a, b] = list as [Member, Member];
      const nsA = hostNamespaces.get(a.host.name)!;
      const nsB = hostNamespaces.get(b.host.name)!;
      links.push(`link add ${a.iface.name} netns ${nsA} type veth peer name ${b.iface.name} netns ${nsB}`);
      continue;
    }
    if (seg.kind === "veth") {
      throw new LabTopologyError(`segment "${seg.name}" is a veth pair but has ${list.length} member(s)`);
    }
    // A switch: a bridge in its own namespace, one veth pair per member.
    const ns = segmentNamespace(prefix, seg.name);
    const k = [`link set dev lo up`, `link add ${SWITCH_BRIDGE} type bridge`, `link set dev ${SWITCH_BRIDGE} up`];
    list.forEach((m, idx) => {
      links.push(`link add ${switchPort(idx)} netns ${ns} type veth peer name ${m.iface.name} netns ${hostNamespaces.get(m.host.name)!}`);
      k.push(`link set dev ${switchPort(idx)} master ${SWITCH_BRIDGE}`, `link set dev ${switchPort(idx)} up`);
    });
    switches.push({
      ns,
      host: null,
      segment: seg.name,
      setup: [
        "set -e",
        // A plain L2 switch: no IP, no netfilter on bridged frames.
        sysctlLine("net/bridge/bridge-nf-call-iptables", 0),
        sysctlLine("net/ipv6/conf/all/disable_ipv6", 1),
        ipBatch(k),
      ].join("\n"),
    });
  }

  const hosts: NamespacePlan[] = topology.hosts.map((host) => {
    const ns = hostNamespaces.get(host.name)!;
    const s = host.sysctls;
    const script = [
      "set -e",
      sysctlLine("net/ipv4/ip_forward", s.ipForward ? 1 : 0),
      sysctlLine("net/ipv4/conf/all/route_localnet", s.routeLocalnet ? 1 : 0),
      sysctlLine("net/ipv4/conf/all/rp_filter", s.rpFilter),
      sysctlLine("net/ipv4/conf/default/rp_filter", s.rpFilter),
      sysctlLine("net/bridge/bridge-nf-call-iptables", s.bridgeNfCallIptables ? 1 : 0),
      // Lab-only: probes repeat quickly, and the kernel's ICMP rate limit would otherwise turn
      // the 7th "net unreachable" in a second into a silent timeout.
      sysctlLine("net/ipv4/icmp_ratelimit", 0),
      // Lab-only: with several next hops, hash on ports too, so repeated probes (new source
      // ports) can take every path as a flow-hashing router or cloud load balancer would.
      sysctlLine("net/ipv4/fib_multipath_hash_policy", 1),
      // IPv4 only: no IPv6 chatter (router solicitations, DAD) on the lab's links.
      sysctlLine("net/ipv6/conf/all/disable_ipv6", 1),
    ];
    const k: string[] = [`link set dev lo up`, ...host.bridges.map((b) => `link add ${b.name} type bridge`)];
    for (const iface of host.interfaces) {
      if (iface.mac) k.push(`link set dev ${iface.name} address ${iface.mac}`);
      if (iface.bridge) {
        if (!host.bridges.some((b) => b.name === iface.bridge)) {
          throw new LabTopologyError(`host ${host.name} interface ${iface.name}: no bridge "${iface.bridge}" on this host`);
        }
        k.push(`link set dev ${iface.name} master ${iface.bridge}`);
        k.push(`link set dev ${iface.name} type bridge_slave hairpin ${iface.hairpin ? "on" : "off"}`);
      }
      for (const a of iface.addrs) k.push(`addr add ${a.ip}/${a.prefix} dev ${iface.name}`);
    }
    for (const b of host.bridges) {
      for (const a of b.addrs) k.push(`addr add ${a.ip}/${a.prefix} dev ${b.name}`);
      if (b.promisc) k.push(`link set dev ${b.name} promisc on`);
    }
    // A failed node keeps its interfaces down: it neither answers nor forwards.
    if (host.up) {
      for (const b of host.bridges) k.push(`link set dev ${b.name} up`);
      for (const iface of host.interfaces) k.push(`link set dev ${iface.name} up`);
      for (const r of host.routes) k.push(routeLine(r));
      // A network that has been up for a while has its neighbours resolved. A brand-new lab does
      // not, and on this kernel the very first SYN through a fresh ECMP route on the router was
      // seen to come back as a SYN-ACK the client reset (ECONNRESET) — an artefact of the lab's
      // age, not of the cluster. So hosts on the shared switches (clients, router, nodes) start
      // with their up peers' addresses resolved, as `ip neigh` would show them after some traffic.
      k.push(...warmNeighbours(topology, host));
    }
    script.push(
      ipBatch(k),
      // The veths were born before this namespace's defaults were set: set rp_filter on every
      // interface explicitly (the kernel uses the larger of "all" and the interface's value).
      `for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo ${s.rpFilter} > "$f"; done`,
    );
    // The node's full tables, as kube-proxy left them: one restore per node, from stdin. The
    // nfacct counters the rules name must exist first (kube-proxy ensures them at start-up;
    // `-m nfacct` on a missing counter makes the restore fail). They are per network namespace.
    if (host.iptables && host.up) {
      for (const name of nfacctCounters(host.iptables)) script.push(`nfacct add ${name} >/dev/null 2>&1 || nfacct get ${name} >/dev/null`);
      script.push("iptables-restore");
    }
    return { ns, host, segment: null, setup: script.filter((l) => l).join("\n") };
  });

  return { namespaces: [...hosts, ...switches], links, hostNamespaces };
}

/** The nfacct counter names an iptables text uses (`-m nfacct --nfacct-name NAME`). */
export function nfacctCounters(iptables: string): string[] {
  return [...new Set([...iptables.matchAll(/--nfacct-name\s+(\S+)/g)].map((m) => m[1]!))];
}

const ipNum = (ip: string): number => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const sameSubnet = (a: string, b: string, prefix: number): boolean =>
  prefix === 0 || Math.floor(ipNum(a) / 2 ** (32 - prefix)) === Math.floor(ipNum(b) / 2 ** (32 - prefix));

/** `neigh replace` lines for a host's switch-segment interfaces: every up peer in the same subnet. */
export function warmNeighbours(topology: Topology, host: HostSpec): string[] {
  const lines: string[] = [];
  const switches = new Set(topology.segments.filter((s) => s.kind === "switch").map((s) => s.name));
  for (const iface of host.interfaces) {
    if (!switches.has(iface.segment) || iface.bridge) continue;
    for (const peer of topology.hosts) {
      if (peer === host || !peer.up) continue;
      for (const pi of peer.interfaces) {
        if (pi.segment !== iface.segment || !pi.mac) continue;
        for (const pa of pi.addrs) {
          if (iface.addrs.some((a) => sameSubnet(a.ip, pa.ip, a.prefix))) {
            lines.push(`neigh replace ${pa.ip} lladdr ${pi.mac} dev ${iface.name} nud reachable`);
          }
        }
      }
    }
  }
  return lines;
}
