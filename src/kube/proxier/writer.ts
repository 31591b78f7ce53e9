// The iptables-restore text kube-proxy (iptables mode) hands to
// `iptables-restore --noflush --counters` on a full sync: *filter then *nat, chain lines first,
// then rules, section by section in syncProxyRules' order. Lines are written as bytes into
// reused buffers (RestoreSection) and endpoint lists are made per service port: this runs for
// 10,000-service clusters, where kept strings and objects made the garbage collector the cost.

import type { EndpointSlice, Service } from "../../world/k8s.js";
import type { ProxierConfig } from "./config.js";
import { interfaceAddresses } from "./config.js";
import { type EndpointInfo, type SlicePort, categorizeEndpoints, countEndpoints, endpointsKey, endpointsOf, indexSlicePorts } from "./endpoints.js";
import { type Family, type ParsedIP, cidrContains, familyOf, parseCIDRSloppy, parseIPSloppy } from "./ip.js";
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
function collectServicePorts(services: Service[], family: Family, rememberNames: boolean): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const svc of services) for (const sp of servicePortInfos(svc, family, rememberNames)) out.push(sp);
  return out;
}

/**
 * A cluster this small (the usual .svcspec file) is synced many times over, each sync short: chain
 * names are remembered across syncs (see serviceChainNames), and lines are kept as strings
 * rather than copied character by character into bytes (a loop that, in a short run, is still
 * interpreted: slower than the engine's own string joining for a few hundred lines).
 */
const SMALL_CLUSTER_SERVICES = 200;

/**
 * What a sync read of its own node beyond the cluster-wide configuration (proxierFamily aside):
 * which endpoints are local (a Local traffic policy), the node's addresses (--nodeport-addresses
 * CIDRs, a loadBalancerSourceRanges firewall that lets the node's own traffic in). When none was
 * read, every node of the family with the same cluster-wide configuration writes the same text.
 */
export interface NodeReads {
  nodeSpecific: boolean;
}

export function writeRestore(services: Service[], slices: EndpointSlice[], cfg: ProxierConfig, reads?: NodeReads): string {
  const family = proxierFamily(cfg);
  const isIPv6 = family === 6;
  const npa = nodePortAddresses(cfg, family);
  // NewProxier turns localhost NodePorts off when --nodeport-addresses excludes 127.0.0.1.
  const localhostNodePorts = cfg.localhostNodePorts && !isIPv6 && npa.containsIPv4Loopback;
  const mark = cfg.masqueradeMark;
  const small = services.length <= SMALL_CLUSTER_SERVICES;
  const rememberNames = small;
  const ports = collectServicePorts(services, family, rememberNames);
  const slicePorts = indexSlicePorts(slices, family);
  // Indexed loops over plain arrays (an empty `map` result has another elements kind, and a
  // for-of over both deoptimised this function once per run).
  const portSources: Array<SlicePort[] | undefined> = new Array(ports.length);
  let totalEndpoints = 0;
  for (let k = 0; k < ports.length; k++) {
    const sp = ports[k]!;
    const sources = slicePorts.get(endpointsKey(sp.namespace, sp.name, sp.portName, sp.protocol));
    portSources[k] = sources;
    totalEndpoints += countEndpoints(sources);
  }

  const w: SyncWriter = {
    cfg,
    isIPv6,
    localhostNodePorts,
    largeClusterMode: totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
    rememberNames,
    nodeIP: cfg.nodeIPs[0] !== undefined ? parseIPSloppy(cfg.nodeIPs[0]) : null,
    notLocal: cfg.clusterCIDR ? ` ! -s ${cfg.clusterCIDR}` : null,
    isLocal: cfg.clusterCIDR ? ` -s ${cfg.clusterCIDR}` : null,
    nodeSpecific: !npa.matchAll,
    filterChains: new RestoreSection(0, !small),
    filterRules: new RestoreSection(1, !small),
    natChains: new RestoreSection(2, !small),
    natRules: new RestoreSection(3, !small),
  };
  writeHead(w, mark);
  for (let portIndex = 0; portIndex < ports.length; portIndex++) writeServicePort(w, ports[portIndex]!, portSources[portIndex]);
  writeTail(w, npa, mark);
  if (reads !== undefined) reads.nodeSpecific = w.nodeSpecific;
  // Each section decoded on its own and joined by concatenation: no buffer of the whole text.
  return "*filter\n" + w.filterChains.finish() + w.filterRules.finish() + "COMMIT\n*nat\n" + w.natChains.finish() + w.natRules.finish() + "COMMIT\n";
}

/** The chains and rules every sync writes before the service ports. */
function writeHead(w: SyncWriter, mark: string): void {
  const { cfg, filterChains, filterRules, natChains, natRules } = w;

  for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) {
    filterChains.line`:${c} - [0:0]`;
  }
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) natChains.line`:${c} - [0:0]`;

  natRules.line`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`;
  // Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
  natRules.line`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`;
  if (cfg.masquerade !== false) {
    natRules.line`-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${cfg.randomFully ? " --random-fully" : ""}`;
  }
  natRules.line`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`;

  if (!w.isIPv6 && w.localhostNodePorts) {
    // route_localnet exposes 127/8 NodePorts to the network (issue 90259); this is the mitigation.
    filterChains.line`:${KUBE_FIREWALL} - [0:0]`;
    filterRules.line`-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`;
  }
}

/** The NodePort tail call and the forward rules every sync writes after the service ports. */
function writeTail(w: SyncWriter, npa: NodePortAddresses, mark: string): void {
  const { cfg, filterRules, natRules } = w;
  // The NodePort tail call: must be the last rule of nat KUBE-SERVICES.
  const tailComment = `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  if (npa.matchAll) {
    let dest = " -m addrtype --dst-type LOCAL";
    if (w.isIPv6) dest += " ! -d ::1/128";
    else if (!w.localhostNodePorts) dest += " ! -d 127.0.0.0/8";
    natRules.line`-A ${KUBE_SERVICES} ${tailComment}${dest} -j ${KUBE_NODEPORTS}`;
  } else {
    for (const ip of npa.nodeIPs) {
      const loopback = ip === "127.0.0.1" || ip === "::1" || ip.startsWith("127.");
      if (loopback && (w.isIPv6 || !w.localhostNodePorts)) continue;
      natRules.line`-A ${KUBE_SERVICES} ${tailComment} -d ${ip} -j ${KUBE_NODEPORTS}`;
    }
  }

  if (!cfg.conntrackTCPLiberal) {
    const acct = cfg.nfacct ? ` -m nfacct --nfacct-name ${CT_INVALID_COUNTER}` : "";
    filterRules.line`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${acct} -j DROP`;
  }
  filterRules.line`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`;
  filterRules.line`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`;
}

/** One sync's settings and sections, shared by the per-service-port writers below. */
interface SyncWriter {
  readonly cfg: ProxierConfig;
  readonly isIPv6: boolean;
  readonly localhostNodePorts: boolean;
  readonly largeClusterMode: boolean;
  readonly rememberNames: boolean;
  readonly nodeIP: ParsedIP | null;
  /** ` ! -s CLUSTER_CIDR` / ` -s CLUSTER_CIDR`, or null without a cluster CIDR. */
  readonly notLocal: string | null;
  readonly isLocal: string | null;
  /** Did the sync read anything of its own node (see NodeReads)? */
  nodeSpecific: boolean;
  readonly filterChains: RestoreSection;
  readonly filterRules: RestoreSection;
  readonly natChains: RestoreSection;
  readonly natRules: RestoreSection;
}

/** What the rules of one service port use, decided once (syncProxyRules' per-port locals). */
interface PortPlan {
  spn: string;
  /** ` -m PROTO -p PROTO` and ` --dport PORT`. */
  mp: string;
  dport: string;
  hasEndpoints: boolean;
  hasExternalEndpoints: boolean;
  externalTrafficChain: string;
  externalFilterTarget: string;
  externalFilterComment: string;
}

/**
 * One service port's rules, in syncProxyRules' order. Split into small functions, the rarely
 * used parts (external IPs, load balancers, the source-range firewall, health checks) apart:
 * a run of a few hundred syncs is mostly over before the optimising compiler gets to a large
 * function, and the small, common ones are taken early and compile in a fraction of the time.
 */
function writeServicePort(w: SyncWriter, sp: ServicePortInfo, sources: SlicePort[] | undefined): void {
  const cfg = w.cfg;
  const spn = sp.nameString;
  const proto = sp.proto;
  const mp = ` -m ${proto} -p ${proto}`;
  const dport = ` --dport ${sp.port}`;
  const clusterEndpoints = usesClusterEndpoints(sp);
  const localEndpoints = usesLocalEndpoints(sp);
  if (localEndpoints) w.nodeSpecific = true;
  const cats = categorizeEndpoints(endpointsOf(sources, cfg.nodeName), clusterEndpoints, localEndpoints);
  const hasEndpoints = cats.hasAnyEndpoints;
  const clusterPolicyChain = sp.chains.svc;
  const localPolicyChain = sp.chains.svl;

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
  const plan: PortPlan = {
    spn,
    mp,
    dport,
    hasEndpoints,
    hasExternalEndpoints,
    externalTrafficChain: sp.chains.ext,
    externalFilterTarget,
    externalFilterComment,
  };

  // Capture the clusterIP.
  if (hasInternalEndpoints) {
    w.natRules.line`-A ${KUBE_SERVICES} -m comment --comment "${spn} cluster IP"${mp} -d ${sp.clusterIP}${dport} -j ${internalTrafficChain}`;
  } else {
    w.filterRules.line`-A ${KUBE_SERVICES} -m comment --comment ${internalFilterComment}${mp} -d ${sp.clusterIP}${dport} -j ${internalFilterTarget}`;
  }

  // EXT exists whenever there are endpoints anywhere: the short-circuit rules are needed
  // even with no endpoint usable for external traffic.
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
  const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  if (sp.externalIPs.length > 0) writeExternalIPs(w, sp, plan);
  if (sp.loadBalancerVIPs.length > 0) writeLoadBalancerIPs(w, sp, plan, usesFWChain);
  if (sp.nodePort !== 0) writeNodePort(w, sp, plan);

  // Health-check NodePort: accepted whether or not there are local endpoints.
  if (sp.healthCheckNodePort !== 0) {
    w.filterRules.line`-A ${KUBE_NODEPORTS} -m comment --comment "${spn} health check node port" -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`;
  }

  // Internal traffic: masquerade off-cluster sources of clusterIP traffic.
  if (hasInternalEndpoints) {
    if (cfg.masqueradeAll) {
      w.natRules.line`-A ${internalTrafficChain} -m comment --comment "${spn} cluster IP"${mp} -d ${sp.clusterIP}${dport} -j ${KUBE_MARK_MASQ}`;
    } else if (w.notLocal) {
      w.natRules.line`-A ${internalTrafficChain} -m comment --comment "${spn} cluster IP"${mp} -d ${sp.clusterIP}${dport}${w.notLocal} -j ${KUBE_MARK_MASQ}`;
    }
  }

  if (usesExternalTrafficChain) writeExternalTrafficChain(w, sp, plan, externalPolicyChain);
  if (usesFWChain) writeFirewallChain(w, sp, plan);

  if (cats.clusterEndpoints.length > 0 && clusterEndpoints) {
    w.natChains.line`:${clusterPolicyChain} - [0:0]`;
    writeServiceToEndpointRules(w.natRules, sp, clusterPolicyChain, cats.clusterEndpoints, w.largeClusterMode, w.rememberNames);
  }
  if (cats.localEndpoints.length > 0 && localEndpoints) {
    w.natChains.line`:${localPolicyChain} - [0:0]`;
    writeServiceToEndpointRules(w.natRules, sp, localPolicyChain, cats.localEndpoints, w.largeClusterMode, w.rememberNames);
  }
  writeEndpointChains(w, sp, mp, cats.allReachable);
}

/** Capture externalIPs. */
function writeExternalIPs(w: SyncWriter, sp: ServicePortInfo, plan: PortPlan): void {
  const { spn, mp, dport } = plan;
  for (const eip of sp.externalIPs) {
    if (plan.hasEndpoints) {
      w.natRules.line`-A ${KUBE_SERVICES} -m comment --comment "${spn} external IP"${mp} -d ${eip}${dport} -j ${plan.externalTrafficChain}`;
    }
    if (!plan.hasExternalEndpoints) {
      w.filterRules.line`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${plan.externalFilterComment}${mp} -d ${eip}${dport} -j ${plan.externalFilterTarget}`;
    }
  }
}

/** Capture load-balancer ingress. */
function writeLoadBalancerIPs(w: SyncWriter, sp: ServicePortInfo, plan: PortPlan, usesFWChain: boolean): void {
  const { spn, mp, dport } = plan;
  const fwChain = sp.chains.fw;
  const loadBalancerTrafficChain = usesFWChain ? fwChain : plan.externalTrafficChain;
  for (const lbip of sp.loadBalancerVIPs) {
    if (plan.hasEndpoints) {
      w.natRules.line`-A ${KUBE_SERVICES} -m comment --comment "${spn} loadbalancer IP"${mp} -d ${lbip}${dport} -j ${loadBalancerTrafficChain}`;
    }
    if (usesFWChain) {
      w.filterRules.line`-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${spn} traffic not accepted by ${fwChain}"${mp} -d ${lbip}${dport} -j DROP`;
    }
  }
  if (!plan.hasExternalEndpoints) {
    for (const lbip of sp.loadBalancerVIPs) {
      w.filterRules.line`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${plan.externalFilterComment}${mp} -d ${lbip}${dport} -j ${plan.externalFilterTarget}`;
    }
  }
}

/** Capture nodeports (not subject to loadBalancerSourceRanges). */
function writeNodePort(w: SyncWriter, sp: ServicePortInfo, plan: PortPlan): void {
  const { spn, mp } = plan;
  if (plan.hasEndpoints) {
    if (w.localhostNodePorts && !w.isIPv6 && w.cfg.nfacct) {
      w.natRules.line`-A ${KUBE_NODEPORTS} -m comment --comment ${spn}${mp} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name ${LOCALHOST_NODEPORT_COUNTER} -j ${plan.externalTrafficChain}`;
    }
    w.natRules.line`-A ${KUBE_NODEPORTS} -m comment --comment ${spn}${mp} --dport ${sp.nodePort} -j ${plan.externalTrafficChain}`;
  }
  if (!plan.hasExternalEndpoints) {
    w.filterRules.line`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${plan.externalFilterComment} -m addrtype --dst-type LOCAL${mp} --dport ${sp.nodePort} -j ${plan.externalFilterTarget}`;
  }
}

/** External destinations: the EXT chain. */
function writeExternalTrafficChain(w: SyncWriter, sp: ServicePortInfo, plan: PortPlan, externalPolicyChain: string): void {
  const { spn } = plan;
  const externalTrafficChain = plan.externalTrafficChain;
  const clusterPolicyChain = sp.chains.svc;
  w.natChains.line`:${externalTrafficChain} - [0:0]`;
  if (!sp.externalPolicyLocal) {
    w.natRules.line`-A ${externalTrafficChain} -m comment --comment "masquerade traffic for ${spn} external destinations" -j ${KUBE_MARK_MASQ}`;
  } else {
    if (w.isLocal) {
      // Pods reaching an external destination are sent to all endpoints, unmasqueraded,
      // as if they had gone out to the load balancer and come back.
      w.natRules.line`-A ${externalTrafficChain} -m comment --comment "pod traffic for ${spn} external destinations"${w.isLocal} -j ${clusterPolicyChain}`;
    }
    w.natRules.line`-A ${externalTrafficChain} -m comment --comment "masquerade LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`;
    w.natRules.line`-A ${externalTrafficChain} -m comment --comment "route LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${clusterPolicyChain}`;
  }
  if (plan.hasExternalEndpoints) w.natRules.line`-A ${externalTrafficChain} -j ${externalPolicyChain}`;
}

/** loadBalancerSourceRanges firewall. */
function writeFirewallChain(w: SyncWriter, sp: ServicePortInfo, plan: PortPlan): void {
  const { spn } = plan;
  const fwChain = sp.chains.fw;
  const externalTrafficChain = plan.externalTrafficChain;
  w.nodeSpecific = true;
  w.natChains.line`:${fwChain} - [0:0]`;
  const args = `-A ${fwChain} -m comment --comment "${spn} loadbalancer IP"`;
  let allowFromNode = false;
  for (let i = 0; i < sp.loadBalancerSourceRanges.length; i++) {
    w.natRules.line`${args} -s ${sp.loadBalancerSourceRangeStrings[i]} -j ${externalTrafficChain}`;
    if (w.nodeIP && cidrContains(sp.loadBalancerSourceRanges[i]!, w.nodeIP)) allowFromNode = true;
  }
  // A node reaching its own VIP loops back with the VIP as source; let that in too.
  if (allowFromNode) {
    for (const lbip of sp.loadBalancerVIPs) w.natRules.line`${args} -s ${lbip} -j ${externalTrafficChain}`;
  }
  w.natRules.line`-A ${fwChain} -m comment --comment "other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`;
}

/** Each reachable endpoint's SEP chain: hairpin masquerade, then DNAT. */
function writeEndpointChains(w: SyncWriter, sp: ServicePortInfo, mp: string, endpoints: EndpointInfo[]): void {
  const comment = w.largeClusterMode ? "" : ` -m comment --comment ${sp.nameString}`;
  const { natChains, natRules, rememberNames } = w;
  for (let k = 0; k < endpoints.length; k++) {
    const ep = endpoints[k]!;
    const chain = sepName(sp, ep, rememberNames);
    natChains.line`:${chain} - [0:0]`;
    // Hairpin: an endpoint reaching itself through the Service must be masqueraded.
    natRules.line`-A ${chain}${comment} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`;
    if (sp.sessionAffinityClientIP) natRules.line`-A ${chain}${comment} -m recent --name ${chain} --set${mp} -j DNAT --to-destination ${ep.endpoint}`;
    else natRules.line`-A ${chain}${comment}${mp} -j DNAT --to-destination ${ep.endpoint}`;
  }
}

/**
 * One section of the restore text (a table's chain lines, or its rules), written line by line
 * with a tagged template: `section.line\`-A ${chain} -j ${target}\`` appends that line and "\n".
 *
 * The characters go straight into a growing byte buffer (outside the JavaScript heap), piece by
 * piece: no line string is ever built. A 10k-Service sync writes 440k lines (33 MB); built as
 * strings, each line was a tree of string pieces, and the lines and their joined chunks survived
 * young-generation collections and were copied by them — most of the writer's time.
 * kube-proxy's text is ASCII; at the first line that is not, the section keeps plain strings
 * from there on (same text either way).
 */
export class RestoreSection {
  private bytes: Buffer;
  private len = 0;
  /** Set when a non-ASCII line arrived: the text so far, then every later line, as strings. */
  private strings: string[] | null = null;

  /**
   * `slot`: which of a sync's sections this is; its buffer is reused by the same section next
   * time. `asBytes` false: plain strings from the start (small syncs, see SMALL_CLUSTER_SERVICES).
   */
  constructor(
    private readonly slot = -1,
    asBytes = true,
  ) {
    if (!asBytes) {
      this.bytes = EMPTY;
      this.strings = [];
      return;
    }
    this.bytes = (slot >= 0 ? spareBuffers[slot] : undefined) ?? Buffer.allocUnsafe(16 << 10);
    if (slot >= 0) spareBuffers[slot] = undefined;
  }

  line(parts: TemplateStringsArray, ...values: Array<string | number>): void {
    if (this.strings === null) {
      // Room for the whole line first, then plain copy loops.
      let n = parts[0]!.length + 1;
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        n += (typeof v === "string" ? v : (values[i] = String(v))).length + parts[i + 1]!.length;
      }
      if (this.len + n > this.bytes.length) this.grow(n);
      const b = this.bytes;
      const start = this.len;
      charBits = 0;
      let p = copyChars(b, start, parts[0]!);
      for (let i = 0; i < values.length; i++) p = copyChars(b, copyChars(b, p, values[i] as string), parts[i + 1]!);
      b[p++] = 10;
      if (charBits < 128) {
        this.len = p;
        return;
      }
      this.strings = [latin1(this.bytes, start)];
    }
    let text = parts[0]!;
    for (let i = 0; i < values.length; i++) text += String(values[i]) + parts[i + 1]!;
    this.strings.push(text + "\n");
  }

  private grow(n: number): void {
    let size = this.bytes.length * 2;
    while (size < this.len + n) size *= 2;
    const grown = Buffer.allocUnsafe(size); // no zero fill: every byte up to len is written before it is read
    grown.set(this.bytes.subarray(0, this.len));
    this.bytes = grown;
  }

  /** The section's text; the section is done (its buffer goes back for the next sync). */
  finish(): string {
    const text = this.strings === null ? latin1(this.bytes, this.len) : this.strings.join("");
    if (this.slot >= 0 && this.bytes !== EMPTY && this.bytes.length <= SPARE_MAX_BYTES) spareBuffers[this.slot] = this.bytes;
    return text;
  }
}

/** Every character code copied by copyChars since it was last reset, OR-ed: >= 128 if one was not ASCII. */
let charBits = 0;

/** Copy s's characters (their low bytes) to b at p; returns the end. The caller checks charBits. */
function copyChars(b: Buffer, p: number, s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    bits |= c;
    b[p++] = c;
  }
  charBits |= bits;
  return p;
}

function latin1(bytes: Buffer, end: number): string {
  return bytes.toString("latin1", 0, end);
}

// Section buffers are reused by the same section of the next sync, as kube-proxy reuses its own
// buffers from sync to sync: a fresh 33 MB buffer per 10k-Service sync cost its growth, its page
// faults and, as external memory, extra garbage collections. One per section, none over 64 MB.
const spareBuffers: Array<Buffer | undefined> = [];
const SPARE_MAX_BYTES = 64 << 20;
const EMPTY = Buffer.alloc(0);

/** SEP chain names, hashed once per endpoint (SVC, SVL and the SEP chain itself all need it). */
function sepName(sp: ServicePortInfo, ep: EndpointInfo, rememberNames: boolean): string {
  if (ep.chain === undefined) ep.chain = endpointChainName(sp.nameString, sp.proto, ep.endpoint, rememberNames);
  return ep.chain;
}

function writeServiceToEndpointRules(
  natRules: RestoreSection,
  sp: ServicePortInfo,
  chain: string,
  endpoints: EndpointInfo[],
  largeClusterMode: boolean,
  rememberNames: boolean,
): void {
  const spn = sp.nameString;
  const n = endpoints.length;
  if (sp.sessionAffinityClientIP) {
    for (const ep of endpoints) {
      const sep = sepName(sp, ep, rememberNames);
      const comment = largeClusterMode ? "" : ` -m comment --comment "${spn} -> ${ep.endpoint}"`;
      natRules.line`-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j ${sep}`;
    }
  }
  // One template per shape: the comment and the statistic match are written in place, not built.
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i]!;
    const sep = sepName(sp, ep, rememberNames);
    if (largeClusterMode) {
      if (i < n - 1) natRules.line`-A ${chain} -m statistic --mode random --probability ${probability(n - i)} -j ${sep}`;
      else natRules.line`-A ${chain} -j ${sep}`;
    } else if (i < n - 1) {
      natRules.line`-A ${chain} -m comment --comment "${spn} -> ${ep.endpoint}" -m statistic --mode random --probability ${probability(n - i)} -j ${sep}`;
    } else {
      natRules.line`-A ${chain} -m comment --comment "${spn} -> ${ep.endpoint}" -j ${sep}`;
    }
  }
}
