// From the syntax tree to the validated World: cluster settings, nodes, pods, clients, routes,
// Services (inline blocks and YAML), Deployments, EndpointSlices/Endpoints, then the system
// objects a real cluster has (kube-dns, the `kubernetes` Service), apiserver admission of every
// Service, pod addresses, and a check of every name the scenarios use.

import type { Diagnostic, Position } from "../lang/diagnostic.js";
import type * as A from "../lang/ast.js";
import { suggest } from "../lang/suggest.js";
import { SERVICE_NAME_LABEL, type EndpointSlice, type Protocol, type Service, type ServicePort } from "./k8s.js";
import { objectKey, type ClientDecl, type ClusterSettings, type Listener, type NodeDecl, type OutsideRoute, type PodDecl, type World } from "./model.js";
import { APISERVER_PORT, BUILTIN_NAMESPACES, CLUSTER_IP_OFFSETS, COREDNS, defaultSettings, NODE_POD_PREFIX } from "./defaults.js";
import { admitServices, isDns1123Label, isDns1123Subdomain, serviceKey, type ServiceInput } from "./apiserver.js";
import { assignPodIps, bridgeIpOf, mirrorEndpoints, nodePodCidr, nodeRangeCapacity, placeDeployment, type PodIpRequest } from "./controllers.js";
import { loadManifestFile, parseManifests, type ManifestLoad, type ManifestObject } from "./manifests.js";
import { diagAt, fixedLocator, type FieldPath, type Locator } from "./located.js";
import { cidrContains, cidrsOverlap, cidrText, intToIp, ipToInt, parseCidr } from "./ipv4.js";

export interface BuildOptions {
  /** The .svcspec path as shown in diagnostics. */
  file: string;
  /**
   * Reads a file by the path it is given, as is: buildWorld resolves manifest paths itself
   * (resolveManifestPath: relative to the .svcspec's directory) and reads `file` for caret lines.
   * The callback must NOT resolve again.
   */
  readFile: (path: string) => string;
}

export interface BuildResult {
  world: World | null;
  diagnostics: Diagnostic[];
}

/** A manifest path relative to the .svcspec file's directory. */
export function resolveManifestPath(specFile: string, manifest: string): string {
  if (manifest.startsWith("/")) return manifest;
  const slash = specFile.lastIndexOf("/");
  return slash < 0 ? manifest : `${specFile.slice(0, slash + 1)}${manifest}`;
}

// ---------------------------------------------------------------------------------------------
// Helpers

class Ctx {
  readonly diagnostics: Diagnostic[] = [];
  /** The file's lines, read on the first diagnostic: a clean file is not read a second time. */
  private lines: string[] | undefined;
  constructor(readonly opts: BuildOptions) {}
  line(pos: Position): string | undefined {
    if (pos.file !== this.opts.file) return undefined;
    if (this.lines === undefined) {
      let text = "";
      try {
        text = this.opts.readFile(this.opts.file);
      } catch {
        // Caret lines are a nicety; the positions are enough without them.
      }
      this.lines = text.split(/\r?\n/);
    }
    return this.lines[pos.line - 1];
  }
  error(pos: Position, code: string, message: string, extra: { suggestion?: string; notes?: string[] } = {}): void {
    this.push("error", pos, code, message, extra);
  }
  warn(pos: Position, code: string, message: string, extra: { suggestion?: string; notes?: string[] } = {}): void {
    this.push("warning", pos, code, message, extra);
  }
  private push(severity: Diagnostic["severity"], pos: Position, code: string, message: string, extra: { suggestion?: string; notes?: string[] }): void {
    const d: Diagnostic = { severity, code, message, pos };
    const l = this.line(pos);
    if (l !== undefined) d.sourceLine = l;
    if (extra.suggestion) d.suggestion = extra.suggestion;
    if (extra.notes?.length) d.notes = extra.notes;
    this.diagnostics.push(d);
  }
  /** A Locator over AST positions for an object written as a svcspec block. */
  locator(entries: Map<string, Position>, fallback: Position): Locator {
    return {
      at: (path: FieldPath) => {
        for (let n = path.length; n >= 0; n--) {
          const p = entries.get(path.slice(0, n).join("."));
          if (p) return p;
        }
        return fallback;
      },
      sourceLine: (pos) => this.line(pos),
    };
  }
}

const didYouMean = (word: string, candidates: Iterable<string>): string | undefined => {
  const s = suggest(word, candidates);
  return s ? `did you mean \`${s}\`?` : undefined;
};

function labelsOf(labels: A.Label[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) out[l.key.text] = l.value.text;
  return out;
}

function listenersOf(items: A.ListenItem[]): Listener[] {
  return items.map((i) => {
    const l: Listener = { protocol: i.protocol.value, port: i.port.value };
    if (i.name) l.name = i.name.text;
    return l;
  });
}

// ---------------------------------------------------------------------------------------------
// Base world

interface PendingPod {
  pod: PodDecl;
  pinned: boolean;
  nodePos: Position;
  ipPos: Position;
  system: boolean;
}

interface ServiceSource extends ServiceInput {
  pos: Position;
}

/**
 * The world's diagnostics for a file that also has syntax errors, without the errors those cause.
 * When every syntax error is inside a scenario, the declarations (cluster, Services, manifests)
 * are whole: the names, Kubernetes validation and the other scenarios are checked, and only what
 * is said about the broken statements' own lines is left out. A syntax error among the
 * declarations may have dropped a node, a pod or a Service that everything else names, so then
 * the world is checked once the syntax is fixed (nothing is returned).
 */
export function worldDiagnosticsBesideSyntaxErrors(ast: A.SpecFile, syntax: readonly Diagnostic[], opts: BuildOptions): Diagnostic[] {
  const errors = syntax.filter((d) => d.severity === "error");
  const scenarios = ast.items.filter((i): i is A.ScenarioBlock => i.kind === "scenario");
  const inScenario = (d: Diagnostic) => d.pos.file === opts.file && scenarios.some((s) => d.pos.line >= s.pos.line && d.pos.endLine <= s.pos.endLine);
  if (errors.length === 0 || !errors.every(inScenario)) return [];
  let built: BuildResult;
  try {
    built = buildWorld(ast, opts);
  } catch {
    // A tree recovered from syntax errors that the world cannot read: the syntax errors say enough.
    return [];
  }
  const onBrokenLine = (d: Diagnostic) => d.pos.file === opts.file && errors.some((e) => d.pos.line <= e.pos.endLine && d.pos.endLine >= e.pos.line);
  return built.diagnostics.filter((d) => !onBrokenLine(d));
}

export function buildWorld(ast: A.SpecFile, opts: BuildOptions): BuildResult {
  const ctx = new Ctx(opts);
  const settings = defaultSettings();
  const clusters = ast.items.filter((i): i is A.ClusterBlock => i.kind === "cluster");
  for (const extra of clusters.slice(1)) ctx.error(extra.pos, "duplicate", "a file declares one cluster; merge this block into the first one", { notes: [`first cluster block at line ${clusters[0]!.pos.line}`] });
  const cluster = clusters[0];
  const stmts = cluster?.statements ?? [];
  if (cluster?.name) settings.name = cluster.name.text;
  applySettings(ctx, settings, stmts.filter((s): s is A.ClusterSetting => s.kind === "setting"));

  // Namespaces: built-in, declared, and Namespace manifests (collected before anything is placed in one).
  const namespaces = new Set<string>(BUILTIN_NAMESPACES);
  const objectPositions = new Map<string, Position>();
  for (const s of stmts) if (s.kind === "namespace") addNamespace(ctx, namespaces, s.name.text, s.name.pos, objectPositions);

  const manifests: ManifestObject[] = [];
  const applied = new Map<A.ApplyStmt, ManifestObject[]>();
  for (const item of ast.items)
    if (item.kind === "apply") {
      const objects = loadApply(ctx, item).objects;
      applied.set(item, objects);
      manifests.push(...objects);
    }
  for (const m of manifests) if (m.kind === "Namespace") addNamespace(ctx, namespaces, m.object.metadata.name, m.pos, objectPositions);

  // Nodes
  const nodes = buildNodes(ctx, settings, stmts.filter((s): s is A.NodeStmt => s.kind === "node"));
  const nodeNames = nodes.map((n) => n.name);
  const hostNames = new Map<string, string>(); // name → what it is, for clashes
  for (const n of nodes) hostNames.set(n.name, "node");

  // Clients
  const clients: ClientDecl[] = [];
  for (const s of stmts) {
    if (s.kind !== "client") continue;
    if (hostNames.has(s.name.text)) {
      ctx.error(s.name.pos, "duplicate", `\`${s.name.text}\` is already a ${hostNames.get(s.name.text)}; hosts need distinct names (probes name them)`);
      continue;
    }
    const ip = s.ip.value;
    if (cidrContains(parseCidr(settings.nodeNetwork), ip) || (settings.podCidr && cidrContains(parseCidr(settings.podCidr), ip)) || cidrContains(parseCidr(settings.serviceCidr), ip))
      ctx.error(s.ip.pos, "validation", `client ${s.name.text} at ${s.ip.text} is inside the cluster's own networks (node network ${settings.nodeNetwork}, pod CIDR ${settings.podCidr}, service CIDR ${settings.serviceCidr}); a client lives outside, e.g. 203.0.113.7`);
    hostNames.set(s.name.text, "client");
    clients.push({ name: s.name.text, ip: s.ip.text, pos: s.pos });
  }

  // Pods: inline, deployments, manifests (in declaration order).
  const pending: PendingPod[] = [];
  const podNames = new Map<string, Position>();
  const addPod = (p: PendingPod, namePos: Position): void => {
    const clash = hostNames.get(p.pod.name);
    if (clash) {
      ctx.error(namePos, "duplicate", clash === "pod" ? `pod \`${p.pod.name}\` is declared twice` : `\`${p.pod.name}\` is already a ${clash}; hosts need distinct names (probes name them)`, {
        notes: podNames.has(p.pod.name) ? [`first declared at line ${podNames.get(p.pod.name)!.line}`] : undefined,
      });
      return;
    }
    if (!isDns1123Subdomain(p.pod.name)) ctx.error(namePos, "validation", `pod name \`${p.pod.name}\` must be lower-case letters, digits, '-' and '.' (a DNS-1123 subdomain)`);
    hostNames.set(p.pod.name, "pod");
    podNames.set(p.pod.name, namePos);
    objectPositions.set(objectKey("Pod", p.pod.namespace, p.pod.name), namePos);
    pending.push(p);
  };
  const checkNode = (name: A.Name): boolean => {
    if (nodeNames.includes(name.text)) return true;
    ctx.error(name.pos, "unknown-name", `unknown node \`${name.text}\``, { suggestion: didYouMean(name.text, nodeNames), notes: nodeNames.length ? [`nodes: ${nodeNames.join(", ")}`] : ["no node is declared: add `node NAME IP` to the cluster block"] });
    return false;
  };
  const checkNamespace = (name: string, pos: Position): boolean => {
    if (namespaces.has(name)) return true;
    ctx.error(pos, "unknown-name", `namespace \`${name}\` does not exist; declare it with \`namespace ${name}\` in the cluster block`, { suggestion: didYouMean(name, namespaces) });
    return false;
  };

  let manifestRoundRobin = 0;
  for (const s of stmts) {
    if (s.kind === "pod") {
      if (!checkNode(s.node)) continue;
      const ns = s.namespace?.text ?? "default";
      if (s.namespace && !checkNamespace(ns, s.namespace.pos)) continue;
      addPod(
        {
          pod: { name: s.name.text, namespace: ns, node: s.node.text, ip: s.ip?.text ?? "", labels: labelsOf(s.labels), listen: listenersOf(s.listen), ready: s.ready, pos: s.pos },
          pinned: s.ip !== null,
          nodePos: s.node.pos,
          ipPos: s.ip?.pos ?? s.pos,
          system: false,
        },
        s.name.pos,
      );
    } else if (s.kind === "deployment") {
      if (!s.nodes.every(checkNode)) continue;
      const ns = s.namespace?.text ?? "default";
      if (s.namespace && !checkNamespace(ns, s.namespace.pos)) continue;
      if (nodes.length === 0) {
        ctx.error(s.pos, "validation", `deployment ${s.name.text} has no node to run on: declare nodes first`);
        continue;
      }
      const pods = placeDeployment({ name: s.name.text, namespace: ns, replicas: s.replicas.value, labels: labelsOf(s.labels), listen: listenersOf(s.listen), nodes: s.nodes.map((n) => n.text) }, nodes);
      objectPositions.set(objectKey("Deployment", ns, s.name.text), s.name.pos);
      for (const pod of pods) addPod({ pod: { ...pod, pos: s.pos }, pinned: false, nodePos: s.pos, ipPos: s.pos, system: false }, s.name.pos);
    }
  }

  // Manifests (pods, deployments, services, slices) in order.
  const manifestServices = new Set<ManifestObject>();
  const manualSlices: EndpointSlice[] = [];
  const sliceNames = new Set<string>();
  for (const m of manifests) {
    const ns = m.object.metadata.namespace ?? "default";
    if (m.kind === "Namespace") continue;
    if (!namespaces.has(ns)) {
      ctx.diagnostics.push(diagAt(m.loc, ["metadata", "namespace"], "error", "unknown-name", `${m.kind} ${m.object.metadata.name}: namespace \`${ns}\` does not exist; declare it (\`namespace ${ns}\` in the cluster block, or a Namespace manifest)`, { suggestion: didYouMean(ns, namespaces) }));
      continue;
    }
    if (m.kind === "Service") manifestServices.add(m);
    else if (m.kind === "Pod") {
      const pod = podFromManifest(ctx, m, nodes, () => manifestRoundRobin++);
      if (pod) addPod(pod, m.pos);
    } else if (m.kind === "Deployment") {
      for (const pod of podsFromDeployment(ctx, m, nodes)) addPod(pod, m.pos);
    } else if (m.kind === "EndpointSlice" || m.kind === "Endpoints") {
      const slices = m.kind === "EndpointSlice" ? [sliceFromManifest(ctx, m)] : mirrorFromManifest(ctx, m);
      for (const sl of slices) {
        if (!sl) continue;
        const key = objectKey(m.kind, ns, m.object.metadata.name);
        if (sliceNames.has(key)) {
          ctx.diagnostics.push(diagAt(m.loc, ["metadata", "name"], "error", "duplicate", `${m.kind} ${m.object.metadata.name} is declared twice in namespace ${ns}`));
          break;
        }
        objectPositions.set(key, m.pos);
        manualSlices.push(sl);
      }
      sliceNames.add(objectKey(m.kind, ns, m.object.metadata.name));
    }
  }

  // Inline service blocks, in file order relative to applies: the file's order is declaration order.
  const ordered: ServiceSource[] = [];
  for (const item of ast.items) {
    if (item.kind === "service") ordered.push(serviceFromBlock(ctx, item));
    else if (item.kind === "apply")
      for (const m of applied.get(item) ?? []) if (m.kind === "Service" && manifestServices.has(m)) ordered.push({ service: m.object, loc: m.loc, pos: m.pos });
  }

  // System objects: the `kubernetes` Service and, with kube-dns, CoreDNS + the kube-dns Service.
  const systemPos: Position = cluster?.pos ?? ast.pos;
  const sysLoc = fixedLocator(systemPos, () => ctx.line(systemPos));
  const svcCidr = parseCidr(settings.serviceCidr);
  const systemServices: ServiceInput[] = [{ service: kubernetesService(intToIp(svcCidr.base + CLUSTER_IP_OFFSETS.kubernetes)), loc: sysLoc }];
  if (settings.kubeDns) {
    systemServices.push({ service: kubeDnsService(intToIp(svcCidr.base + CLUSTER_IP_OFFSETS.kubeDns)), loc: sysLoc });
    if (nodes.length > 0)
      for (const pod of placeDeployment({ name: COREDNS.deployment, namespace: "kube-system", replicas: COREDNS.replicas, labels: { ...COREDNS.labels }, listen: COREDNS.listen, nodes: [] }, nodes))
        addPod({ pod, pinned: false, nodePos: systemPos, ipPos: systemPos, system: true }, systemPos);
  }
  for (const s of ordered) objectPositions.set(objectKey("Service", s.service.metadata.namespace, s.service.metadata.name), s.pos);
  const admitted = admitServices([...systemServices, ...ordered], { settings, namespaces }, []);
  ctx.diagnostics.push(...admitted.diagnostics);

  if (nodes.length > 0) manualSlices.push(kubernetesEndpointSlice(nodes[0]!.ip));

  // Pod addresses: user pods before system pods (see defaults.ts).
  const podsInOrder = [...pending.filter((p) => !p.system), ...pending.filter((p) => p.system)];
  const requests: PodIpRequest[] = podsInOrder.map((p) => ({
    pod: p.pod,
    pinned: p.pinned,
    complain: (message, notes) => ctx.error(p.ipPos, "validation", `pod ${p.pod.name}: ${message}`, { notes }),
  }));
  assignPodIps(nodes, requests);

  // Outside routes
  const routes: OutsideRoute[] = [];
  for (const s of stmts) {
    if (s.kind !== "route") continue;
    if (!s.via.every(checkNode)) continue;
    routes.push({ cidr: cidrText(parseCidr(s.cidr.text)), viaNodes: s.via.map((v) => v.text), pos: s.pos });
  }

  const world: World = {
    file: opts.file,
    title: ast.title?.value ?? null,
    settings,
    nodes,
    pods: podsInOrder.map((p) => p.pod).filter((p) => p.ip !== ""),
    clients,
    routes,
    namespaces: [...namespaces],
    services: admitted.services,
    manualEndpointSlices: manualSlices,
    objectPositions,
  };

  checkScenarios(ctx, ast, world);
  const failed = ctx.diagnostics.some((d) => d.severity === "error");
  return { world: failed ? null : world, diagnostics: ctx.diagnostics };
}

function addNamespace(ctx: Ctx, namespaces: Set<string>, name: string, pos: Position, positions: Map<string, Position>): void {
  if (!isDns1123Label(name)) {
    ctx.error(pos, "validation", `namespace name \`${name}\` must be lower-case letters, digits and '-' (a DNS-1123 label)`);
    return;
  }
  if (namespaces.has(name) && positions.has(objectKey("Namespace", undefined, name))) {
    ctx.error(pos, "duplicate", `namespace \`${name}\` is declared twice`);
    return;
  }
  namespaces.add(name);
  positions.set(objectKey("Namespace", undefined, name), pos);
}

/** The manifests of an `apply` statement: a file relative to the .svcspec, or a heredoc. */
export function loadApplyManifests(item: A.ApplyStmt, opts: Pick<BuildOptions, "file" | "readFile">): ManifestLoad {
  if (item.source.kind === "file") {
    const resolved = resolveManifestPath(opts.file, item.source.path.value);
    return loadManifestFile(resolved, opts.readFile, resolved, item.source.path.pos);
  }
  const h = item.source.heredoc;
  // The dedented body keeps line numbers; its columns shift by the removed indentation.
  return parseManifests(h.dedented, { kind: "heredoc", file: opts.file, line: h.bodyLine, column: commonIndent(h.body) + 1 });
}

function loadApply(ctx: Ctx, item: A.ApplyStmt): ManifestLoad {
  const load = loadApplyManifests(item, ctx.opts);
  ctx.diagnostics.push(...load.diagnostics);
  return load;
}

function commonIndent(body: string): number {
  let min = Infinity;
  for (const l of body.split("\n")) {
    if (l.trim() === "") continue;
    min = Math.min(min, l.length - l.trimStart().length);
  }
  return min === Infinity ? 0 : min;
}

// ---------------------------------------------------------------------------------------------
// Settings and nodes

function applySettings(ctx: Ctx, s: ClusterSettings, settings: A.ClusterSetting[]): void {
  const seen = new Map<string, Position>();
  const cidrOk = (c: A.CidrLit, what: string): string | null => {
    const parsed = parseCidr(c.text);
    if (parsed.base !== c.base) {
      ctx.error(c.pos, "validation", `${what} ${c.text} has host bits set; the network is ${cidrText(parsed)}`, { suggestion: `write \`${cidrText(parsed)}\`` });
      return null;
    }
    return c.text;
  };
  for (const st of settings) {
    if (seen.has(st.key)) ctx.error(st.keyPos, "duplicate", `\`${st.key}\` is set twice in the cluster block`, { notes: [`first set at line ${seen.get(st.key)!.line}`] });
    seen.set(st.key, st.pos);
    switch (st.key) {
      case "pod-cidr": {
        const v = cidrOk(st.value, "pod-cidr");
        if (v) {
          if (st.value.prefix > NODE_POD_PREFIX - 1) ctx.error(st.value.pos, "validation", `pod-cidr ${v} is too small: each node takes a /${NODE_POD_PREFIX} from it; use /${NODE_POD_PREFIX - 1} or larger (e.g. 10.244.0.0/16)`);
          else s.podCidr = v;
        }
        break;
      }
      case "service-cidr": {
        const v = cidrOk(st.value, "service-cidr");
        if (v) {
          if (st.value.prefix > 28) ctx.error(st.value.pos, "validation", `service-cidr ${v} is too small: the kubernetes and kube-dns Services need its 1st and 10th addresses; use /28 or larger`);
          else s.serviceCidr = v;
        }
        break;
      }
      case "node-port-range": {
        const { base, max } = st.value;
        if (base.value > max.value) ctx.error(st.value.pos, "validation", `node-port-range ${base.value}-${max.value} is empty: the first port must not exceed the last`);
        else s.nodePortRange = { base: base.value, max: max.value };
        break;
      }
      case "proxy-mode":
        s.proxyMode = st.value.value;
        break;
      case "masquerade-all":
        s.masqueradeAll = st.value.value;
        break;
      case "masquerade":
        s.masquerade = st.value.value;
        break;
      case "hairpin-mode":
        s.hairpinMode = st.value.value;
        break;
      case "br-netfilter":
        s.brNetfilter = st.value.value;
        break;
      case "cloud-provider":
        s.cloudProvider = st.value.value;
        break;
      case "lb-pool": {
        const v = cidrOk(st.value, "lb-pool");
        if (v) s.lbPool = v;
        break;
      }
      case "cluster-domain":
        if (!isDns1123Subdomain(st.value.text)) ctx.error(st.value.pos, "validation", `cluster-domain \`${st.value.text}\` is not a DNS name`);
        else s.clusterDomain = st.value.text;
        break;
      case "localhost-nodeports":
        s.localhostNodePorts = st.value.value;
        break;
      case "nodeport-addresses": {
        const list: string[] = [];
        for (const c of st.value) {
          const v = cidrOk(c, "nodeport-addresses");
          if (v) list.push(v);
        }
        s.nodePortAddresses = list;
        break;
      }
      case "node-network": {
        const v = cidrOk(st.value, "node-network");
        if (v) s.nodeNetwork = v;
        break;
      }
      case "router":
        s.routerIp = st.value.text;
        break;
      case "kube-dns":
        s.kubeDns = st.value.value;
        break;
    }
  }
  // The router sits on the node network; a default router follows a moved node network.
  const net = parseCidr(s.nodeNetwork);
  if (!seen.has("router") && seen.has("node-network")) s.routerIp = intToIp(net.base + 1);
  if (!cidrContains(net, ipToInt(s.routerIp))) ctx.error(seen.get("router") ?? seen.get("node-network")!, "validation", `router ${s.routerIp} is not on the node network ${s.nodeNetwork}`);
  const pairs: Array<[string, string | null, string, string | null]> = [
    ["pod-cidr", s.podCidr, "service-cidr", s.serviceCidr],
    ["pod-cidr", s.podCidr, "node-network", s.nodeNetwork],
    ["service-cidr", s.serviceCidr, "node-network", s.nodeNetwork],
  ];
  for (const [an, a, bn, b] of pairs)
    if (a && b && cidrsOverlap(parseCidr(a), parseCidr(b)))
      ctx.error(seen.get(an) ?? seen.get(bn) ?? { file: ctx.opts.file, line: 1, column: 1, endLine: 1, endColumn: 1 }, "validation", `${an} ${a} overlaps ${bn} ${b}; they must be disjoint`);
}

function buildNodes(ctx: Ctx, settings: ClusterSettings, stmts: A.NodeStmt[]): NodeDecl[] {
  const nodes: NodeDecl[] = [];
  const net = parseCidr(settings.nodeNetwork);
  const ips = new Map<number, string>();
  const podCidr = settings.podCidr ?? "10.244.0.0/16";
  for (const [i, s] of stmts.entries()) {
    const name = s.name.text;
    if (nodes.some((n) => n.name === name)) {
      ctx.error(s.name.pos, "duplicate", `node \`${name}\` is declared twice`);
      continue;
    }
    if (!isDns1123Subdomain(name)) ctx.error(s.name.pos, "validation", `node name \`${name}\` must be lower-case letters, digits, '-' and '.' (a DNS-1123 subdomain)`);
    const ip = s.ip.value;
    if (!cidrContains(net, ip) || ip === net.base || ip === net.base + net.size - 1)
      ctx.error(s.ip.pos, "validation", `node ${name} at ${s.ip.text} is not on the node network ${settings.nodeNetwork}`, { notes: ["set `node-network CIDR` in the cluster block if the nodes live elsewhere"] });
    else if (ip === ipToInt(settings.routerIp)) ctx.error(s.ip.pos, "validation", `node ${name} at ${s.ip.text} has the router's address`);
    else if (ips.has(ip)) ctx.error(s.ip.pos, "duplicate", `node ${name} has the same address as node ${ips.get(ip)} (${s.ip.text})`);
    ips.set(ip, name);
    let range: string;
    if (s.podCidr) {
      const parsed = parseCidr(s.podCidr.text);
      if (parsed.base !== s.podCidr.base) {
        ctx.error(s.podCidr.pos, "validation", `pod-cidr ${s.podCidr.text} of node ${name} has host bits set; the network is ${cidrText(parsed)}`);
        continue;
      }
      if (settings.podCidr && !(cidrContains(parseCidr(settings.podCidr), parsed.base) && parsed.prefix >= parseCidr(settings.podCidr).prefix))
        ctx.error(s.podCidr.pos, "validation", `pod-cidr ${s.podCidr.text} of node ${name} is not inside the cluster pod-cidr ${settings.podCidr}`);
      range = cidrText(parsed);
    } else {
      if (i >= nodeRangeCapacity(podCidr)) {
        ctx.error(s.pos, "validation", `the cluster pod-cidr ${podCidr} has no /${NODE_POD_PREFIX} left for node ${name}; give it one with \`pod-cidr CIDR\` or widen the cluster pod-cidr`);
        continue;
      }
      range = nodePodCidr(podCidr, i);
    }
    const clash = nodes.find((n) => cidrsOverlap(parseCidr(n.podCidr), parseCidr(range)));
    if (clash) ctx.error((s.podCidr ?? s.name).pos, "validation", `pod range ${range} of node ${name} overlaps ${clash.podCidr} of node ${clash.name}`);
    nodes.push({ name, ip: s.ip.text, podCidr: range, bridgeIp: bridgeIpOf(range), pos: s.pos });
  }
  return nodes;
}

// ---------------------------------------------------------------------------------------------
// Objects from manifests

function podFromManifest(ctx: Ctx, m: Extract<ManifestObject, { kind: "Pod" }>, nodes: NodeDecl[], nextSlot: () => number): PendingPod | null {
  const p = m.object;
  const name = p.metadata.name;
  if (p.spec?.hostNetwork) {
    ctx.diagnostics.push(diagAt(m.loc, ["spec", "hostNetwork"], "warning", "not-simulated", `Pod ${name}: hostNetwork pods are not simulated; ignored`));
    return null;
  }
  const phase = p.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") {
    ctx.diagnostics.push(diagAt(m.loc, ["status", "phase"], "warning", "not-simulated", `Pod ${name}: a ${phase} pod is never an endpoint; ignored`));
    return null;
  }
  let node: string;
  const nodeNames = nodes.map((n) => n.name);
  if (p.spec?.nodeName) {
    if (!nodeNames.includes(p.spec.nodeName)) {
      ctx.diagnostics.push(diagAt(m.loc, ["spec", "nodeName"], "error", "unknown-name", `Pod ${name}: unknown node \`${p.spec.nodeName}\``, { suggestion: didYouMean(p.spec.nodeName, nodeNames) }));
      return null;
    }
    node = p.spec.nodeName;
  } else {
    if (nodes.length === 0) {
      ctx.diagnostics.push(diagAt(m.loc, ["metadata", "name"], "error", "validation", `Pod ${name}: no node to schedule it on; declare nodes in the cluster block`));
      return null;
    }
    node = nodes[nextSlot() % nodes.length]!.name;
  }
  const listen = listenersFromContainers(ctx, m.loc, p.spec?.containers ?? [], ["spec"], `Pod ${name}`);
  const ready = !(p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status !== "True") && phase !== "Pending";
  const pinned = typeof p.status?.podIP === "string" && p.status.podIP !== "";
  if (pinned && !/^\d{1,3}(\.\d{1,3}){3}$/.test(p.status!.podIP!)) {
    ctx.diagnostics.push(diagAt(m.loc, ["status", "podIP"], "error", "validation", `Pod ${name}: status.podIP \`${p.status!.podIP}\` is not an IPv4 address`));
    return null;
  }
  return {
    pod: { name, namespace: p.metadata.namespace ?? "default", node, ip: pinned ? p.status!.podIP! : "", labels: { ...(p.metadata.labels ?? {}) }, listen, ready, pos: m.pos },
    pinned,
    nodePos: m.loc.at(["spec", "nodeName"]),
    ipPos: m.loc.at(["status", "podIP"]),
    system: false,
  };
}

function listenersFromContainers(ctx: Ctx, loc: Locator, containers: Array<{ ports?: Array<{ name?: string; containerPort: number; protocol?: Protocol }> }>, base: FieldPath, who: string): Listener[] {
  const out: Listener[] = [];
  containers.forEach((c, ci) =>
    (c.ports ?? []).forEach((cp, pi) => {
      const path = [...base, "containers", ci, "ports", pi];
      const proto = cp.protocol ?? "TCP";
      if (typeof cp.containerPort !== "number" || cp.containerPort < 1 || cp.containerPort > 65535) {
        ctx.diagnostics.push(diagAt(loc, [...path, "containerPort"], "error", "validation", `${who}: containerPort must be 1-65535`));
        return;
      }
      if (proto !== "TCP" && proto !== "UDP") {
        ctx.diagnostics.push(diagAt(loc, [...path, "protocol"], "warning", "not-simulated", `${who}: ${proto} container ports are not simulated; ignored`));
        return;
      }
      const l: Listener = { protocol: proto, port: cp.containerPort };
      if (cp.name) l.name = cp.name;
      out.push(l);
    }),
  );
  return out;
}

function podsFromDeployment(ctx: Ctx, m: Extract<ManifestObject, { kind: "Deployment" }>, nodes: NodeDecl[]): PendingPod[] {
  const d = m.object;
  const name = d.metadata.name;
  const labels = d.spec?.template?.metadata?.labels ?? {};
  const matchLabels = d.spec?.selector?.matchLabels;
  if (!matchLabels || Object.keys(matchLabels).length === 0) {
    ctx.diagnostics.push(diagAt(m.loc, ["spec", "selector"], "error", "validation", `Deployment ${name}: spec.selector.matchLabels is required (apps/v1)`, { notes: ["kube-apiserver: spec.selector: Required value"] }));
    return [];
  }
  for (const [k, v] of Object.entries(matchLabels))
    if (labels[k] !== v) {
      ctx.diagnostics.push(diagAt(m.loc, ["spec", "template", "metadata", "labels"], "error", "validation", `Deployment ${name}: the selector \`${k}=${v}\` does not match the template labels`, { notes: ["kube-apiserver: spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"] }));
      return [];
    }
  const replicas = d.spec.replicas ?? 1;
  if (replicas < 0) {
    ctx.diagnostics.push(diagAt(m.loc, ["spec", "replicas"], "error", "validation", `Deployment ${name}: replicas must be 0 or more`));
    return [];
  }
  if (nodes.length === 0 && replicas > 0) {
    ctx.diagnostics.push(diagAt(m.loc, ["metadata", "name"], "error", "validation", `Deployment ${name}: no node to run its pods on; declare nodes in the cluster block`));
    return [];
  }
  if (d.spec.template?.spec?.hostNetwork) {
    ctx.diagnostics.push(diagAt(m.loc, ["spec", "template", "spec", "hostNetwork"], "warning", "not-simulated", `Deployment ${name}: hostNetwork pods are not simulated; ignored`));
    return [];
  }
  const listen = listenersFromContainers(ctx, m.loc, d.spec.template?.spec?.containers ?? [], ["spec", "template", "spec"], `Deployment ${name}`);
  const pods = placeDeployment({ name, namespace: d.metadata.namespace ?? "default", replicas, labels, listen, nodes: [] }, nodes);
  return pods.map((pod) => ({ pod: { ...pod, pos: m.pos }, pinned: false, nodePos: m.pos, ipPos: m.pos, system: false }));
}

function sliceFromManifest(ctx: Ctx, m: Extract<ManifestObject, { kind: "EndpointSlice" }>): EndpointSlice | null {
  const s = m.object;
  const name = s.metadata.name;
  if (s.addressType !== "IPv4") {
    ctx.diagnostics.push(diagAt(m.loc, ["addressType"], s.addressType ? "warning" : "error", "validation", s.addressType ? `EndpointSlice ${name}: addressType ${s.addressType} is not simulated (IPv4 only); ignored` : `EndpointSlice ${name}: addressType is required (IPv4)`));
    return null;
  }
  if (!s.metadata.labels?.[SERVICE_NAME_LABEL])
    ctx.diagnostics.push(diagAt(m.loc, ["metadata", "labels"], "warning", "validation", `EndpointSlice ${name} has no \`${SERVICE_NAME_LABEL}\` label: no Service will use it`));
  let ok = true;
  (s.endpoints ?? []).forEach((e, i) => {
    (e.addresses ?? []).forEach((a, j) => {
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) {
        ok = false;
        ctx.diagnostics.push(diagAt(m.loc, ["endpoints", i, "addresses", j], "error", "validation", `EndpointSlice ${name}: \`${a}\` is not an IPv4 address`));
      }
    });
    if (!e.addresses || e.addresses.length === 0) {
      ok = false;
      ctx.diagnostics.push(diagAt(m.loc, ["endpoints", i], "error", "validation", `EndpointSlice ${name}: endpoints[${i}].addresses is required`));
    }
  });
  (s.ports ?? []).forEach((p, i) => {
    if (p.port !== undefined && p.port !== null && (p.port < 1 || p.port > 65535)) {
      ok = false;
      ctx.diagnostics.push(diagAt(m.loc, ["ports", i, "port"], "error", "validation", `EndpointSlice ${name}: port ${p.port} is not 1-65535`));
    }
  });
  if (!ok) return null;
  return { ...s, metadata: { ...s.metadata, namespace: s.metadata.namespace ?? "default" }, endpoints: s.endpoints ?? [], ports: (s.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? "TCP" })) };
}

function mirrorFromManifest(ctx: Ctx, m: Extract<ManifestObject, { kind: "Endpoints" }>): EndpointSlice[] {
  const { slices, problems } = mirrorEndpoints(m.object);
  for (const p of problems) ctx.diagnostics.push(diagAt(m.loc, p.path, "error", "validation", p.message));
  return problems.length ? [] : slices;
}

// ---------------------------------------------------------------------------------------------
// Inline service blocks

export function serviceFromBlock(ctx: { error: Ctx["error"]; locator: Ctx["locator"] }, b: A.ServiceBlock): ServiceSource {
  const pos = new Map<string, Position>();
  pos.set("", b.pos);
  pos.set("metadata.name", b.name.pos);
  const svc: Service = { apiVersion: "v1", kind: "Service", metadata: { name: b.name.text, namespace: "default" }, spec: {} };
  if (b.type) {
    svc.spec.type = b.type.value;
    pos.set("spec.type", b.type.pos);
  }
  applyServiceFields(svc, b.fields, pos);
  return { service: svc, loc: ctx.locator(pos, b.pos), pos: b.name.pos };
}

/** Writes block fields into a Service (spec paths recorded in `pos`). Repeated `port` lines add ports. */
export function applyServiceFields(svc: Service, fields: A.ServiceField[], pos: Map<string, Position>): void {
  const spec = svc.spec;
  for (const f of fields) {
    switch (f.key) {
      case "namespace":
        svc.metadata.namespace = f.value.text;
        pos.set("metadata.namespace", f.value.pos);
        break;
      case "type":
        spec.type = f.value.value;
        pos.set("spec.type", f.pos);
        break;
      case "selector":
        spec.selector = { ...(spec.selector ?? {}), ...labelsOf(f.value) };
        pos.set("spec.selector", f.pos);
        break;
      case "port": {
        const p = f.value;
        spec.ports ??= [];
        const i = spec.ports.length;
        const sp: ServicePort = { port: p.port.value };
        if (p.name) sp.name = p.name.text;
        if (p.protocol) sp.protocol = p.protocol.value;
        if (p.target) sp.targetPort = p.target.kind === "number" ? p.target.port.value : p.target.name.text;
        if (p.nodePort) sp.nodePort = p.nodePort.value;
        spec.ports.push(sp);
        pos.set(`spec.ports.${i}`, f.pos);
        if (p.name) pos.set(`spec.ports.${i}.name`, p.name.pos);
        if (p.protocol) pos.set(`spec.ports.${i}.protocol`, p.protocol.pos);
        pos.set(`spec.ports.${i}.port`, p.port.pos);
        if (p.target) pos.set(`spec.ports.${i}.targetPort`, p.target.pos);
        if (p.nodePort) pos.set(`spec.ports.${i}.nodePort`, p.nodePort.pos);
        break;
      }
      case "cluster-ip":
        spec.clusterIP = "text" in f.value ? f.value.text : f.value.value;
        delete spec.clusterIPs;
        pos.set("spec.clusterIP", f.pos);
        break;
      case "external-traffic-policy":
        spec.externalTrafficPolicy = f.value.value;
        pos.set("spec.externalTrafficPolicy", f.pos);
        break;
      case "internal-traffic-policy":
        spec.internalTrafficPolicy = f.value.value;
        pos.set("spec.internalTrafficPolicy", f.pos);
        break;
      case "external-ips":
        spec.externalIPs = f.value.map((ip) => ip.text);
        pos.set("spec.externalIPs", f.pos);
        f.value.forEach((ip, i) => pos.set(`spec.externalIPs.${i}`, ip.pos));
        break;
      case "external-name":
        spec.externalName = f.value.text;
        pos.set("spec.externalName", f.pos);
        break;
      case "load-balancer-ip":
        spec.loadBalancerIP = f.value.text;
        pos.set("spec.loadBalancerIP", f.pos);
        break;
      case "load-balancer-source-ranges":
        spec.loadBalancerSourceRanges = f.value.map((c) => c.text);
        pos.set("spec.loadBalancerSourceRanges", f.pos);
        f.value.forEach((c, i) => pos.set(`spec.loadBalancerSourceRanges.${i}`, c.pos));
        break;
      case "health-check-node-port":
        spec.healthCheckNodePort = f.value.value;
        pos.set("spec.healthCheckNodePort", f.pos);
        break;
      case "session-affinity":
        spec.sessionAffinity = f.value.mode.value;
        pos.set("spec.sessionAffinity", f.pos);
        if (f.value.timeout) {
          spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: f.value.timeout.value } };
          pos.set("spec.sessionAffinityConfig", f.value.timeout.pos);
        } else if (f.value.mode.value === "None") delete spec.sessionAffinityConfig;
        break;
      case "publish-not-ready-addresses":
        spec.publishNotReadyAddresses = f.value.value;
        pos.set("spec.publishNotReadyAddresses", f.pos);
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// System objects

function kubernetesService(ip: string): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kubernetes", namespace: "default", labels: { component: "apiserver", provider: "kubernetes" } },
    spec: { type: "ClusterIP", clusterIP: ip, ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: APISERVER_PORT }] },
  };
}

function kubernetesEndpointSlice(nodeIp: string): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "kubernetes", namespace: "default", labels: { [SERVICE_NAME_LABEL]: "kubernetes" } },
    addressType: "IPv4",
    endpoints: [{ addresses: [nodeIp], conditions: { ready: true } }],
    ports: [{ name: "https", protocol: "TCP", port: APISERVER_PORT }],
  };
}

function kubeDnsService(ip: string): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS" } },
    spec: {
      type: "ClusterIP",
      clusterIP: ip,
      selector: { ...COREDNS.labels },
      ports: [
        { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
        { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
        { name: "metrics", protocol: "TCP", port: 9153, targetPort: 9153 },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scenario names

interface Names {
  nodes: Set<string>;
  pods: Set<string>;
  clients: Set<string>;
  services: Set<string>;
}

function namesOf(world: World): Names {
  return {
    nodes: new Set(world.nodes.map((n) => n.name)),
    pods: new Set(world.pods.map((p) => p.name)),
    clients: new Set(world.clients.map((c) => c.name)),
    services: new Set(world.services.map((s) => s.metadata.name)),
  };
}

type NameKind = keyof Names;
const HOST_KINDS: readonly NameKind[] = ["nodes", "pods", "clients"];
const HOST_REF_KINDS: readonly NameKind[] = ["nodes", "pods", "clients", "services"];
const NODE_KINDS: readonly NameKind[] = ["nodes"];
const POD_KINDS: readonly NameKind[] = ["pods"];
const SERVICE_KINDS: readonly NameKind[] = ["services"];

/** Checks every name the scenarios use, against the base world plus earlier in-scenario applies. */
function checkScenarios(ctx: Ctx, ast: A.SpecFile, world: World): void {
  const base = namesOf(world);
  for (const sc of ast.items) {
    if (sc.kind !== "scenario") continue;
    // The base sets themselves until the scenario changes one (a delete or an apply): most
    // scenarios change none, and copying four sets per scenario was most of this check's cost.
    const n: Names = { nodes: base.nodes, pods: base.pods, clients: base.clients, services: base.services };
    const own = (kind: NameKind): Set<string> => (n[kind] === base[kind] ? (n[kind] = new Set(base[kind])) : n[kind]);
    const want = (name: A.Name, what: string, kinds: readonly NameKind[]): void => {
      for (const k of kinds) if (n[k].has(name.text)) return;
      const all = kinds.flatMap((k) => [...n[k]]);
      ctx.error(name.pos, "unknown-name", `unknown ${what} \`${name.text}\``, { suggestion: didYouMean(name.text, all), notes: all.length ? undefined : [`no ${what} is declared`] });
    };
    const host = (name: A.Name): void => want(name, "host (node, pod or client)", HOST_KINDS);
    const hostRef = (h: A.HostRef): void => {
      if (h.kind === "name") want(h.name, "host (node, pod, client or Service)", HOST_REF_KINDS);
    };
    const node = (name: A.Name): void => want(name, "node", NODE_KINDS);
    const pod = (name: A.Name): void => want(name, "pod", POD_KINDS);
    const service = (name: A.Name): void => want(name, "Service", SERVICE_KINDS);
    for (const st of sc.statements) {
      switch (st.kind) {
        case "send":
        case "trace":
          host(st.from);
          if (st.to.kind === "name") want(st.to.name, "target (node, pod, client or Service)", HOST_REF_KINDS);
          else if (st.to.kind === "lb") service(st.to.service);
          for (const e of st.expects) {
            const c = e.check;
            if (c.kind === "reply-from" || c.kind === "source-seen") hostRef(c.host);
            else if (c.kind === "delivered-to") c.pods.forEach(pod);
            else if (c.kind === "via") node(c.node);
          }
          break;
        case "resolve":
        case "nslookup":
          // Any host may ask; only pods use kube-dns (the others get "does not resolve").
          host(st.from);
          break;
        case "show": {
          const w = st.what;
          if ("node" in w) node(w.node);
          else if (w.subject === "endpoints") service(w.service);
          break;
        }
        case "set-pod":
        case "delete-pod":
          pod(st.pod);
          if (st.kind === "delete-pod") own("pods").delete(st.pod.text);
          break;
        case "delete-service":
        case "set-service":
          service(st.service);
          if (st.kind === "delete-service") own("services").delete(st.service.text);
          break;
        case "stop-kube-proxy":
        case "fail-node":
          node(st.node);
          break;
        case "stop-kube-dns":
          break;
        case "apply": {
          // Names this apply introduces (validated for real when the scenario runs it).
          const load = loadApplyManifests(st, ctx.opts);
          ctx.diagnostics.push(...load.diagnostics);
          for (const o of load.objects) {
            if (o.kind === "Service") own("services").add(o.object.metadata.name);
            else if (o.kind === "Pod") own("pods").add(o.object.metadata.name);
            else if (o.kind === "Deployment") for (let k = 1; k <= (o.object.spec?.replicas ?? 1); k++) own("pods").add(`${o.object.metadata.name}-${k}`);
          }
          break;
        }
      }
    }
  }
}

// Re-exported for the scenario change functions.
export { namesOf, serviceKey };
