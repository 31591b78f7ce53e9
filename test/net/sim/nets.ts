// Small hand-written networks for the walk's tests: hosts with a spec's defaults, and the
// common shape of a client on an outside switch, a router, and hosts on a LAN behind it.
import type { HostSpec, Topology } from "../../../src/net/topology.js";

export const sys = { ipForward: false, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 as const };

/** A host spec with everything defaulted (a client, up, no rules) but what `over` says. */
export const host = (name: string, over: Partial<HostSpec>): HostSpec => ({ name, kind: "client", interfaces: [], bridges: [], routes: [], sysctls: sys, iptables: null, listeners: [], up: true, ...over });

/**
 * client `c` (203.0.113.7) ── outside switch ── router `r` (203.0.113.1 | 192.168.1.1, forwarding,
 * with `router` added: routes, rules) ── LAN switch ── `lan` hosts.
 */
export function clientRouterNet(router: Partial<HostSpec>, lan: HostSpec[]): Topology {
  return {
    hosts: [
      host("c", { interfaces: [{ name: "eth0", segment: "out", addrs: [{ ip: "203.0.113.7", prefix: 24 }] }], routes: [{ dst: "0.0.0.0/0", via: ["203.0.113.1"] }] }),
      host("r", {
        kind: "router",
        sysctls: { ...sys, ipForward: true },
        interfaces: [
          { name: "eth0", segment: "out", addrs: [{ ip: "203.0.113.1", prefix: 24 }] },
          { name: "eth1", segment: "lan", addrs: [{ ip: "192.168.1.1", prefix: 24 }] },
        ],
        ...router,
      }),
      ...lan,
    ],
    segments: [
      { name: "out", kind: "switch" },
      { name: "lan", kind: "switch" },
    ],
  };
}
