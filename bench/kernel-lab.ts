// Kernel engine speed: seconds per lab build (namespaces, veths, sysctls, routes, one
// iptables-restore per node, agents) and per probe, on the kernel-lab.md topology. Needs root.
//   npx tsx bench/kernel-lab.ts [builds=3]
// Prints one JSON line per measurement and a summary.

import { KernelLab } from "../src/lab/kernel-lab.js";
import { KERNEL_LAB_ROWS, kernelLabTopology } from "../test/fixtures/kernel-lab.js";

const builds = Number(process.argv[2] ?? 3);
const buildMs: number[] = [];
const destroyMs: number[] = [];
const probeMs: Record<string, number[]> = { connected: [], refused: [], timeout: [], "net-unreachable": [], "host-unreachable": [] };

for (let i = 0; i < builds; i++) {
  const lab = await KernelLab.create(kernelLabTopology({ externalIpRouteVia: "node2" }));
  buildMs.push(lab.timings.buildMs);
  for (const row of KERNEL_LAB_ROWS.filter((r) => ["1a", "1b", "1c", "4b", "4d"].includes(r.id))) {
    // Twice: the first probe from a host also starts its agent.
    for (let k = 0; k < 2; k++) {
      const t = performance.now();
      const out = await lab.probe(row.probe, { expectEndpoints: row.deliveredTo ? [row.deliveredTo] : [] });
      const ms = performance.now() - t;
      if (k === 1) probeMs[out.branches[0]!.result]!.push(ms);
      process.stdout.write(JSON.stringify({ build: i, row: row.id, warm: k === 1, result: out.branches[0]!.result, ms: Math.round(ms) }) + "\n");
    }
  }
  const t = performance.now();
  await lab.destroy();
  destroyMs.push(performance.now() - t);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};
const sec = (ms: number): string => (ms / 1000).toFixed(2);
process.stdout.write(
  `\nlab build: median ${sec(median(buildMs))} s (${buildMs.map(sec).join(", ")}); destroy: median ${sec(median(destroyMs))} s\n` +
    Object.entries(probeMs)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => `warm probe, ${k}: median ${sec(median(v))} s over ${v.length}`)
      .join("\n") +
    "\n",
);
