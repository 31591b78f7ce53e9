// Runs one scenario: a fresh copy of the base world, its statements in order. Probes go to the
// engine; changes produce a new world (and runtime), after which the control plane re-derives
// exactly what the real one would (EndpointSlices, kube-proxy's rules except on nodes whose
// kube-proxy is stopped, kube-dns's zone, the load balancer's health checks).

import type * as ast from "../lang/ast.js";
import type { Position } from "../lang/diagnostic.js";
import type { World } from "../world/model.js";
import type { ProbeBranch, ProbeOutcome, ProbeRequest } from "../net/outcome.js";
import { ControlPlane } from "../cluster/control-plane.js";
import { answerQuery, candidateNames } from "../kube/dns.js";
import { cloneRuntime, type ClusterRuntime } from "../kube/runtime.js";
import type { EngineName } from "./executor-api.js";
import type { Engine, EngineFactory, EngineOptions } from "./engine.js";
import { Directory } from "./directory.js";
import { judge, judgePacketBranch, describeResult } from "./expect.js";
import { formatTrace } from "./trace-format.js";
import { endpointsView, podsView, servicesView } from "./views.js";
import { compareOutcomes } from "./compare.js";
import type { ExpectationResult, ScenarioResult, StepResult } from "./result.js";
import { applyChange, type ChangeContext } from "./changes.js";
import { nowMs } from "./clock.js";

export interface ScenarioContext {
  base: World;
  runtime: ClusterRuntime;
  lines: string[];
  engine: EngineName;
  engines: { sim: EngineFactory; kernel?: EngineFactory };
  verbose: boolean;
  change: ChangeContext;
  /**
   * The control plane of the unchanged base world, shared by every scenario of a file: it is
   * immutable and memoised, so kube-proxy's rules, EndpointSlices, the DNS zone and the topology
   * are derived once per file instead of once per scenario. Scenarios that change something get
   * their own (changes clone the runtime). Without it each scenario derives its own.
   */
  baseControlPlane?: ControlPlane;
  /**
   * Control planes after a sequence of changes from the shared base, by the changes' source
   * text: scenarios that make the same changes (`set pod web-1 not-ready` in several of them)
   * share what the control plane derives from the result. Only used with baseControlPlane.
   */
  derived?: Map<string, { cp: ControlPlane } | { error: string }>;
}

class StepError extends Error {}

/** Names → hosts/Services of a control plane's world; shared with every run on that (immutable) plane. */
const directories = new WeakMap<ControlPlane, Directory>();

/** The live state of one scenario run. */
class ScenarioRun {
  cp: ControlPlane;
  /** The changes made so far, as source text; null once the plane is not derived from the shared base. */
  changeKey: string | null;
  private engineCache = new Map<string, Promise<Engine>>();
  private dirCache: Directory | null = null;
  /** The simulator engine once created, when it answers probes synchronously (see sendNow). */
  simNow: Engine | null = null;

  constructor(
    readonly ctx: ScenarioContext,
    cp: ControlPlane,
  ) {
    this.cp = cp;
    this.changeKey = ctx.baseControlPlane && cp === ctx.baseControlPlane ? "" : null;
  }

  get dir(): Directory {
    if (this.dirCache) return this.dirCache;
    let d = directories.get(this.cp);
    if (!d) directories.set(this.cp, (d = new Directory(this.cp.liveWorld(), this.cp.services())));
    return (this.dirCache = d);
  }

  private engineOptions(): EngineOptions {
    const zone = this.cp.zone();
    return { dns: (q) => answerQuery(zone, q.name, q.type), dnsZone: zone };
  }

  async engine(kind: "sim" | "kernel"): Promise<Engine> {
    let e = this.engineCache.get(kind);
    if (!e) {
      const factory = kind === "sim" ? this.ctx.engines.sim : this.ctx.engines.kernel;
      if (!factory) throw new StepError("the kernel engine is not available in this run");
      e = factory(this.cp.topology(), this.engineOptions());
      this.engineCache.set(kind, e);
    }
    return e;
  }

  /**
   * The simulator engine for synchronous probes (sendNow), made now if its factory can make it at
   * once: then a scenario's first probe, and its DNS queries, cost no promise either. Null with
   * another engine than the simulator alone, or while the engine is being made the other way.
   */
  simEngineNow(): Engine | null {
    if (this.simNow !== null) return this.simNow;
    if (this.ctx.engine !== "sim" || this.engineCache.has("sim")) return null;
    const made = this.ctx.engines.sim.now?.(this.cp.topology(), this.engineOptions()) ?? null;
    if (made === null || !made.probeNow) return null;
    this.engineCache.set("sim", Promise.resolve(made));
    return (this.simNow = made);
  }

  async reset(world: World, runtime: ClusterRuntime): Promise<void> {
    await this.resetTo(new ControlPlane(world, runtime));
  }

  async resetTo(cp: ControlPlane): Promise<void> {
    await this.close();
    this.cp = cp;
    this.dirCache = null;
  }

  async close(): Promise<void> {
    const engines = [...this.engineCache.values()];
    this.engineCache.clear();
    this.simNow = null;
    for (const e of engines) await (await e).close();
  }
}

const sourceLine = (lines: string[], pos: Position): string => lines[pos.line - 1] ?? "";

function stepText(lines: string[], pos: Position): string {
  const line = sourceLine(lines, pos).trim();
  // Most steps have no inline `expect`: skip the regular expression for them.
  return line.includes("expect") ? line.replace(/\s+expect\b.*$/, "") : line;
}

/** Where a probe goes: the destination address(es). */
async function resolveTarget(run: ScenarioRun, from: string, to: ast.Target): Promise<string[]> {
  if (to.kind === "dns") return answeredIps(to.name.text, await resolveDns(run, from, to.name.text));
  return targetIps(run.dir, to);
}

/** The addresses a DNS name resolved to, for a probe sent to it. */
function answeredIps(name: string, res: DnsResolution): string[] {
  if (res.kind !== "answer") throw new StepError(res.message);
  if (res.ips.length === 0) throw new StepError(`${name} resolved to no address`);
  return res.ips;
}

/** The destination address(es) of a target that needs no DNS query. */
function targetIps(dir: Directory, to: Exclude<ast.Target, { kind: "dns" }>): string[] {
  switch (to.kind) {
    case "ip":
      return [to.ip.text];
    case "lb": {
      const svc = dir.service(to.service.text);
      if (!svc) throw new StepError(`unknown Service \`${to.service.text}\``);
      const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x);
      if (ips.length === 0) {
        throw new StepError(
          svc.spec.type !== "LoadBalancer"
            ? `Service ${to.service.text} is of type ${svc.spec.type ?? "ClusterIP"}, not LoadBalancer: it has no load balancer address`
            : `Service ${to.service.text} has no load balancer address yet (EXTERNAL-IP <pending>: the cluster has no cloud provider; set \`cloud-provider on\`)`,
        );
      }
      return ips;
    }
    case "name": {
      const h = dir.host(to.name.text);
      if (h) return [h.ip];
      const svc = dir.service(to.name.text);
      if (svc) {
        if (svc.spec.type === "ExternalName")
          throw new StepError(`Service ${to.name.text} is an ExternalName Service: it has no address, only a DNS CNAME to ${svc.spec.externalName}`);
        if (!svc.spec.clusterIP || svc.spec.clusterIP === "None")
          throw new StepError(`Service ${to.name.text} is headless: it has no cluster IP; send to its DNS name to reach its pods`);
        return [svc.spec.clusterIP];
      }
      throw new StepError(`unknown name \`${to.name.text}\``);
    }
  }
}

type DnsResolution =
  | { kind: "answer"; ips: string[]; cname: string | null; fqdn: string; branch: ProbeBranch }
  | { kind: "nxdomain"; message: string; branch: ProbeBranch | null }
  | { kind: "fails"; message: string; branch: ProbeBranch | null };

/**
 * A pod's stub resolver: each search-path candidate in turn, as a real UDP query to kube-dns's
 * cluster IP through the network. Nodes and outside clients do not use the cluster's DNS.
 * It yields each query and is given its outcome: resolveDns sends them through the engine's
 * probe, resolveDnsNow through the simulator's synchronous one.
 */
function* dnsQueries(run: ScenarioRun, from: string, name: string): Generator<ProbeRequest, DnsResolution, ProbeOutcome> {
  const dir = run.dir;
  const sender = dir.host(from);
  if (!sender) throw new StepError(`unknown host \`${from}\``);
  if (sender.kind !== "pod")
    return {
      kind: "fails",
      message: `${name} does not resolve from ${from}: ${sender.kind === "client" ? "a client outside the cluster" : "a node"} does not use the cluster's DNS (kube-dns answers pods only)`,
      branch: null,
    };
  const dnsIp = run.cp.dnsServerIp();
  if (!dnsIp) return { kind: "fails", message: `the cluster runs no kube-dns (\`kube-dns off\`)`, branch: null };
  const pod = run.cp.liveWorld().pods.find((p) => p.name === from)!;
  let last: ProbeBranch | null = null;
  const candidates = candidateNames(name, pod.namespace, run.cp.world.settings.clusterDomain);
  for (const cand of candidates) {
    const out: ProbeOutcome = yield { protocol: "udp", from: sender.host, dst: dnsIp, dport: 53, dnsQuery: { name: cand, type: "A" } };
    const ok = out.branches.find((b) => b.result === "connected" && b.dns);
    if (!ok) {
      const b = out.branches[0] ?? null;
      return {
        kind: "fails",
        message: `no DNS server answered ${from}'s query to ${dnsIp}:53 (${b ? describeResult(b, dir) : "no outcome"})${b ? `: ${b.explanation}` : ""}`,
        branch: b,
      };
    }
    last = ok;
    const dns = ok.dns!;
    if (dns.rcode === "NOERROR" && dns.answers.length > 0) {
      const cname = dns.answers.find((a) => a.type === "CNAME")?.value ?? null;
      return { kind: "answer", ips: dns.answers.filter((a) => a.type === "A").map((a) => a.value), cname, fqdn: cand, branch: ok };
    }
  }
  // The names tried show the search path, and so which namespace a short name was looked up in.
  return { kind: "nxdomain", message: `${name} does not exist: kube-dns answered NXDOMAIN for ${candidates.join(", ")} (${from}'s search path)`, branch: last };
}

async function resolveDns(run: ScenarioRun, from: string, name: string): Promise<DnsResolution> {
  const queries = dnsQueries(run, from, name);
  let step = queries.next();
  if (step.done) return step.value;
  const engine = await run.engine(run.ctx.engine === "kernel" ? "kernel" : "sim");
  while (!step.done) step = queries.next(await engine.probe(step.value));
  return step.value;
}

function resolveDnsNow(run: ScenarioRun, sim: Engine, from: string, name: string): DnsResolution {
  const queries = dnsQueries(run, from, name);
  let step = queries.next();
  while (!step.done) step = queries.next(sim.probeNow!(step.value));
  return step.value;
}

async function runProbe(run: ScenarioRun, req: ProbeRequest, ctx: ScenarioContext): Promise<{ outcome: ProbeOutcome; disagreements: string[] }> {
  if (ctx.engine === "sim") {
    const sim = await run.engine("sim");
    // The plane's later probes go the synchronous way (sendNow); resetTo/close forget it.
    if (sim.probeNow) run.simNow = sim;
    return { outcome: await sim.probe(req), disagreements: [] };
  }
  // The kernel load-balances at random: the simulator says which endpoints a probe can reach,
  // and the kernel engine repeats the probe until it has seen each (within a bound).
  const sim = await (await run.engine("sim")).probe(req);
  const expectEndpoints = [...new Set(sim.branches.map((b) => b.deliveredTo?.host).filter((x): x is string => !!x))];
  const kernel = await (await run.engine("kernel")).probe(req, { expectEndpoints });
  if (ctx.engine === "kernel") return { outcome: kernel, disagreements: [] };
  return { outcome: sim, disagreements: compareOutcomes(sim, kernel, run.dir) };
}

/** Merges the outcomes of a probe sent to several addresses (a DNS name with several A records). */
function mergeOutcomes(outs: ProbeOutcome[]): ProbeOutcome {
  if (outs.length === 1) return outs[0]!;
  const share = 1 / outs.length;
  return {
    request: outs[0]!.request,
    engine: outs[0]!.engine,
    branches: outs.flatMap((o) => o.branches.map((b) => ({ ...b, probability: b.probability * share, choices: [`address ${o.request.dst}`, ...b.choices] }))),
  };
}

function failedStep(base: Omit<StepResult, "status" | "branches" | "expectations">, error: string, expects: ast.Expectation[]): StepResult {
  return {
    ...base,
    status: "failed",
    branches: [],
    error,
    expectations: expects.map((e) => ({
      text: e.pos ? base.text : "",
      quantifier: e.quantifier,
      status: "failed",
      pos: e.pos,
      expected: "",
      got: error,
      failingBranches: [],
    })),
  };
}

export async function runScenario(sc: ast.ScenarioBlock, ctx: ScenarioContext): Promise<ScenarioResult> {
  const started = nowMs();
  const run = new ScenarioRun(ctx, ctx.baseControlPlane ?? new ControlPlane(ctx.base, cloneRuntime(ctx.runtime)));
  const steps: StepResult[] = [];
  const disagreements: string[] = [];
  try {
    for (const st of sc.statements) {
      const base: StepBase = { text: stepText(ctx.lines, st.pos), pos: st.pos, sourceLine: sourceLine(ctx.lines, st.pos) };
      try {
        steps.push(sendNow(run, st, base) ?? (await runStatement(run, st, base, ctx, disagreements)));
      } catch (err) {
        if (!(err instanceof StepError)) throw err;
        const expects = "expects" in st ? (st.expects as ast.Expectation[]) : [];
        steps.push(failedStep({ ...base, kind: st.kind === "send" || st.kind === "trace" || st.kind === "resolve" || st.kind === "nslookup" || st.kind === "show" ? st.kind : "change" }, err.message, expects));
      }
    }
  } finally {
    await run.close();
  }
  const failed = steps.some((s) => s.status === "failed") || disagreements.length > 0;
  if (!ctx.verbose) for (const s of steps) if (s.status === "passed" && s.kind !== "trace") for (const b of s.branches) b.trace = [];
  const result: ScenarioResult = {
    title: sc.title.value,
    tags: sc.tags.map((t) => t.text),
    pos: sc.pos,
    status: failed ? "failed" : "passed",
    durationMs: nowMs() - started,
    steps,
    engine: ctx.engine,
  };
  if (ctx.engine === "both") result.disagreements = disagreements;
  return result;
}

/** What every step's result starts with: the statement's text, position and source line. */
interface StepBase {
  text: string;
  pos: Position;
  sourceLine: string;
}

const probeRequest = (st: ast.PacketProbe, from: string, dst: string): ProbeRequest => ({
  protocol: st.protocol.value === "UDP" ? "udp" : "tcp",
  from,
  dst,
  dport: st.port.value,
});

/**
 * A step the simulator can answer at once (the engine made or makeable at once: see
 * simEngineNow): a send or trace, a DNS name resolved on the way, a resolve or nslookup. The same
 * step as runStatement's, without a promise per probe. Null when the step must take the
 * asynchronous way.
 */
function sendNow(run: ScenarioRun, st: ast.ScenarioStmt, base: StepBase): StepResult | null {
  if (st.kind === "resolve" || st.kind === "nslookup") {
    const sim = run.simEngineNow();
    return sim === null ? null : dnsStep(run, st, base, resolveDnsNow(run, sim, st.from.text, st.query.text));
  }
  if (st.kind !== "send" && st.kind !== "trace") return null;
  const sim = run.simEngineNow();
  if (sim === null) return null;
  const dir = run.dir;
  const sender = dir.host(st.from.text);
  if (!sender) throw new StepError(`unknown host \`${st.from.text}\``);
  const ips = st.to.kind === "dns" ? answeredIps(st.to.name.text, resolveDnsNow(run, sim, st.from.text, st.to.name.text)) : targetIps(dir, st.to);
  const outs: ProbeOutcome[] = [];
  for (const ip of ips) outs.push(sim.probeNow!(probeRequest(st, sender.host, ip)));
  return packetStep(st, base, mergeOutcomes(outs), dir);
}

function packetStep(st: ast.PacketProbe, base: StepBase, outcome: ProbeOutcome, dir: Directory): StepResult {
  // A loop into an array literal (one array shape; see judge).
  const expectations: ExpectationResult[] = [];
  let passed = true;
  for (const e of st.expects) {
    const r = judge(e, outcome.branches, (b) => judgePacketBranch(e.check, b, dir), dir);
    expectations.push(r);
    if (r.status !== "passed") passed = false;
  }
  const step = stepResult(base, st.kind, passed ? "passed" : "failed", outcome.branches, expectations);
  if (st.kind === "trace") step.output = formatTrace(outcome.branches, dir);
  return step;
}

/**
 * A step result without output. Such steps are all built here, field by field in the JSON
 * report's order: one object shape for all of them (object spreads made a different shape per
 * call site, and the code reading steps was deoptimised by each new one).
 */
function stepResult(base: StepBase, kind: StepResult["kind"], status: StepResult["status"], branches: ProbeBranch[], expectations: ExpectationResult[]): StepResult {
  return { text: base.text, pos: base.pos, sourceLine: base.sourceLine, kind, status, branches, expectations };
}

async function runStatement(run: ScenarioRun, st: ast.ScenarioStmt, base: StepBase, ctx: ScenarioContext, disagreements: string[]): Promise<StepResult> {
  switch (st.kind) {
    case "send":
    case "trace": {
      const dir = run.dir;
      const sender = dir.host(st.from.text);
      if (!sender) throw new StepError(`unknown host \`${st.from.text}\``);
      const ips = await resolveTarget(run, st.from.text, st.to);
      const outs: ProbeOutcome[] = [];
      for (const ip of ips) {
        const r = await runProbe(run, probeRequest(st, sender.host, ip), ctx);
        outs.push(r.outcome);
        for (const d of r.disagreements) disagreements.push(`${base.text}: ${d}`);
      }
      return packetStep(st, base, mergeOutcomes(outs), dir);
    }
    case "resolve":
    case "nslookup":
      return dnsStep(run, st, base, await resolveDns(run, st.from.text, st.query.text));
    case "show": {
      const output = await showText(run, st.what);
      const expectations = st.expects.map((e) => judgeShow(e, output));
      const status = expectations.every((x) => x.status === "passed") ? "passed" : "failed";
      return { text: base.text, pos: base.pos, sourceLine: base.sourceLine, kind: "show", status, branches: [], output, expectations };
    }
    default: {
      // A change's result depends only on the plane it starts from and the statement. A one-line
      // change is its text; an `apply` is keyed by its position too (a heredoc's body, and the
      // line numbers in its YAML errors, belong to that place in the file), so it is never shared.
      const what = st.kind === "apply" ? `@${st.pos.line}:${st.pos.column}` : sourceLine(ctx.lines, st.pos).trim();
      const key = run.changeKey !== null && ctx.derived ? `${run.changeKey}\u0000${what}` : null;
      const known = key !== null ? ctx.derived!.get(key) : undefined;
      if (known) {
        if ("error" in known) throw new StepError(known.error);
        await run.resetTo(known.cp);
        run.changeKey = key;
        return stepResult(base, "change", "passed", [], []);
      }
      const next = await applyChange(run.cp, st, ctx.change, (node) => run.cp.rules(node));
      if (next.error) {
        if (key !== null) ctx.derived!.set(key, { error: next.error });
        throw new StepError(next.error);
      }
      await run.reset(next.world, next.runtime);
      if (key !== null) ctx.derived!.set(key, { cp: run.cp });
      run.changeKey = key;
      return stepResult(base, "change", "passed", [], []);
    }
  }
}

/** A resolve or nslookup step from the query's resolution. */
function dnsStep(run: ScenarioRun, st: ast.DnsProbe, base: StepBase, res: DnsResolution): StepResult {
  const dir = run.dir;
  // The query's own branch (a resolve's outcome is kube-dns's answer, certain once it came),
  // not a copy: a spread of a simulator branch would make its whole trace at once.
  if (res.branch) res.branch.probability = 1;
  const branch: ProbeBranch = res.branch
    ? res.branch
    : {
        probability: 1, choices: [], result: "timeout", signal: "none", replyFrom: null, deliveredTo: null, sourceSeen: null,
        via: [], masqueraded: false, explanation: res.kind === "answer" ? "" : res.message, trace: [],
      };
  if (res.kind !== "answer") branch.explanation = res.message;
  else {
    // What decided a resolve is kube-dns's answer, not how the query's packet travelled.
    const server = res.branch.deliveredTo ? dir.displayName(res.branch.deliveredTo.host) : "kube-dns";
    const records = [...(res.cname ? [`CNAME ${res.cname}`] : []), ...res.ips.map((ip) => `A ${dir.describe(ip)}`)];
    branch.explanation = `kube-dns (${server}) answered ${res.fqdn} with ${records.length ? records.join(", ") : "no records"}`;
  }
  const expectations = st.expects.map((e) =>
    judge(e, [branch], () => {
      const c = e.check;
      const got = res.kind === "answer"
        ? `${res.cname ? `cname ${res.cname}` : ""}${res.cname && res.ips.length ? ", " : ""}${res.ips.length ? `answer ${res.ips.join(" ")}` : ""}` || "an empty answer"
        : res.kind === "nxdomain" ? "nxdomain" : `no answer: ${res.message}`;
      switch (c.kind) {
        case "answer": {
          const want = c.ips.map((i) => i.text).sort();
          const have = res.kind === "answer" ? [...res.ips].sort() : [];
          return { ok: res.kind === "answer" && want.length === have.length && want.every((w, i) => w === have[i]), got };
        }
        case "cname":
          return { ok: res.kind === "answer" && res.cname === c.host.text.toLowerCase().replace(/\.$/, ""), got };
        case "nxdomain":
          return { ok: res.kind === "nxdomain", got };
        case "fails":
          return { ok: res.kind === "fails", got };
      }
    }, dir),
  );
  const output = st.kind === "nslookup" ? nslookupText(run, st.query.text, res) : resolveText(st.query.text, res);
  return {
    text: base.text,
    pos: base.pos,
    sourceLine: base.sourceLine,
    kind: st.kind,
    status: expectations.every((x) => x.status === "passed") ? "passed" : "failed",
    branches: [branch],
    output,
    expectations,
  };
}

function resolveText(name: string, res: DnsResolution): string {
  if (res.kind === "answer") {
    const lines = [`${res.fqdn}`];
    if (res.cname) lines.push(`  CNAME ${res.cname}`);
    for (const ip of res.ips) lines.push(`  A     ${ip}`);
    return lines.join("\n");
  }
  return `${name}: ${res.message}`;
}

/** busybox 1.28 `nslookup` (the image the Kubernetes DNS debugging guide uses). */
function nslookupText(run: ScenarioRun, name: string, res: DnsResolution): string {
  const server = run.cp.dnsServerIp() ?? "127.0.0.1";
  const serverName = res.kind === "fails" ? "" : ` kube-dns.kube-system.svc.${run.cp.world.settings.clusterDomain}`;
  const head = [`Server:    ${server}`, `Address 1: ${server}${serverName}`, ""];
  if (res.kind !== "answer" || res.ips.length === 0) return [...head, `nslookup: can't resolve '${name}'`].join("\n");
  const svcByIp = new Map(run.cp.services().flatMap((s) => (s.spec.clusterIP && s.spec.clusterIP !== "None" ? [[s.spec.clusterIP, `${s.metadata.name}.${s.metadata.namespace ?? "default"}.svc.${run.cp.world.settings.clusterDomain}`] as const] : [])));
  const podByIp = new Map(run.cp.liveWorld().pods.map((p) => [p.ip, `${p.ip.replace(/\./g, "-")}.${p.namespace}.pod.${run.cp.world.settings.clusterDomain}`] as const));
  return [
    ...head,
    `Name:      ${name}`,
    ...res.ips.map((ip, i) => `Address ${i + 1}: ${ip}${svcByIp.get(ip) ? " " + svcByIp.get(ip) : podByIp.get(ip) ? " " + podByIp.get(ip) : ""}`),
  ].join("\n");
}

async function showText(run: ScenarioRun, what: ast.ShowSubject): Promise<string> {
  const dir = run.dir;
  const nodeOf = (n: ast.Name): string => {
    const h = dir.host(n.text);
    if (!h || h.kind !== "node") throw new StepError(`unknown node \`${n.text}\``);
    return h.host;
  };
  const engine = async (): Promise<Engine> => run.engine(run.ctx.engine === "kernel" ? "kernel" : "sim");
  switch (what.subject) {
    case "iptables":
      return filterIptables(run.cp.rules(nodeOf(what.node)), what.table?.value ?? null, what.chain?.text ?? null);
    case "services":
      return servicesView(run.cp.services());
    case "endpoints": {
      const svc = dir.service(what.service.text);
      if (!svc) throw new StepError(`unknown Service \`${what.service.text}\``);
      return endpointsView(svc, run.cp.slices());
    }
    case "pods":
      return podsView(run.cp.liveWorld(), run.cp.runtime.failedNodes);
    case "routes":
      return (await engine()).routesText(nodeOf(what.node));
    case "conntrack":
      return (await engine()).conntrackList(nodeOf(what.node));
    case "hairpin":
      return (await engine()).hairpinText(nodeOf(what.node));
    case "bridge":
      return (await engine()).bridgeText(nodeOf(what.node));
  }
}

/** One table (and optionally one chain) of an iptables-save text, still in iptables-save form. */
export function filterIptables(text: string, table: string | null, chain: string | null): string {
  const out: string[] = [];
  let current: string | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) current = line.slice(1);
    if (table && current !== table) continue;
    if (chain) {
      if (line.startsWith(`:${chain} `) || line.startsWith(`-A ${chain} `) || line.startsWith("*")) out.push(line);
      continue;
    }
    out.push(line);
  }
  return out.join("\n").replace(/\n+$/, "");
}

function judgeShow(e: ast.Expectation, output: string): ExpectationResult {
  const c = e.check as ast.ShowCheck;
  let ok = false;
  let expected = "";
  let got = "";
  switch (c.kind) {
    case "contains":
      ok = output.includes(c.text.value);
      expected = `contains "${c.text.value}"`;
      got = ok ? expected : "the text does not contain it";
      break;
    case "lines": {
      const n = output === "" ? 0 : output.split("\n").length;
      ok = n === c.count.value;
      expected = `lines ${c.count.value}`;
      got = `${n} lines`;
      break;
    }
    case "text": {
      const norm = (s: string): string => s.split("\n").map((l) => l.trimEnd()).join("\n").trim();
      ok = norm(output) === norm(c.heredoc.dedented);
      expected = "the text block";
      got = ok ? expected : firstDifference(norm(c.heredoc.dedented), norm(output));
      break;
    }
  }
  if (e.quantifier === "never") ok = !ok;
  return { text: expected, quantifier: e.quantifier, status: ok ? "passed" : "failed", pos: e.pos, expected, got, failingBranches: [] };
}

function firstDifference(want: string, have: string): string {
  const a = want.split("\n");
  const b = have.split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1} differs: expected ${JSON.stringify(a[i] ?? "<end>")}, got ${JSON.stringify(b[i] ?? "<end>")}`;
  }
  return "the text differs";
}
