// kube-apiserver's part for Services: defaulting (SetDefaults_Service), validation
// (ValidateService and friends) and allocation (ClusterIP, nodePorts, healthCheckNodePort), with
// the apiserver's meaning and the user's position. See docs/kube-proxy-iptables.md §12.
//
// Allocation is deterministic (see defaults.ts): every value the user pinned is reserved first,
// in declaration order (a second claim on the same value is "already allocated"), then the
// dynamic values are handed out in declaration order. The same file always gets the same
// addresses, whatever order the apiserver would have seen the objects in.

import type { Diagnostic } from "../lang/diagnostic.js";
import { suggest } from "../lang/suggest.js";
import type { Service, ServiceSpec } from "./k8s.js";
import type { ClusterSettings } from "./model.js";
import { CLUSTER_IP_OFFSETS, DEFAULT_AFFINITY_TIMEOUT, MAX_AFFINITY_TIMEOUT, nodePortRangeOffset } from "./defaults.js";
import { diagAt, fieldPathText, type FieldPath, type Locator } from "./located.js";
import { cidrContains, intToIp, ipToInt, ipv4Problem, isIPv4, parseCidr, specialIpProblem } from "./ipv4.js";
import { cloneData } from "./clone.js";

export interface ServiceInput {
  service: Service;
  loc: Locator;
}

export interface AdmitContext {
  settings: ClusterSettings;
  /** Namespaces that exist (a Service in another one is refused, as the apiserver does). */
  namespaces: ReadonlySet<string>;
}

export interface AdmitResult {
  /** The admitted Services, defaulted and allocated, in input order. Refused ones are absent. */
  services: Service[];
  diagnostics: Diagnostic[];
}

const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] as const;
const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;

export const serviceKey = (s: Service): string => `${s.metadata.namespace ?? "default"}/${s.metadata.name}`;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && s.split(".").every((p) => DNS1123_LABEL.test(p));
}
/** IANA service name rules (IsValidPortName): 1-15 chars of [-a-z0-9], a letter, no edge or double hyphen. */
export function isValidPortName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && /^[-a-z0-9]+$/.test(s) && /[a-z]/.test(s) && !s.startsWith("-") && !s.endsWith("-") && !s.includes("--");
}

/** Externally accessible by type ([SVCU] ExternallyAccessible): LB, NodePort, ClusterIP with externalIPs. */
export function externallyAccessible(spec: ServiceSpec): boolean {
  return spec.type === "LoadBalancer" || spec.type === "NodePort" || (spec.type === "ClusterIP" && (spec.externalIPs?.length ?? 0) > 0);
}

/** NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local. */
export function needsHealthCheck(spec: ServiceSpec): boolean {
  return spec.type === "LoadBalancer" && spec.externalTrafficPolicy === "Local";
}

function clone<T>(x: T): T {
  return cloneData(x);
}

// ---------------------------------------------------------------------------------------------
// Defaulting

/** SetDefaults_Service on a copy. */
export function defaultService(input: Service): Service {
  const s = clone(input);
  s.metadata.namespace ??= "default";
  const spec = s.spec;
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (spec.sessionAffinity === "ClientIP") {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= DEFAULT_AFFINITY_TIMEOUT;
  }
  for (const p of spec.ports ?? []) {
    p.protocol ??= "TCP";
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = "Cluster";
  if (spec.type !== "ExternalName" && !spec.internalTrafficPolicy) spec.internalTrafficPolicy = "Cluster";
  if (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  // clusterIP and clusterIPs describe the same thing; keep them in step.
  if (spec.clusterIP === undefined && spec.clusterIPs && spec.clusterIPs.length > 0) spec.clusterIP = spec.clusterIPs[0];
  return s;
}

// ---------------------------------------------------------------------------------------------
// Validation

interface Reporter {
  error(path: FieldPath, message: string, apiserver?: string, suggestion?: string): void;
  warn(path: FieldPath, message: string): void;
}

function reporter(svc: Service, loc: Locator, out: Diagnostic[], counter: { errors: number }): Reporter {
  const who = `Service ${svc.metadata.name}`;
  return {
    error(path, message, apiserver, suggestion) {
      counter.errors++;
      const notes: string[] = [];
      if (apiserver) notes.push(`kube-apiserver: ${path.length ? fieldPathText(path) + ": " : ""}${apiserver}`);
      out.push(diagAt(loc, path, "error", "validation", `${who}: ${message}`, { notes, suggestion }));
    },
    warn(path, message) {
      out.push(diagAt(loc, path, "warning", "validation", `${who}: ${message}`));
    },
  };
}

/** ValidateService on a defaulted Service (allocation-independent checks). */
function validateService(s: Service, r: Reporter, ctx: AdmitContext): void {
  const name = s.metadata.name;
  const spec = s.spec;
  if (!DNS1035_LABEL.test(name) || name.length > 63)
    r.error(
      ["metadata", "name"],
      `name \`${name}\` is not a valid Service name: lower-case letters, digits and '-', starting with a letter, ending with a letter or digit, at most 63 characters`,
      `Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`,
    );
  const ns = s.metadata.namespace ?? "default";
  if (!ctx.namespaces.has(ns))
    r.error(["metadata", "namespace"], `namespace \`${ns}\` does not exist; declare it (\`namespace ${ns}\` in the cluster block, or a Namespace manifest)`, `namespaces "${ns}" not found`, suggest(ns, ctx.namespaces) ? `did you mean \`${suggest(ns, ctx.namespaces)}\`?` : undefined);

  if (!(SERVICE_TYPES as readonly string[]).includes(spec.type!)) {
    const close = suggest(String(spec.type), SERVICE_TYPES);
    r.error(["spec", "type"], `type \`${spec.type}\` is not one of ${SERVICE_TYPES.join(", ")}`, `Unsupported value: "${spec.type}"`, close ? `did you mean \`${close}\`?` : undefined);
    return; // the rest depends on the type
  }
  const type = spec.type!;
  const headless = spec.clusterIP === "None";
  const ports = spec.ports ?? [];

  if (ports.length === 0 && !headless && type !== "ExternalName")
    r.error(["spec", "ports"], "at least one port is required (only headless and ExternalName Services may have none)", "Required value");

  const names = new Map<string, number>();
  const protoPorts = new Map<string, number>();
  const protoNodePorts = new Map<string, number>();
  ports.forEach((p, i) => {
    const at = (f: string): FieldPath => ["spec", "ports", i, f];
    if (ports.length > 1 && !p.name)
      r.error(["spec", "ports", i], `port ${p.port} needs a name: a Service with more than one port must name every port`, "name: Required value");
    if (p.name) {
      if (!isDns1123Label(p.name))
        r.error(at("name"), `port name \`${p.name}\` must be lower-case letters, digits and '-' (a DNS-1123 label)`, `Invalid value: "${p.name}"`);
      const prev = names.get(p.name);
      if (prev !== undefined) r.error(at("name"), `port name \`${p.name}\` is used twice (also by ports[${prev}])`, `Duplicate value: "${p.name}"`);
      else names.set(p.name, i);
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
      r.error(at("port"), `port ${p.port} is not a valid port number (1-65535)`, `Invalid value: ${p.port}: must be between 1 and 65535, inclusive`);
    if (!(PROTOCOLS as readonly string[]).includes(p.protocol!)) {
      const close = suggest(String(p.protocol), PROTOCOLS);
      r.error(at("protocol"), `protocol \`${p.protocol}\` is not one of TCP, UDP, SCTP`, `Unsupported value: "${p.protocol}"`, close ? `did you mean \`${close}\`?` : undefined);
    } else if (p.protocol === "SCTP") r.warn(at("protocol"), "SCTP is not simulated: probes are TCP or UDP, so this port cannot be probed");
    if (typeof p.targetPort === "number") {
      if (p.targetPort < 1 || p.targetPort > 65535)
        r.error(at("targetPort"), `targetPort ${p.targetPort} is not a valid port number (1-65535)`, `Invalid value: ${p.targetPort}: must be between 1 and 65535, inclusive`);
    } else if (typeof p.targetPort === "string" && !isValidPortName(p.targetPort))
      r.error(at("targetPort"), `targetPort \`${p.targetPort}\` is neither a port number nor a valid port name (1-15 of a-z, 0-9, '-', with at least one letter)`, `Invalid value: "${p.targetPort}"`);
    const pp = `${p.protocol}/${p.port}`;
    const prevPort = protoPorts.get(pp);
    if (prevPort !== undefined) r.error(at("port"), `${pp} is declared twice (also by ports[${prevPort}])`, `Duplicate value: {"port": ${p.port}, "protocol": "${p.protocol}"}`);
    else protoPorts.set(pp, i);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type === "ClusterIP" || type === "ExternalName")
        r.error(at("nodePort"), `nodePort may not be used when type is ${type} (make the Service a NodePort or LoadBalancer)`, `Forbidden: may not be used when \`type\` is '${type}'`);
      const pn = `${p.protocol}/${p.nodePort}`;
      const prevNp = protoNodePorts.get(pn);
      if (prevNp !== undefined) r.error(at("nodePort"), `nodePort ${p.nodePort}/${p.protocol} is used twice (also by ports[${prevNp}])`, `Duplicate value: {"nodePort": ${p.nodePort}, "protocol": "${p.protocol}"}`);
      else protoNodePorts.set(pn, i);
    }
  });

  // clusterIP / clusterIPs / families
  if (type === "ExternalName") {
    if (spec.clusterIP !== undefined && spec.clusterIP !== "")
      r.error(["spec", "clusterIP"], "clusterIP may not be set for an ExternalName Service", "Forbidden: may not be set for ExternalName services");
    if (spec.ipFamilies?.length) r.error(["spec", "ipFamilies"], "ipFamilies may not be set for an ExternalName Service", "Forbidden: may not be set for ExternalName services");
    if (spec.ipFamilyPolicy) r.error(["spec", "ipFamilyPolicy"], "ipFamilyPolicy may not be set for an ExternalName Service", "Forbidden: may not be set for ExternalName services");
    const ext = spec.externalName ?? "";
    const trimmed = ext.endsWith(".") ? ext.slice(0, -1) : ext;
    if (ext === "") r.error(["spec", "externalName"], "an ExternalName Service needs externalName (the DNS name it aliases)", "Required value");
    else if (!isDns1123Subdomain(trimmed))
      r.error(
        ["spec", "externalName"],
        `externalName \`${ext}\` is not a DNS name: lower-case letters, digits, '-' and '.', each label starting and ending with a letter or digit (a DNS-1123 subdomain)`,
        `Invalid value: "${ext}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
  } else {
    if (headless && (type === "NodePort" || type === "LoadBalancer"))
      r.error(["spec", "clusterIP"], `a ${type} Service may not be headless (clusterIP None)`, `Invalid value: "None": may not be set to 'None' for ${type} services`);
    if (spec.clusterIP !== undefined && spec.clusterIP !== "" && spec.clusterIP !== "None") {
      const problem = ipv4Problem(spec.clusterIP);
      if (problem) r.error(["spec", "clusterIP"], `clusterIP ${problem}`, `Invalid value: "${spec.clusterIP}": must be a valid IP address`);
    }
    if (spec.clusterIPs && spec.clusterIPs.length > 0) {
      if (spec.clusterIPs.length > 1)
        r.error(["spec", "clusterIPs"], "this cluster is single-stack IPv4: only one clusterIP can be given", "Invalid value: this service does not support dual-stack");
      if (spec.clusterIP !== undefined && spec.clusterIPs[0] !== spec.clusterIP)
        r.error(["spec", "clusterIPs", 0], `clusterIPs[0] (${spec.clusterIPs[0]}) must equal clusterIP (${spec.clusterIP})`, "Invalid value: must match `clusterIP`");
    }
    for (const [i, fam] of (spec.ipFamilies ?? []).entries())
      if (fam !== "IPv4") r.error(["spec", "ipFamilies", i], `ipFamily ${fam} is not available: the cluster is single-stack IPv4`, `Invalid value: "${fam}": not configured on this cluster`);
    if (spec.ipFamilyPolicy === "RequireDualStack")
      r.error(["spec", "ipFamilyPolicy"], "RequireDualStack needs a dual-stack cluster; this one is IPv4 only", `Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`);
    else if (spec.ipFamilyPolicy && !["SingleStack", "PreferDualStack"].includes(spec.ipFamilyPolicy))
      r.error(["spec", "ipFamilyPolicy"], `ipFamilyPolicy \`${spec.ipFamilyPolicy}\` is not one of SingleStack, PreferDualStack, RequireDualStack`, `Unsupported value: "${spec.ipFamilyPolicy}"`);
  }

  for (const [i, ip] of (spec.externalIPs ?? []).entries()) {
    const problem = ipv4Problem(ip) ?? specialIpProblem(ip);
    if (problem) r.error(["spec", "externalIPs", i], `externalIP ${problem}`, `Invalid value: "${ip}"`);
  }
  if (spec.loadBalancerIP !== undefined && spec.loadBalancerIP !== "") {
    const problem = ipv4Problem(spec.loadBalancerIP);
    if (problem) r.error(["spec", "loadBalancerIP"], `loadBalancerIP ${problem}`, `Invalid value: "${spec.loadBalancerIP}": must be a valid IP address`);
  }
  if (spec.loadBalancerSourceRanges && spec.loadBalancerSourceRanges.length > 0) {
    if (type !== "LoadBalancer")
      r.error(["spec", "loadBalancerSourceRanges"], "loadBalancerSourceRanges may only be used with type LoadBalancer", "Forbidden: may only be used when `type` is 'LoadBalancer'");
    for (const [i, raw] of spec.loadBalancerSourceRanges.entries()) {
      // The apiserver trims padding and parses sloppily: host bits may be set.
      const v = raw.trim();
      const [ip, pre, extra] = v.split("/");
      if (extra !== undefined || !ip || !isIPv4(ip) || pre === undefined || !/^\d{1,2}$/.test(pre) || +pre > 32)
        r.error(["spec", "loadBalancerSourceRanges", i], `\`${raw}\` is not a CIDR (e.g. 203.0.113.0/24)`, `Invalid value: "${raw}": must be a valid CIDR`);
    }
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && type !== "LoadBalancer")
    r.error(["spec", "allocateLoadBalancerNodePorts"], "allocateLoadBalancerNodePorts may only be used with type LoadBalancer", "Forbidden: may only be used when `type` is 'LoadBalancer'");

  if (spec.externalTrafficPolicy !== undefined) {
    if (!externallyAccessible(spec))
      r.error(
        ["spec", "externalTrafficPolicy"],
        `externalTrafficPolicy may only be set for externally-accessible services (NodePort, LoadBalancer, or ClusterIP with externalIPs); this is a ${type} Service${type === "ClusterIP" ? " without externalIPs" : ""}`,
        "Invalid value: may only be set for externally-accessible services",
      );
    else if (spec.externalTrafficPolicy !== "Cluster" && spec.externalTrafficPolicy !== "Local")
      r.error(["spec", "externalTrafficPolicy"], `externalTrafficPolicy \`${spec.externalTrafficPolicy}\` is not Cluster or Local`, `Unsupported value: "${spec.externalTrafficPolicy}"`, suggestLocalCluster(spec.externalTrafficPolicy));
  }
  if (spec.internalTrafficPolicy !== undefined && spec.internalTrafficPolicy !== "Cluster" && spec.internalTrafficPolicy !== "Local")
    r.error(["spec", "internalTrafficPolicy"], `internalTrafficPolicy \`${spec.internalTrafficPolicy}\` is not Cluster or Local`, `Unsupported value: "${spec.internalTrafficPolicy}"`, suggestLocalCluster(spec.internalTrafficPolicy));

  if (spec.healthCheckNodePort !== undefined && spec.healthCheckNodePort !== 0 && !needsHealthCheck(spec))
    r.error(
      ["spec", "healthCheckNodePort"],
      "healthCheckNodePort may only be set when type is LoadBalancer and externalTrafficPolicy is Local",
      "Invalid value: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
    );

  if (spec.sessionAffinity !== "None" && spec.sessionAffinity !== "ClientIP")
    r.error(["spec", "sessionAffinity"], `sessionAffinity \`${spec.sessionAffinity}\` is not None or ClientIP`, `Unsupported value: "${spec.sessionAffinity}"`);
  else if (spec.sessionAffinity === "None" && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds !== undefined)
    r.error(["spec", "sessionAffinityConfig"], "sessionAffinityConfig may not be set when sessionAffinity is None", "Forbidden: must not be set when `sessionAffinity` is None");
  else if (spec.sessionAffinity === "ClientIP") {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT;
    if (t < 1 || t > MAX_AFFINITY_TIMEOUT)
      r.error(["spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"], `session affinity timeout ${t} must be between 1 and ${MAX_AFFINITY_TIMEOUT} seconds`, `Invalid value: ${t}: must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`);
  }
  if (spec.trafficDistribution !== undefined)
    r.warn(["spec", "trafficDistribution"], "trafficDistribution is not simulated (no topology hints): every endpoint is used from every node");
}

function suggestLocalCluster(v: string): string | undefined {
  const c = suggest(v, ["Cluster", "Local"]);
  return c ? `did you mean \`${c}\`?` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Allocation

/** The cluster-wide allocators: who holds which ClusterIP and which node port. */
class Allocators {
  readonly ips = new Map<number, string>();
  readonly ports = new Map<number, string>();
  private readonly cidr;
  private readonly lowIp: number;
  private readonly highIp: number;
  private nextIp: number;
  constructor(readonly settings: ClusterSettings) {
    this.cidr = parseCidr(settings.serviceCidr);
    // Network and broadcast addresses are outside the allocatable range.
    this.lowIp = this.cidr.base + 1;
    this.highIp = this.cidr.base + this.cidr.size - 2;
    this.nextIp = Math.min(this.cidr.base + CLUSTER_IP_OFFSETS.firstDynamic, this.highIp);
  }

  ipInRange(ip: number): boolean {
    return cidrContains(this.cidr, ip) && ip >= this.lowIp && ip <= this.highIp;
  }

  /** The next free ClusterIP after the reserved offsets (kubernetes, kube-dns), or null when full. */
  allocateIp(owner: string): string | null {
    const reservedOffsets = new Set<number>([CLUSTER_IP_OFFSETS.kubernetes, CLUSTER_IP_OFFSETS.kubeDns]);
    const total = this.highIp - this.lowIp + 1;
    for (let n = 0; n < total; n++) {
      const ip = this.nextIp;
      this.nextIp = ip >= this.highIp ? this.lowIp + 1 : ip + 1; // wrap to offset 2
      if (this.ips.has(ip) || reservedOffsets.has(ip - this.cidr.base)) continue;
      this.ips.set(ip, owner);
      return intToIp(ip);
    }
    return null;
  }

  /** Upper band first, then lower band; sequential within a band. null when the range is full. */
  allocatePort(owner: string): number | null {
    const { base, max } = this.settings.nodePortRange;
    const size = max - base + 1;
    const offset = nodePortRangeOffset(size);
    for (const [from, to] of [[base + offset, max], [base, base + offset - 1]] as const)
      for (let p = from; p <= to; p++)
        if (!this.ports.has(p)) {
          this.ports.set(p, owner);
          return p;
        }
    return null;
  }
}

function rangeText(s: ClusterSettings): string {
  return `${s.nodePortRange.base}-${s.nodePortRange.max}`;
}

function nodePortOutOfRange(port: number, settings: ClusterSettings, what = "nodePort"): [string, string] {
  return [
    `${what} ${port} is outside the node-port range ${rangeText(settings)}; widen it with \`node-port-range 1-65535\` in the cluster block (kube-apiserver --service-node-port-range)`,
    `Invalid value: ${port}: provided port is not in the valid range. The range of valid ports is ${rangeText(settings)}`,
  ];
}

/** Whether this Service gets nodePorts allocated (txnAllocNodePorts / shouldAllocateNodePorts). */
function allocatesNodePorts(spec: ServiceSpec): boolean {
  return spec.type === "NodePort" || (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts !== false);
}

function hasClusterIP(spec: ServiceSpec): boolean {
  return spec.type !== "ExternalName" && spec.clusterIP !== "None";
}

/**
 * Defaults, validates and allocates `inputs`, with `existing` (already admitted Services, e.g.
 * the base world when a scenario applies more) holding their addresses and ports.
 */
export function admitServices(inputs: ServiceInput[], ctx: AdmitContext, existing: Service[] = []): AdmitResult {
  const diagnostics: Diagnostic[] = [];
  const alloc = new Allocators(ctx.settings);
  for (const s of existing) {
    const key = serviceKey(s);
    if (s.spec.clusterIP && isIPv4(s.spec.clusterIP)) alloc.ips.set(ipToInt(s.spec.clusterIP), key);
    for (const p of s.spec.ports ?? []) if (p.nodePort) alloc.ports.set(p.nodePort, key);
    if (s.spec.healthCheckNodePort) alloc.ports.set(s.spec.healthCheckNodePort, key);
  }
  const names = new Set(existing.map(serviceKey));

  // 1. default + validate
  const valid: Array<{ svc: Service; r: Reporter; counter: { errors: number } }> = [];
  for (const input of inputs) {
    const svc = defaultService(input.service);
    const counter = { errors: 0 };
    const r = reporter(svc, input.loc, diagnostics, counter);
    const key = serviceKey(svc);
    if (names.has(key)) {
      r.error(["metadata", "name"], `a Service named \`${svc.metadata.name}\` already exists in namespace ${svc.metadata.namespace}`, `services "${svc.metadata.name}" already exists`);
      continue;
    }
    names.add(key);
    validateService(svc, r, ctx);
    if (counter.errors === 0) valid.push({ svc, r, counter });
  }

  // 2. reserve what the user pinned
  for (const v of valid) {
    const { svc, r } = v;
    const spec = svc.spec;
    const key = serviceKey(svc);
    if (hasClusterIP(spec) && spec.clusterIP) {
      const ip = ipToInt(spec.clusterIP);
      if (!alloc.ipInRange(ip))
        r.error(["spec", "clusterIP"], `clusterIP ${spec.clusterIP} is outside the service CIDR ${ctx.settings.serviceCidr} (or is its network/broadcast address)`, `Invalid value: "${spec.clusterIP}": provided IP is not in the valid range. The range of valid IPs is ${ctx.settings.serviceCidr}`);
      else if (alloc.ips.has(ip))
        r.error(["spec", "clusterIP"], `clusterIP ${spec.clusterIP} is already allocated to Service ${alloc.ips.get(ip)}`, `Invalid value: "${spec.clusterIP}": provided IP is already allocated`);
      else alloc.ips.set(ip, key);
    }
    const sharedPorts = new Set<number>(); // a port number TCP and UDP may share one nodePort
    const pinned: Array<[FieldPath, number, string]> = [];
    if (spec.type === "NodePort" || spec.type === "LoadBalancer")
      (spec.ports ?? []).forEach((p, i) => {
        if (p.nodePort) pinned.push([["spec", "ports", i, "nodePort"], p.nodePort, "nodePort"]);
      });
    if (needsHealthCheck(spec) && spec.healthCheckNodePort) pinned.push([["spec", "healthCheckNodePort"], spec.healthCheckNodePort, "healthCheckNodePort"]);
    for (const [path, port, what] of pinned) {
      const { base, max } = ctx.settings.nodePortRange;
      if (port < base || port > max) {
        const [msg, api] = nodePortOutOfRange(port, ctx.settings, what);
        r.error(path, msg, api);
      } else if (sharedPorts.has(port)) continue;
      else if (alloc.ports.has(port))
        r.error(path, `${what} ${port} is already allocated to Service ${alloc.ports.get(port)}`, `Invalid value: ${port}: provided port is already allocated`);
      else {
        alloc.ports.set(port, key);
        sharedPorts.add(port);
      }
    }
  }

  // 3. allocate the rest, in declaration order
  const services: Service[] = [];
  for (const { svc, r, counter } of valid) {
    if (counter.errors > 0) continue;
    const spec = svc.spec;
    const key = serviceKey(svc);
    if (hasClusterIP(spec)) {
      if (!spec.clusterIP) {
        const ip = alloc.allocateIp(key);
        if (!ip) {
          r.error(["spec"], `no free ClusterIP left in the service CIDR ${ctx.settings.serviceCidr}`, "Internal error: failed to allocate a serviceIP: range is full");
          continue;
        }
        spec.clusterIP = ip;
      }
      spec.clusterIPs = [spec.clusterIP];
      spec.ipFamilies = ["IPv4"];
      spec.ipFamilyPolicy ??= "SingleStack";
    } else if (spec.type !== "ExternalName") {
      spec.clusterIPs = ["None"];
      spec.ipFamilies = ["IPv4"];
      spec.ipFamilyPolicy ??= "SingleStack";
    }
    if (allocatesNodePorts(spec)) {
      // Ports sharing a port number share one nodePort (TCP/53 and UDP/53).
      const byNumber = new Map<number, number>();
      for (const p of spec.ports ?? []) if (p.nodePort && !byNumber.has(p.port)) byNumber.set(p.port, p.nodePort);
      let full = false;
      for (const p of spec.ports ?? []) {
        if (p.nodePort) continue;
        let np = byNumber.get(p.port);
        if (np === undefined) {
          const got = alloc.allocatePort(key);
          if (got === null) {
            full = true;
            break;
          }
          np = got;
          byNumber.set(p.port, np);
        }
        p.nodePort = np;
      }
      if (full) {
        r.error(["spec", "ports"], `no free node port left in the node-port range ${rangeText(ctx.settings)}`, "Internal error: failed to allocate a nodePort: range is full");
        continue;
      }
    }
    if (needsHealthCheck(spec) && !spec.healthCheckNodePort) {
      const got = alloc.allocatePort(key);
      if (got === null) {
        r.error(["spec"], `no free node port left for healthCheckNodePort in ${rangeText(ctx.settings)}`, "Internal error: failed to allocate a nodePort: range is full");
        continue;
      }
      spec.healthCheckNodePort = got;
    }
    services.push(svc);
  }
  return { services, diagnostics };
}

/**
 * An update of an admitted Service (as `kubectl apply`/`edit` would send), with what the
 * apiserver's registry does on update: fields it allocated stay unless the new type no longer
 * uses them (dropTypeDependentFields releases nodePorts when the type becomes ClusterIP or
 * ExternalName, and healthCheckNodePort when it is no longer needed); the clusterIP is
 * immutable; newly needed values are allocated.
 */
export function updateService(old: Service, next: Service, loc: Locator, ctx: AdmitContext, others: Service[]): AdmitResult {
  const s = clone(next);
  const spec = s.spec;
  const oldSpec = old.spec;
  const diagnostics: Diagnostic[] = [];
  // clusterIP: immutable unless the type moves to or from ExternalName.
  if (spec.type !== "ExternalName" && oldSpec.type !== "ExternalName") {
    if (spec.clusterIP === undefined || spec.clusterIP === "") {
      spec.clusterIP = oldSpec.clusterIP;
      spec.clusterIPs = oldSpec.clusterIPs;
    } else if (spec.clusterIP !== oldSpec.clusterIP) {
      diagnostics.push(
        diagAt(loc, ["spec", "clusterIP"], "error", "validation", `Service ${s.metadata.name}: clusterIP cannot be changed (${oldSpec.clusterIP} → ${spec.clusterIP}); delete and re-create the Service`, {
          notes: ["kube-apiserver: spec.clusterIPs[0]: Invalid value: field is immutable"],
        }),
      );
      return { services: [], diagnostics };
    }
  } else if (spec.type === "ExternalName") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.ipFamilies;
    delete spec.ipFamilyPolicy;
  }
  const usesNodePorts = spec.type === "NodePort" || spec.type === "LoadBalancer";
  if (!usesNodePorts) for (const p of spec.ports ?? []) if (oldSpec.ports?.some((o) => o.nodePort === p.nodePort)) delete p.nodePort;
  if (usesNodePorts) {
    // Keep the nodePort an unchanged port already had (patchAllocatedValues).
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const prev = oldSpec.ports?.find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"));
      if (prev?.nodePort) p.nodePort = prev.nodePort;
    }
  }
  const defaulted = defaultService(s);
  if (!needsHealthCheck(defaulted.spec)) {
    if (spec.healthCheckNodePort === oldSpec.healthCheckNodePort) delete spec.healthCheckNodePort;
  } else if (!spec.healthCheckNodePort && needsHealthCheck(oldSpec)) spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
  // A Service switched from externally accessible to not: its defaulted policy goes with it.
  if (!externallyAccessible(defaulted.spec) && spec.externalTrafficPolicy === oldSpec.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  if (spec.type !== "LoadBalancer" && spec.allocateLoadBalancerNodePorts === oldSpec.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
  const key = serviceKey(old);
  const rest = others.filter((o) => serviceKey(o) !== key);
  const res = admitServices([{ service: s, loc }], ctx, rest);
  return { services: res.services, diagnostics: [...diagnostics, ...res.diagnostics] };
}
