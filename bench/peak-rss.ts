// Peak memory of the 10,000-Service run: bench/gen.ts's seeded cluster (10,000 Services × 10
// endpoints over 100 nodes), one node's kube-proxy rules written, loaded into the netfilter
// interpreter on top of the kubelet/kube-proxy jump rules, and packets traced through it — the
// whole path a 10k-Service spec takes. Prints `peak_rss_mib: N` (the process's own max RSS, as
// the kernel counts it) and, as comments, the phase times.
//   npx tsx bench/peak-rss.ts

import { readFileSync } from "node:fs";
import { writeRestore } from "../src/kube/proxier/index.js";
import { applyRestore, loadRuleset } from "../src/net/netfilter/index.js";
import { traceDumpDetailed } from "../src/net/netfilter/trace-dump.js";
import { benchProxierConfig, generateCluster } from "./gen.js";

const BASE = readFileSync(new URL("../test/net/netfilter/fixtures/kube-proxy-jumps.rules", import.meta.url), "utf8");
const cfg = benchProxierConfig(false);

const t0 = performance.now();
const cluster = generateCluster({ services: 10_000, endpoints: 10, nodes: 100, seed: 42 });
const t1 = performance.now();
const text = writeRestore(cluster.services, cluster.slices, cfg);
const t2 = performance.now();
const ruleset = applyRestore(loadRuleset(BASE), text, { noflush: true });
const t3 = performance.now();
let branches = 0;
for (let k = 0; k < 8; k++) {
  const svc = cluster.services[Math.floor(((k + 0.5) * cluster.services.length) / 8)]!;
  branches += traceDumpDetailed(ruleset, { localIps: cfg.nodeIPs, src: k % 2 ? "10.64.3.9" : "192.168.1.17", dst: svc.spec.clusterIP!, dport: 80 }).branches.length;
}
const t4 = performance.now();
if (branches !== 80) throw new Error(`expected 8 probes × 10 endpoint branches, got ${branches}`);

const s = (a: number, b: number): string => ((b - a) / 1000).toFixed(2);
console.log(`peak_rss_mib: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)}`);
console.log(`# generate ${s(t0, t1)} s, write ${s(t1, t2)} s (${(text.length / 1e6).toFixed(1)} MB), load ${s(t2, t3)} s, 8 traces ${s(t3, t4)} s`);
