// The kernel engine: builds a Topology out of real network namespaces on this machine (veth
// pairs, bridges, routes, sysctls, the node's iptables loaded with iptables-restore), runs the
// probe with real sockets, and fills the same ProbeOutcome the simulator fills. Load balancing
// is random in the kernel, so a probe is repeated until every endpoint the simulator predicts
// was seen (bounded) and the branches carry observed shares.
//
// Evidence per attempt: the client socket's errno; what the echo/DNS server reported (who took
// the request and the source it saw); counter rules in the client's mangle INPUT (what came
// back and from whom); and the conntrack tables of the nodes (the path and every NAT rewrite).

import { existsSync } from "node:fs";
import type { Endpoint4, ProbeBranch, ProbeOutcome, ProbeRequest, Signal, TraceEvent } from "../net/outcome.js";
import type { HostSpec, Topology } from "../net/topology.js";
import { Agent, type AgentProbeReply, type SeenEvent } from "./agent-client.js";
import { deleteNamespacesSync, registerLab, unregisterLab, type SyncDestroyable } from "./cleanup.js";
import { followFlow, parseConntrack, type ConntrackEntry, type FlowHop } from "./conntrack.js";
import { counterReplyFrom, failureSignal, parseProbeCounters, PROBE_CHAIN, probeChainRestore, type ProbeCounters } from "./counters.js";
import type { DnsZone } from "./dns-wire.js";
import { checkPrerequisites, LabPrerequisiteError, run, runIn, shIn, type IptablesBackend } from "./exec.js";
import { newLabPrefix } from "./names.js";
import { planLab, type LabPlan } from "./plan.js";

export interface KernelLabOptions {
  /** Namespace name prefix; default `svs` + 6 random hex digits (what `lab clean` recognises). */
  prefix?: string;
  /** Records the lab's DNS servers (listeners with app "dns") answer from. */
  dnsZone?: DnsZone;
  /** Bound on one TCP connect / UDP or DNS exchange, in milliseconds (default 1500). */
  timeoutMs?: number;
}

export interface KernelProbeOptions {
  /** Hosts the simulator predicts the request reaches: repeat until each was seen (bounded). */
  expectEndpoints?: string[];
  /** Upper bound on attempts when endpoints are expected (default 40). */
  maxAttempts?: number;
  /** Make at least this many attempts (default 1), e.g. to observe shares. */
  minAttempts?: number;
}

export interface KernelLabTimings {
  /** Wall time of KernelLab.create, in milliseconds. */
  buildMs: number;
  probes: number;
  attempts: number;
  /** Total wall time spent in probe(), in milliseconds. */
  probeMs: number;
}

/** One attempt's observation, before identical ones are grouped into branches. */
interface Observation {
  result: ProbeBranch["result"];
  signal: Signal;
  replyFrom: Endpoint4 | null;
  deliveredTo: ProbeBranch["deliveredTo"];
  sourceSeen: Endpoint4 | null;
  via: string[];
  masqueraded: boolean;
  dns?: ProbeBranch["dns"];
  hops: FlowHop[];
  errno?: string;
  sport: number;
}

const DEFAULT_TIMEOUT_MS = 1500;
const DEFAULT_MAX_ATTEMPTS = 40;
/** Attempts after which a probe that never reached any server stops repeating. */
const GIVE_UP_UNDELIVERED = 3;
/** How long to wait for a DNS server's "seen" event after its answer arrived. */
const SEEN_GRACE_MS = 200;

export class KernelLab implements SyncDestroyable {
  private readonly agents = new Map<string, Agent>();
  private readonly countersReady = new Map<string, { sources: Set<string>; ports: Set<string> }>();
  private readonly hosts: Map<string, HostSpec>;
  private queue: Promise<unknown> = Promise.resolve();
  private nextSport = 20000 + Math.floor(Math.random() * 8000);
  private destroyed = false;
  readonly timings: KernelLabTimings = { buildMs: 0, probes: 0, attempts: 0, probeMs: 0 };

  private constructor(
    readonly topology: Topology,
    readonly prefix: string,
    readonly backend: IptablesBackend,
    private readonly plan: LabPlan,
    private readonly zone: DnsZone,
    private readonly timeoutMs: number,
  ) {
    this.hosts = new Map(topology.hosts.map((h) => [h.name, h]));
  }

  /** Builds the topology in fresh namespaces. Throws LabPrerequisiteError when it cannot run here. */
  static async create(topology: Topology, options: KernelLabOptions = {}): Promise<KernelLab> {
    const started = performance.now();
    const prereq = checkPrerequisites();
    // Bridge netfilter decides the hairpin rows; without the module the sysctl does not exist
    // and bridged traffic would silently skip iptables. Loading a kernel module is the
    // operator's call (it changes bridges in every namespace), so ask rather than do it.
    if (topology.hosts.some((h) => h.bridges.length > 0 && h.sysctls.bridgeNfCallIptables) && !existsSync("/proc/sys/net/bridge/bridge-nf-call-iptables")) {
      throw new LabPrerequisiteError(["the br_netfilter kernel module (run `modprobe br_netfilter` once)"]);
    }
    const prefix = options.prefix ?? newLabPrefix();
    if (!/^[a-z][a-z0-9]{2,11}$/.test(prefix)) throw new Error(`lab prefix "${prefix}" must be 3-12 lowercase letters and digits`);
    const plan = planLab(topology, prefix);
    const lab = new KernelLab(topology, prefix, prereq.backend, plan, options.dnsZone ?? {}, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // Registered before anything exists, so an interrupt during the build still cleans up.
    registerLab(lab);
    try {
      await lab.build();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    lab.timings.buildMs = performance.now() - started;
    return lab;
  }

  private async build(): Promise<void> {
    const all = this.plan.namespaces;
    await run("ip", ["-batch", "-"], all.map((n) => `netns add ${n.ns}`).join("\n") + "\n");
    if (this.plan.links.length > 0) await run("ip", ["-batch", "-"], this.plan.links.join("\n") + "\n");
    // Servers start while the network is configured (they bind 0.0.0.0, which needs no
    // address yet): agent start-up is the slowest part of a build.
    // Nodes get an agent too: it reads their conntrack table after each attempt without the
    // cost of a new process per read.
    const servers = this.topology.hosts.filter((h) => h.up && (h.listeners.length > 0 || h.kind === "node")).map((h) => this.agentFor(h.name));
    const network = Promise.all(all.map((n) => shIn(n.ns, n.setup, n.host?.iptables ?? undefined)));
    const [agents] = await Promise.all([Promise.all(servers), network]);
    await Promise.all(
      agents.map(async (agent) => {
        const h = this.hosts.get(agent.host)!;
        if (h.listeners.length === 0) return;
        for (const l of h.listeners) await agent.listen(l.protocol, l.port, l.app, l.app === "dns" ? this.zone : undefined);
      }),
    );
  }

  private ns(host: string): string {
    const ns = this.plan.hostNamespaces.get(host);
    if (!ns) throw new Error(`no host "${host}" in this lab (hosts: ${[...this.plan.hostNamespaces.keys()].join(", ")})`);
    return ns;
  }

  private async agentFor(host: string): Promise<Agent> {
    let agent = this.agents.get(host);
    if (!agent) {
      agent = new Agent(this.ns(host), host);
      this.agents.set(host, agent);
      await agent.hello();
    }
    return agent;
  }

  /** Whether two hosts share an L2 segment (a veth pair or a switch). */
  private adjacent(a: string, b: string): boolean {
    const segs = (h: string): string[] => this.hosts.get(h)?.interfaces.map((i) => i.segment) ?? [];
    const mine = new Set(segs(a));
    return segs(b).some((s) => mine.has(s));
  }

  private ownAddresses(host: string): Set<string> {
    const h = this.hosts.get(host);
    const own = new Set<string>();
    if (!h) return own;
    for (const i of h.interfaces) for (const a of i.addrs) own.add(a.ip);
    for (const b of h.bridges) for (const a of b.addrs) own.add(a.ip);
    return own;
  }

  /** Installs (or widens) the probe counter chain in the client's namespace. */
  private async ensureCounters(host: string, req: ProbeRequest): Promise<void> {
    const wantSources = new Set<string>([req.dst]);
    const wantPorts = new Set<string>([`${req.protocol}/${req.dport}`]);
    for (const h of this.topology.hosts) {
      for (const i of h.interfaces) for (const a of i.addrs) wantSources.add(a.ip);
      for (const b of h.bridges) for (const a of b.addrs) wantSources.add(a.ip);
      for (const l of h.listeners) wantPorts.add(`${l.protocol.toLowerCase()}/${l.port}`);
    }
    const have = this.countersReady.get(host);
    if (have && [...wantSources].every((s) => have.sources.has(s)) && [...wantPorts].every((p) => have.ports.has(p))) return;
    const ports = [...wantPorts].map((p) => {
      const [protocol, port] = p.split("/");
      return { protocol: protocol as "tcp" | "udp", port: Number(port) };
    });
    const agent = await this.agentFor(host);
    await agent.exec(["iptables-restore", "-w", "--noflush"], probeChainRestore(wantSources, ports, !have));
    this.countersReady.set(host, { sources: wantSources, ports: wantPorts });
  }

  private async readCounters(host: string): Promise<ProbeCounters> {
    // -L with -Z lists then zeroes in one step: each attempt reads only its own packets.
    const agent = await this.agentFor(host);
    return parseProbeCounters(await agent.exec(["iptables", "-w", "-t", "mangle", "-L", "-v", "-n", "-x", "-Z"]));
  }

  private async conntrackTables(): Promise<Map<string, ConntrackEntry[]>> {
    const nodes = this.topology.hosts.filter((h) => h.kind === "node" && h.up);
    const texts = await Promise.all(nodes.map(async (h) => (await this.agentFor(h.name)).read("/proc/net/nf_conntrack")));
    return new Map(nodes.map((h, i) => [h.name, parseConntrack(texts[i]!)]));
  }

  /** Runs a probe (serialised per lab: the client counters are shared state). */
  probe(req: ProbeRequest, options: KernelProbeOptions = {}): Promise<ProbeOutcome> {
    const next = this.queue.then(() => this.probeNow(req, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async probeNow(req: ProbeRequest, options: KernelProbeOptions): Promise<ProbeOutcome> {
    if (this.destroyed) throw new Error("this kernel lab was destroyed");
    const started = performance.now();
    const client = this.hosts.get(req.from);
    if (!client) throw new Error(`no host "${req.from}" in this lab`);
    const agent = await this.agentFor(req.from);
    // A new or rewritten chain starts at zero and every read zeroes it: no read needed here.
    await this.ensureCounters(req.from, req);

    const expected = new Set(options.expectEndpoints ?? []);
    const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    const minAttempts = Math.max(1, options.minAttempts ?? 1);
    const observations: Observation[] = [];
    const seenHosts = new Set<string>();
    for (;;) {
      const obs = await this.attempt(agent, client, req);
      observations.push(obs);
      if (obs.deliveredTo) seenHosts.add(obs.deliveredTo.host);
      const n = observations.length;
      if (n >= maxAttempts) break;
      if (n < minAttempts) continue;
      if ([...expected].every((h) => seenHosts.has(h))) break;
      if (seenHosts.size === 0 && n >= GIVE_UP_UNDELIVERED) break;
    }
    this.timings.probes += 1;
    this.timings.attempts += observations.length;
    this.timings.probeMs += performance.now() - started;
    return { request: req, branches: groupBranches(observations, req, this.timeoutMs), engine: "kernel" };
  }

  private async attempt(agent: Agent, client: HostSpec, req: ProbeRequest): Promise<Observation> {
    const sport = req.sport ?? this.allocSport();
    const qid = Math.floor(Math.random() * 0xffff);
    const seen: SeenEvent[] = [];
    const unsubscribe = [...this.agents.values()].map((a) => a.onSeen((e) => e.qid === qid && seen.push(e)));
    let reply: AgentProbeReply;
    try {
      const common = { dst: req.dst, dport: req.dport, sport, timeoutMs: this.timeoutMs };
      if (req.dnsQuery) {
        reply = await agent.probe({ cmd: "dns", protocol: req.protocol, name: req.dnsQuery.name, qtype: req.dnsQuery.type, qid, ...common });
      } else {
        reply = await agent.probe({ cmd: req.protocol === "tcp" ? "connect" : "udp", ...common });
      }
      if (req.dnsQuery && reply.result === "connected" && seen.length === 0) await delay(SEEN_GRACE_MS);
    } finally {
      for (const u of unsubscribe) u();
    }
    const [counters, tables] = await Promise.all([this.readCounters(req.from), this.conntrackTables()]);

    const clientIp = reply.local?.ip && reply.local.ip !== "0.0.0.0" ? reply.local.ip : "";
    const hops = followFlow(req.protocol, { src: clientIp, sport, dst: req.dst, dport: req.dport }, tables, req.from, (a, b) => this.adjacent(a, b));
    const via = hops.map((h) => h.host).filter((h) => this.hosts.get(h)?.kind === "node");
    const masqueraded = hops.some((h) => h.snat);

    const report = reply.report ?? (seen[0] ? { ...seen[0] } : undefined);
    let deliveredTo: Observation["deliveredTo"] = null;
    let sourceSeen: Endpoint4 | null = null;
    if (report) {
      // An unconnected UDP server socket only knows it is bound to 0.0.0.0; the address the
      // datagram was delivered to is the flow's final destination.
      const finalDst = hops.length > 0 ? hops[hops.length - 1]!.out.dst : req.dst;
      deliveredTo = { host: report.host, ip: report.ip === "0.0.0.0" ? finalDst : report.ip, port: report.port };
      sourceSeen = { ip: report.sourceIp, port: report.sourcePort };
    }
    let signal: Signal;
    let replyFrom: Endpoint4 | null;
    if (reply.result === "connected") {
      signal = req.protocol === "tcp" ? "syn-ack" : "udp-reply";
      // The socket only accepts what un-NATs to the peer it connected to.
      replyFrom = { ip: req.dst, port: req.dport };
    } else {
      signal = failureSignal(counters, reply.result, req.protocol);
      replyFrom = counterReplyFrom(counters, this.ownAddresses(client.name), signal);
    }
    return {
      result: reply.result,
      signal,
      replyFrom,
      deliveredTo,
      sourceSeen,
      via,
      masqueraded,
      dns: reply.dns,
      hops,
      errno: reply.errno,
      sport,
    };
  }

  private allocSport(): number {
    // Below the kernel's ephemeral range (32768-60999), unique per attempt within a lab, so
    // an attempt's conntrack entries are found by port and never collide with a previous one.
    const p = this.nextSport;
    this.nextSport = p >= 32000 ? 20000 : p + 1;
    return p;
  }

  /** `iptables-save` in the host's namespace, without the lab's own probe counters. */
  async iptablesSave(host: string): Promise<string> {
    const { stdout } = await runIn(this.ns(host), ["iptables-save"]);
    const loadedTables = new Set((this.hosts.get(host)?.iptables ?? "").split("\n").filter((l) => l.startsWith("*")).map((l) => l.trim()));
    return stripProbeChain(stdout, loadedTables);
  }

  /** The host's conntrack table, one entry a line as `conntrack -L` prints it. */
  async conntrackList(host: string): Promise<string> {
    const { stdout } = await runIn(this.ns(host), ["cat", "/proc/net/nf_conntrack"]);
    return parseConntrack(stdout)
      .map((e) => e.text)
      .join("\n");
  }

  /** `ip route show` in the host's namespace. */
  async routesText(host: string): Promise<string> {
    const { stdout } = await runIn(this.ns(host), ["ip", "route", "show"]);
    return stdout;
  }

  /** The hairpin_mode flag of every bridge port, read from the namespace's sysfs. */
  async hairpinText(host: string): Promise<string> {
    const script = 'for f in /sys/class/net/*/brport/hairpin_mode; do [ -e "$f" ] && echo "$f: $(cat "$f")"; done; true';
    return (await shIn(this.ns(host), script)).stdout;
  }

  /** `ip link show type bridge`: each bridge with its flags (PROMISC when set). */
  async bridgeText(host: string): Promise<string> {
    return (await runIn(this.ns(host), ["ip", "link", "show", "type", "bridge"])).stdout;
  }

  /** Process ids of the lab's running agents (for leak checks). */
  agentPids(): number[] {
    return [...this.agents.values()].map((a) => a.pid).filter((p): p is number => typeof p === "number");
  }

  /** Every namespace of this lab, hosts and switches. */
  namespaces(): string[] {
    return this.plan.namespaces.map((n) => n.ns);
  }

  /** The namespace playing a host (for people debugging with `ip netns exec`). */
  namespaceOf(host: string): string {
    return this.ns(host);
  }

  /** Stops every agent and deletes every namespace of this lab. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.agents.values()].map((a) => a.stop()));
    this.agents.clear();
    deleteNamespacesSync(this.plan.namespaces.map((n) => n.ns));
    unregisterLab(this);
  }

  /** For exit and signal handlers, which cannot wait for promises. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const a of this.agents.values()) a.killNow();
    this.agents.clear();
    deleteNamespacesSync(this.plan.namespaces.map((n) => n.ns));
    unregisterLab(this);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Removes the probe chain (and a mangle table that exists only because of it). */
export function stripProbeChain(saved: string, loadedTables: Set<string>): string {
  const blocks: Array<{ table: string | null; lines: string[]; rules: number }> = [];
  let cur: (typeof blocks)[number] | null = null;
  for (const line of saved.replace(/\n$/, "").split("\n")) {
    if (line.includes(PROBE_CHAIN)) continue;
    if (cur === null || line.startsWith("# Generated") || (line.startsWith("*") && cur.table !== null)) {
      cur = { table: null, lines: [], rules: 0 };
      blocks.push(cur);
    }
    if (line.startsWith("*")) cur.table = line.trim();
    if (line.startsWith("-A ")) cur.rules += 1;
    cur.lines.push(line);
  }
  const kept = blocks.filter((b) => b.table === null || b.rules > 0 || loadedTables.has(b.table));
  const text = kept.flatMap((b) => b.lines).join("\n");
  return text && saved.endsWith("\n") ? text + "\n" : text;
}

function endpointText(e: Endpoint4): string {
  return `${e.ip}:${e.port}`;
}

const SIGNAL_TEXT: Record<Signal, string> = {
  "syn-ack": "a SYN-ACK",
  "udp-reply": "a UDP reply",
  rst: "a TCP RST",
  "icmp-port-unreachable": "an ICMP port unreachable",
  "icmp-host-unreachable": "an ICMP host unreachable",
  "icmp-net-unreachable": "an ICMP net unreachable",
  "icmp-admin-prohibited": "an ICMP administratively prohibited",
  "icmp-time-exceeded": "an ICMP time exceeded",
  none: "nothing",
};

function hopText(h: FlowHop): string {
  const o = h.entry.original;
  const changes: string[] = [];
  if (h.dnat) changes.push(`DNAT to ${endpointText({ ip: h.out.dst, port: h.out.dport })}`);
  if (h.snat) changes.push(`source rewritten to ${endpointText({ ip: h.out.src, port: h.out.sport })}`);
  const what = changes.length > 0 ? changes.join(", ") : "forwarded unchanged";
  const flags = h.entry.flags.length > 0 ? ` [${h.entry.flags.join(",")}]` : "";
  return `conntrack ${h.entry.protocol} ${o.src}:${o.sport} → ${o.dst}:${o.dport}: ${what} (${h.entry.state ?? "no state"}${flags})`;
}

function explain(o: Observation, req: ProbeRequest, timeoutMs: number): string {
  const target = `${req.dst}:${req.dport}`;
  const path = o.hops.length > 0 ? ` through ${o.hops.map((h) => h.host).join(" → ")}` : "";
  const nat = o.hops
    .filter((h) => h.dnat || h.snat)
    .map((h) => `${h.host} ${[h.dnat ? `DNATed to ${h.out.dst}:${h.out.dport}` : "", h.snat ? `masqueraded to ${h.out.src}` : ""].filter(Boolean).join(" and ")}`)
    .join("; ");
  const natText = nat ? ` (${nat})` : "";
  if (o.result === "connected") {
    if (o.deliveredTo) {
      const src = o.sourceSeen ? `, source seen ${o.sourceSeen.ip}` : "";
      return `Real kernel: ${req.protocol.toUpperCase()} to ${target} reached ${o.deliveredTo.host} at ${o.deliveredTo.ip}:${o.deliveredTo.port}${path}${natText}${src}.`;
    }
    return `Real kernel: ${req.protocol.toUpperCase()} to ${target} got an answer${path}${natText}, but no lab server reported taking it.`;
  }
  const errno = o.errno ? `${o.errno}` : o.result;
  const came = o.signal === "none" ? "nothing came back" : `${SIGNAL_TEXT[o.signal]} came back${o.replyFrom ? ` from ${o.replyFrom.port ? endpointText(o.replyFrom) : o.replyFrom.ip}` : ""}`;
  let why = "";
  if (o.result === "timeout" && o.signal === "syn-ack") {
    why = ", from an address the client never talked to, so the client answered it with RST";
  } else if (o.result === "timeout") {
    why = ` within ${(timeoutMs / 1000).toFixed(1)} s`;
  }
  return `Real kernel: ${req.protocol.toUpperCase()} to ${target} failed with ${errno}: ${came}${why}${path ? `; the request went${path}` : ""}${natText}.`;
}

function traceOf(o: Observation, req: ProbeRequest): TraceEvent[] {
  const t: TraceEvent[] = [
    { phase: "request", host: req.from, kind: "send", text: `${req.from} sends ${req.protocol} from port ${o.sport} to ${req.dst}:${req.dport}` },
  ];
  for (const h of o.hops) t.push({ phase: "request", host: h.host, kind: "conntrack", text: hopText(h) });
  if (o.deliveredTo) {
    t.push({
      phase: "request",
      host: o.deliveredTo.host,
      kind: "deliver",
      text: `${o.deliveredTo.host} accepted it on ${o.deliveredTo.ip}:${o.deliveredTo.port}${o.sourceSeen ? ` from ${endpointText(o.sourceSeen)}` : ""}`,
    });
  }
  if (o.result === "connected") {
    t.push({ phase: "reply", host: req.from, kind: "reply", text: `${req.from} got ${SIGNAL_TEXT[o.signal]} from ${req.dst}:${req.dport}` });
  } else {
    t.push({
      phase: "error",
      host: req.from,
      kind: o.signal.startsWith("icmp-") ? "icmp" : o.signal === "none" ? "drop" : "reply",
      text: `${req.from}: ${o.errno ?? o.result}; counters in its INPUT saw ${SIGNAL_TEXT[o.signal]}${o.replyFrom ? ` from ${o.replyFrom.ip}` : ""}`,
    });
  }
  return t;
}

/** Groups identical observations (source ports aside: they differ per attempt) into branches. */
function groupBranches(observations: Observation[], req: ProbeRequest, timeoutMs: number): ProbeBranch[] {
  const groups = new Map<string, Observation[]>();
  for (const o of observations) {
    const key = JSON.stringify([o.result, o.signal, o.replyFrom, o.deliveredTo, o.sourceSeen?.ip ?? null, o.via, o.masqueraded, o.dns ?? null]);
    const g = groups.get(key);
    if (g) g.push(o);
    else groups.set(key, [o]);
  }
  return [...groups.values()].map((g) => {
    const o = g[0]!;
    const choices: string[] = [];
    if (o.via.length > 0) choices.push(`via ${o.via.join(" → ")}`);
    if (o.deliveredTo) choices.push(`${o.deliveredTo.host} ${o.deliveredTo.ip}:${o.deliveredTo.port}`);
    const branch: ProbeBranch = {
      probability: g.length / observations.length,
      choices,
      result: o.result,
      signal: o.signal,
      replyFrom: o.replyFrom,
      deliveredTo: o.deliveredTo,
      sourceSeen: o.sourceSeen,
      via: o.via,
      masqueraded: o.masqueraded,
      explanation: explain(o, req, timeoutMs) + (observations.length > 1 ? ` Seen in ${g.length} of ${observations.length} attempts.` : ""),
      trace: traceOf(o, req),
    };
    if (o.dns) branch.dns = o.dns;
    return branch;
  });
}
