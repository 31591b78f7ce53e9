// One node's kube-proxy, configured from the declared cluster: the ProxierConfig kube-proxy on
// that node runs with, and the tables it leaves behind (as iptables-save prints them).

import type { World } from "../world/model.js";
import { deriveEndpointSlices } from "../world/controllers.js";
import { assignLoadBalancerIPs } from "./cloud.js";
import type { ProxierConfig } from "./proxier/config.js";
import { nodeTables } from "./proxier/save-format.js";

/** Thrown for a node name the world does not declare (the CLI turns it into a diagnostic). */
export class UnknownNodeError extends Error {
  constructor(
    readonly node: string,
    readonly known: string[],
  ) {
    super(`no node named "${node}" (nodes: ${known.join(", ") || "none"})`);
  }
}

export function proxierConfigFor(world: World, nodeName: string): ProxierConfig {
  const node = world.nodes.find((n) => n.name === nodeName);
  if (!node) throw new UnknownNodeError(nodeName, world.nodes.map((n) => n.name));
  const s = world.settings;
  return {
    nodeName,
    nodeIPs: [node.ip],
    clusterCIDR: s.podCidr,
    masqueradeAll: s.masqueradeAll,
    // kube-proxy's default --iptables-masquerade-bit 14; svcspec writes it as the unit tests do.
    masqueradeMark: "0x4000",
    nodePortAddresses: s.nodePortAddresses,
    localhostNodePorts: s.localhostNodePorts,
    // A real node has nfnetlink_acct and an iptables with --random-fully.
    nfacct: true,
    randomFully: true,
    masquerade: s.masquerade,
  };
}

/** The node's filter and nat tables after kube-proxy's first sync, as iptables-save prints them. */
export function nodeRulesFor(world: World, nodeName: string, table?: "filter" | "nat"): string {
  const cfg = proxierConfigFor(world, nodeName);
  const services = assignLoadBalancerIPs(world);
  const slices = deriveEndpointSlices({ ...world, services });
  return nodeTables(services, slices, cfg, table);
}
