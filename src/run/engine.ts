// An engine realises a Topology and answers probes on it: the simulator (default) or the real
// kernel in network namespaces. The scenario executor only talks to this interface.

import type { Topology } from "../net/topology.js";
import type { ProbeBranch, ProbeOutcome, ProbeRequest } from "../net/outcome.js";

export type DnsHandler = (query: { name: string; type: "A" | "CNAME" | "ANY" }, clientIp: string) => NonNullable<ProbeBranch["dns"]>;

export interface EngineOptions {
  dns: DnsHandler;
  /** The zone as data, for engines that run a real DNS server (the kernel engine). */
  dnsZone?: unknown;
}

export interface ProbeHints {
  /** Hosts the simulator predicts the probe may reach (the kernel engine repeats until it saw each). */
  expectEndpoints?: string[];
}

export interface Engine {
  readonly name: "sim" | "kernel";
  probe(req: ProbeRequest, hints?: ProbeHints): Promise<ProbeOutcome>;
  /**
   * The same answer as `probe`, returned at once, for engines that compute it synchronously
   * (the simulator): a scenario's probes then cost no promise and no microtask turn each.
   */
  probeNow?(req: ProbeRequest): ProbeOutcome;
  conntrackList(host: string): Promise<string>;
  routesText(host: string): Promise<string>;
  hairpinText(host: string): Promise<string>;
  bridgeText(host: string): Promise<string>;
  close(): Promise<void>;
}

export type EngineFactory = ((topology: Topology, opts: EngineOptions) => Promise<Engine>) & {
  /**
   * The same engine, made at once, when the factory can (the simulator, once its module is
   * loaded); null when it cannot yet. A scenario then sends its first probe without waiting.
   */
  now?: (topology: Topology, opts: EngineOptions) => Engine | null;
};

type SimModule = typeof import("../net/sim/index.js");
/** The simulator's module once the first engine loaded it. */
let simModule: SimModule | null = null;

function simEngineOf(SimNetwork: SimModule["SimNetwork"], topology: Topology, opts: EngineOptions): Engine {
  const net = new SimNetwork(topology, { dns: opts.dns });
  return {
    name: "sim",
    probe: async (req) => net.probe(req),
    probeNow: (req) => net.probe(req),
    conntrackList: async (h) => net.conntrackList(h),
    routesText: async (h) => net.routesText(h),
    hairpinText: async (h) => net.hairpinText(h),
    bridgeText: async (h) => net.bridgeText(h),
    close: async () => {},
  };
}

export const simEngine: EngineFactory = async (topology, opts) => {
  simModule ??= await import("../net/sim/index.js");
  return simEngineOf(simModule.SimNetwork, topology, opts);
};
simEngine.now = (topology, opts) => (simModule === null ? null : simEngineOf(simModule.SimNetwork, topology, opts));


/** The kube-dns zone as the kernel engine's DNS server takes it. */
function labZone(zone: unknown): import("../lab/index.js").DnsZone {
  const out: import("../lab/index.js").DnsZone = {};
  const z = zone as import("../kube/dns.js").DnsZone | undefined;
  for (const [name, rec] of z?.records ?? []) out[name] = rec.cname ? { CNAME: rec.cname } : { A: rec.a };
  return out;
}

/** The kernel engine: the topology built from real network namespaces (loaded on first use). */
export const kernelEngine: EngineFactory = async (topology, opts) => {
  const { KernelLab } = await import("../lab/index.js");
  const lab = await KernelLab.create(topology, { dnsZone: labZone(opts.dnsZone) });
  return {
    name: "kernel",
    probe: (req, hints) => lab.probe(req, { expectEndpoints: hints?.expectEndpoints }),
    conntrackList: (h) => lab.conntrackList(h),
    routesText: (h) => lab.routesText(h),
    hairpinText: (h) => lab.hairpinText(h),
    bridgeText: (h) => lab.bridgeText(h),
    close: () => lab.destroy(),
  };
};

/** Why the kernel engine cannot run on this machine, or null when it can. */
export async function kernelEngineProblem(): Promise<string | null> {
  const { checkPrerequisites, LabPrerequisiteError } = await import("../lab/index.js");
  try {
    checkPrerequisites();
    return null;
  } catch (err) {
    if (err instanceof LabPrerequisiteError) return err.message;
    throw err;
  }
}
