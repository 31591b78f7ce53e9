// The iptables-restore text kube-proxy (iptables mode) hands to
// `iptables-restore --noflush --counters` on a full sync: *filter then *nat, chain lines first,
// then rules, section by section in syncProxyRules' order. Plain string building: this runs
// for 10,000-service clusters.

import type { EndpointSlice, Service } from "../../world/k8s.js";
import type { ProxierConfig } from "./config.js";
import { interfaceAddresses } from "./config.js";
import { type EndpointInfo, buildEndpointsMap, categorizeEndpoints, endpointsKey } from "./endpoints.js";
import { type Family, cidrContains, familyOf, parseCIDRSloppy, parseIPSloppy } from "./ip.js";
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  endpointChainName,
  probability,
} from "./names.js";
import { type ServicePortInfo, externallyAccessible, servicePortInfos, usesClusterEndpoints, usesLocalEndpoints } from "./services.js";

/** Above this many endpoints (all service ports together) kube-proxy drops per-endpoint comments. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export const LOCALHOST_NODEPORT_COUNTER = "localhost_nps_accepted_pkts";
export const CT_INVALID_COUNTER = "ct_state_invalid_dropped_pkts";

export function proxierFamily(cfg: ProxierConfig): Family {
  const first = cfg.nodeIPs[0];
  return first !== undefined && familyOf(first) === 6 ? 6 : 4;
}

interface NodePortAddresses {
  matchAll: boolean;
  /** Node interface addresses inside the configured CIDRs (when !matchAll). */
  nodeIPs: string[];
  containsIPv4Loopback: boolean;
}

function nodePortAddresses(cfg: ProxierConfig, family: Family): NodePortAddresses {
  const cidrs = cfg.nodePortAddresses.map((c) => parseCIDRSloppy(c.trim())).filter((c) => c !== null && c.family === family);
  const matchAll = cidrs.length === 0 || cidrs.some((c) => c!.prefix === 0);
  const loop = parseIPSloppy("127.0.0.1")!;
  const containsIPv4Loopback = matchAll || cidrs.some((c) => cidrContains(c!, loop));
  const nodeIPs: string[] = [];
  if (!matchAll) {
    for (const a of interfaceAddresses(cfg, family)) {
      const ip = parseIPSloppy(a);
      if (ip && cidrs.some((c) => cidrContains(c!, ip)) && !nodeIPs.includes(a)) nodeIPs.push(a);
    }
  }
  return { matchAll, nodeIPs, containsIPv4Loopback };
}

/** Service-port entries in a stable order: Services as given, ports as declared. */
function collectServicePorts(services: Service[], family: Family): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const svc of services) for (const sp of servicePortInfos(svc, family)) out.push(sp);
  return out;
}

export function writeRestore(services: Service[], slices: EndpointSlice[], cfg: ProxierConfig): string {
  const family = proxierFamily(cfg);
  const isIPv6 = family === 6;
  const npa = nodePortAddresses(cfg, family);
  // NewProxier turns localhost NodePorts off when --nodeport-addresses excludes 127.0.0.1.
  const localhostNodePorts = cfg.localhostNodePorts && !isIPv6 && npa.containsIPv4Loopback;
  const mark = cfg.masqueradeMark;
  const ports = collectServicePorts(services, family);
  const endpointsMap = buildEndpointsMap(slices, cfg.nodeName, family);
  const endpointsOf = (sp: ServicePortInfo): EndpointInfo[] =>
    endpointsMap.get(endpointsKey(sp.namespace, sp.name, sp.portName, sp.protocol)) ?? [];

  let totalEndpoints = 0;
  for (const sp of ports) totalEndpoints += endpointsOf(sp).length;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;

  const nodeIP = cfg.nodeIPs[0] !== undefined ? parseIPSloppy(cfg.nodeIPs[0]) : null;
  const notLocal = cfg.clusterCIDR ? ` ! -s ${cfg.clusterCIDR}` : null;
  const isLocal = cfg.clusterCIDR ? ` -s ${cfg.clusterCIDR}` : null;

  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();

  for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) {
    filterChains.push(`:${c} - [0:0]`);
  }
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) natChains.push(`:${c} - [0:0]`);

  natRules.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
  natRules.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  if (cfg.masquerade !== false) {
    natRules.push(
      `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE` +
        (cfg.randomFully ? " --random-fully" : ""),
    );
  }
  natRules.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  if (!isIPv6 && localhostNodePorts) {
    // route_localnet exposes 127/8 NodePorts to the network (issue 90259); this is the mitigation.
    filterChains.push(`:${KUBE_FIREWALL} - [0:0]`);
    filterRules.push(
      `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  const sepComment = (spn: string) => (largeClusterMode ? "" : ` -m comment --comment ${spn}`);

  for (const sp of ports) {
    const proto = sp.proto;
    const spn = sp.nameString;
    const mp = ` -m ${proto} -p ${proto}`;
    const dport = ` --dport ${sp.port}`;
    const cats = categorizeEndpoints(endpointsOf(sp), usesClusterEndpoints(sp), usesLocalEndpoints(sp));
    const hasEndpoints = cats.hasAnyEndpoints;
    const clusterPolicyChain = sp.chains.svc;
    const localPolicyChain = sp.chains.svl;
    const usesClusterPolicyChain = cats.clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = cats.localEndpoints.length > 0 && usesLocalEndpoints(sp);

    let internalTrafficChain = clusterPolicyChain;
    let hasInternalEndpoints = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalTrafficChain = localPolicyChain;
      if (cats.localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = localPolicyChain;
      if (cats.localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = sp.chains.ext;
    // EXT exists whenever there are endpoints anywhere: the short-circuit rules are needed
    // even with no endpoint usable for external traffic.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const fwChain = sp.chains.fw;
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? fwChain : externalTrafficChain;

    let internalFilterTarget = "";
    let internalFilterComment = "";
    let externalFilterTarget = "";
    let externalFilterComment = "";
    if (!hasEndpoints) {
      internalFilterTarget = "REJECT";
      internalFilterComment = `"${spn} has no endpoints"`;
      externalFilterTarget = "REJECT";
      externalFilterComment = internalFilterComment;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = "DROP";
        internalFilterComment = `"${spn} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = "DROP";
        externalFilterComment = `"${spn} has no local endpoints"`;
      }
    }

    // Capture the clusterIP.
    if (hasInternalEndpoints) {
      natRules.push(`-A ${KUBE_SERVICES} -m comment --comment "${spn} cluster IP"${mp} -d ${sp.clusterIP}${dport} -j ${internalTrafficChain}`);
    } else {
      filterRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment}${mp} -d ${sp.clusterIP}${dport} -j ${internalFilterTarget}`);
    }

    // Capture externalIPs.
    for (const eip of sp.externalIPs) {
      if (hasEndpoints) {
        natRules.push(`-A ${KUBE_SERVICES} -m comment --comment "${spn} external IP"${mp} -d ${eip}${dport} -j ${externalTrafficChain}`);
      }
      if (!hasExternalEndpoints) {
        filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment}${mp} -d ${eip}${dport} -j ${externalFilterTarget}`);
      }
    }

    // Capture load-balancer ingress.
    for (const lbip of sp.loadBalancerVIPs) {
      if (hasEndpoints) {
        natRules.push(`-A ${KUBE_SERVICES} -m comment --comment "${spn} loadbalancer IP"${mp} -d ${lbip}${dport} -j ${loadBalancerTrafficChain}`);
      }
      if (usesFWChain) {
        filterRules.push(
          `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${spn} traffic not accepted by ${fwChain}"${mp} -d ${lbip}${dport} -j DROP`,
        );
      }
    }
    if (!hasExternalEndpoints) {
      for (const lbip of sp.loadBalancerVIPs) {
        filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment}${mp} -d ${lbip}${dport} -j ${externalFilterTarget}`);
      }
    }

    // Capture nodeports (not subject to loadBalancerSourceRanges).
    if (sp.nodePort !== 0) {
      if (hasEndpoints) {
        if (localhostNodePorts && !isIPv6 && cfg.nfacct) {
          natRules.push(
            `-A ${KUBE_NODEPORTS} -m comment --comment ${spn}${mp} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name ${LOCALHOST_NODEPORT_COUNTER} -j ${externalTrafficChain}`,
          );
        }
        natRules.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${spn}${mp} --dport ${sp.nodePort} -j ${externalTrafficChain}`);
      }
      if (!hasExternalEndpoints) {
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL${mp} --dport ${sp.nodePort} -j ${externalFilterTarget}`,
        );
      }
    }

    // Health-check NodePort: accepted whether or not there are local endpoints.
    if (sp.healthCheckNodePort !== 0) {
      filterRules.push(
        `-A ${KUBE_NODEPORTS} -m comment --comment "${spn} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
      );
    }

    // Internal traffic: masquerade off-cluster sources of clusterIP traffic.
    if (hasInternalEndpoints) {
      const args = `-m comment --comment "${spn} cluster IP"${mp} -d ${sp.clusterIP}${dport}`;
      if (cfg.masqueradeAll) {
        natRules.push(`-A ${internalTrafficChain} ${args} -j ${KUBE_MARK_MASQ}`);
      } else if (notLocal) {
        natRules.push(`-A ${internalTrafficChain} ${args}${notLocal} -j ${KUBE_MARK_MASQ}`);
      }
    }

    // External destinations.
    if (usesExternalTrafficChain) {
      natChains.push(`:${externalTrafficChain} - [0:0]`);
      if (!sp.externalPolicyLocal) {
        natRules.push(`-A ${externalTrafficChain} -m comment --comment "masquerade traffic for ${spn} external destinations" -j ${KUBE_MARK_MASQ}`);
      } else {
        if (isLocal) {
          // Pods reaching an external destination are sent to all endpoints, unmasqueraded,
          // as if they had gone out to the load balancer and come back.
          natRules.push(`-A ${externalTrafficChain} -m comment --comment "pod traffic for ${spn} external destinations"${isLocal} -j ${clusterPolicyChain}`);
        }
        natRules.push(
          `-A ${externalTrafficChain} -m comment --comment "masquerade LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        natRules.push(
          `-A ${externalTrafficChain} -m comment --comment "route LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${clusterPolicyChain}`,
        );
      }
      if (hasExternalEndpoints) natRules.push(`-A ${externalTrafficChain} -j ${externalPolicyChain}`);
    }

    // loadBalancerSourceRanges firewall.
    if (usesFWChain) {
      natChains.push(`:${fwChain} - [0:0]`);
      const args = `-A ${fwChain} -m comment --comment "${spn} loadbalancer IP"`;
      let allowFromNode = false;
      for (let i = 0; i < sp.loadBalancerSourceRanges.length; i++) {
        natRules.push(`${args} -s ${sp.loadBalancerSourceRangeStrings[i]} -j ${externalTrafficChain}`);
        if (nodeIP && cidrContains(sp.loadBalancerSourceRanges[i]!, nodeIP)) allowFromNode = true;
      }
      // A node reaching its own VIP loops back with the VIP as source; let that in too.
      if (allowFromNode) {
        for (const lbip of sp.loadBalancerVIPs) natRules.push(`${args} -s ${lbip} -j ${externalTrafficChain}`);
      }
      natRules.push(`-A ${fwChain} -m comment --comment "other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`);
    }

    if (usesClusterPolicyChain) {
      natChains.push(`:${clusterPolicyChain} - [0:0]`);
      writeServiceToEndpointRules(natRules, sp, clusterPolicyChain, cats.clusterEndpoints, largeClusterMode);
    }
    if (usesLocalPolicyChain) {
      natChains.push(`:${localPolicyChain} - [0:0]`);
      writeServiceToEndpointRules(natRules, sp, localPolicyChain, cats.localEndpoints, largeClusterMode);
    }

    for (const ep of cats.allReachable) {
      const chain = sepName(sp, ep);
      natChains.push(`:${chain} - [0:0]`);
      const head = `-A ${chain}${sepComment(spn)}`;
      // Hairpin: an endpoint reaching itself through the Service must be masqueraded.
      natRules.push(`${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      const recent = sp.sessionAffinityClientIP ? ` -m recent --name ${chain} --set` : "";
      natRules.push(`${head}${recent}${mp} -j DNAT --to-destination ${ep.endpoint}`);
    }
  }

  // The NodePort tail call: must be the last rule of nat KUBE-SERVICES.
  const tailComment = `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  if (npa.matchAll) {
    let dest = " -m addrtype --dst-type LOCAL";
    if (isIPv6) dest += " ! -d ::1/128";
    else if (!localhostNodePorts) dest += " ! -d 127.0.0.0/8";
    natRules.push(`-A ${KUBE_SERVICES} ${tailComment}${dest} -j ${KUBE_NODEPORTS}`);
  } else {
    for (const ip of npa.nodeIPs) {
      const loopback = ip === "127.0.0.1" || ip === "::1" || ip.startsWith("127.");
      if (loopback && (isIPv6 || !localhostNodePorts)) continue;
      natRules.push(`-A ${KUBE_SERVICES} ${tailComment} -d ${ip} -j ${KUBE_NODEPORTS}`);
    }
  }

  if (!cfg.conntrackTCPLiberal) {
    const acct = cfg.nfacct ? ` -m nfacct --nfacct-name ${CT_INVALID_COUNTER}` : "";
    filterRules.push(`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${acct} -j DROP`);
  }
  filterRules.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filterRules.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );

  const parts: string[] = ["*filter", ...filterChains.chunks(), ...filterRules.chunks(), "COMMIT", "*nat", ...natChains.chunks(), ...natRules.chunks(), "COMMIT", ""];
  return parts.join("\n");
}

/**
 * Lines of the restore text, joined into flat chunks of a thousand as they come. A line built
 * by a template is a tree of string pieces; kept until the end, 440k of them (10k Services)
 * survive every young-generation GC and are copied each time — most of the writer's time.
 * Joined early, the pieces die young. The text is the same: chunks are joined with "\n" too.
 */
class LineBuffer {
  private readonly done: string[] = [];
  private pending: string[] = [];

  push(line: string): void {
    this.pending.push(line);
    if (this.pending.length >= 1024) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.done.push(this.pending.join("\n"));
    this.pending = [];
  }

  /** The lines so far as "\n"-joined chunks (none when empty). */
  chunks(): string[] {
    this.flush();
    return this.done;
  }
}

/** SEP chain names, hashed once per endpoint (SVC, SVL and the SEP chain itself all need it). */
function sepName(sp: ServicePortInfo, ep: EndpointInfo): string {
  if (ep.chain === undefined) ep.chain = endpointChainName(sp.nameString, sp.proto, ep.endpoint);
  return ep.chain;
}

function writeServiceToEndpointRules(
  natRules: LineBuffer,
  sp: ServicePortInfo,
  chain: string,
  endpoints: EndpointInfo[],
  largeClusterMode: boolean,
): void {
  const spn = sp.nameString;
  const names = endpoints.map((ep) => sepName(sp, ep));
  const comment = (ep: EndpointInfo) => (largeClusterMode ? "" : ` -m comment --comment "${spn} -> ${ep.endpoint}"`);
  if (sp.sessionAffinityClientIP) {
    endpoints.forEach((ep, i) => {
      natRules.push(
        `-A ${chain}${comment(ep)} -m recent --name ${names[i]} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${names[i]}`,
      );
    });
  }
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : "";
    natRules.push(`-A ${chain}${comment(ep)}${stat} -j ${names[i]}`);
  });
}
