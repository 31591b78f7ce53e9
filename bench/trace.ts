// Netfilter interpreter bench: `npx tsx bench/trace.ts`. Prints
//   trace_cost_us_10 / _1000 / _10000: one `traceDump`-style trace (every hook, every branch)
//     of a pod → clusterIP packet on a node whose ruleset has that many Services × 10 endpoints
//   trace_ratio_10k_vs_10: the per-packet cost must not grow with the number of Services (≤ 2)
//   load_s_10000: loading the 10,000-Service ruleset (jump rules + kube-proxy restore, --noflush)
// Rulesets come from the rule writer and bench/gen.ts's seeded cluster. Not part of `npm test`.

import { readFileSync } from "node:fs";
import { writeRestore } from "../src/kube/proxier/index.js";
import { applyRestore, loadRuleset, type Ruleset } from "../src/net/netfilter/index.js";
import { traceDumpDetailed, type TraceDumpOptions } from "../src/net/netfilter/trace-dump.js";
import { benchProxierConfig, generateCluster } from "./gen.js";

const BASE = readFileSync(new URL("../test/net/netfilter/fixtures/kube-proxy-jumps.rules", import.meta.url), "utf8");

const cfg = benchProxierConfig(true);

function build(n: number): { ruleset: Ruleset; probes: TraceDumpOptions[]; loadS: number } {
  const cluster = generateCluster({ services: n, endpoints: 10, nodes: 100, seed: 42 });
  const text = writeRestore(cluster.services, cluster.slices, cfg);
  const t0 = performance.now();
  const ruleset = applyRestore(loadRuleset(BASE), text, { noflush: true });
  const loadS = (performance.now() - t0) / 1000;
  // Probes spread over the Services (first, middle, last ...), a pod source and a node source.
  const probes: TraceDumpOptions[] = [];
  for (let k = 0; k < 8; k++) {
    const svc = cluster.services[Math.floor(((k + 0.5) * n) / 8)]!;
    probes.push({ localIps: cfg.nodeIPs, src: k % 2 ? "10.64.3.9" : "192.168.1.17", dst: svc.spec!.clusterIP!, dport: 80 });
  }
  return { ruleset, probes, loadS };
}

function costUs(ruleset: Ruleset, probes: TraceDumpOptions[]): number {
  let branches = 0;
  for (let w = 0; w < 200; w++) for (const p of probes) branches += traceDumpDetailed(ruleset, p).branches.length;
  const rounds = 2000;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const p of probes) branches += traceDumpDetailed(ruleset, p).branches.length;
  const us = ((performance.now() - t0) * 1000) / (rounds * probes.length);
  if (branches === 0) throw new Error("no branches traced");
  return us;
}

const results: Record<number, number> = {};
let load10k = 0;
for (const n of [10, 1000, 10000]) {
  const { ruleset, probes, loadS } = build(n);
  if (n === 10000) load10k = loadS;
  // Every probe must reach an endpoint (10 branches), or the bench would time the wrong path.
  for (const p of probes) {
    const bs = traceDumpDetailed(ruleset, p).branches;
    if (bs.length !== 10 || bs.some((b) => b.dnat === null)) throw new Error(`probe to ${p.dst} did not DNAT to 10 endpoints`);
  }
  results[n] = costUs(ruleset, probes);
}
console.log(`trace_cost_us_10: ${results[10]!.toFixed(2)}`);
console.log(`trace_cost_us_1000: ${results[1000]!.toFixed(2)}`);
console.log(`trace_cost_us_10000: ${results[10000]!.toFixed(2)}`);
console.log(`trace_ratio_10k_vs_10: ${(results[10000]! / results[10]!).toFixed(3)}`);
console.log(`load_s_10000: ${load10k.toFixed(2)}`);
