// Rule-writer bench: `npx tsx bench/rules.ts`. Prints
//   rules_10k_gen_s: time to write one node's restore text for 10,000 Services × 10 endpoints
//   rules_10k_restore_legacy_s: iptables-legacy-restore of that text into a fresh netns (root only)
//   rules_10k_gen_vs_restore: the ratio
// Not part of `npm test`: speed is measured here, never in timed tests.

import { execFileSync, spawnSync } from "node:child_process";
import { writeRestore } from "../src/kube/proxier/index.js";
import { benchProxierConfig, generateCluster } from "./gen.js";

const cluster = generateCluster();
const cfg = benchProxierConfig(false);

writeRestore(cluster.services.slice(0, 200), cluster.slices.slice(0, 200), cfg); // warm-up (JIT)
const runs: number[] = [];
const cpu: number[] = [];
let text = "";
for (let i = 0; i < 5; i++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  text = writeRestore(cluster.services, cluster.slices, cfg);
  const c1 = process.cpuUsage(c0);
  runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
  cpu.push((c1.user + c1.system) / 1e6);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gen = median(runs);
console.log(`rules_10k_gen_s: ${gen.toFixed(3)}`);
// CPU time includes the GC threads; on a contended machine wall time overstates the cost.
console.log(`# first 10k sync ${runs[0]!.toFixed(3)} s (then reused section buffers, as kube-proxy's own resyncs do): ${runs.map((r) => r.toFixed(3)).join(" ")}`);
console.log(`# cpu ${median(cpu).toFixed(3)} s, ${text.split("\n").length} lines, ${(text.length / 1e6).toFixed(1)} MB (median of ${runs.length}, load ${(await import("node:os")).loadavg()[0]!.toFixed(1)})`);

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const hasLegacy = spawnSync("sh", ["-c", "command -v iptables-legacy-restore"]).status === 0;
if (!isRoot || !hasLegacy) {
  console.log(`rules_10k_restore_legacy_s: skipped (${!isRoot ? "not root" : "no iptables-legacy-restore"})`);
} else {
  const ns = `svcspec-bench-${process.pid}`;
  execFileSync("ip", ["netns", "add", ns]);
  try {
    const t0 = process.hrtime.bigint();
    execFileSync("ip", ["netns", "exec", ns, "iptables-legacy-restore", "--noflush", "--counters"], { input: text, maxBuffer: 1 << 28 });
    const restore = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`rules_10k_restore_legacy_s: ${restore.toFixed(3)}`);
    console.log(`rules_10k_gen_vs_restore: ${(gen / restore).toFixed(4)}`);
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
  }
}
