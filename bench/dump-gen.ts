// A node's iptables-save text for the seeded 10,000-Service cluster (bench/gen.ts), as a user
// would save it from a real node to run `svcspec trace --rules` on: `npx tsx bench/dump-gen.ts
// OUT [services]`. Prints the trace command's arguments for a pod → Service packet halfway
// through KUBE-SERVICES, as one JSON line.

import { writeFileSync } from "node:fs";
import { nodeTables } from "../src/kube/proxier/index.js";
import { benchProxierConfig, generateCluster } from "./gen.js";

const [out, count] = process.argv.slice(2);
if (!out) throw new Error("usage: dump-gen.ts OUT [services]");
const cfg = benchProxierConfig(true);
const cluster = generateCluster({ services: Number(count ?? 10_000), endpoints: 10, nodes: 100, seed: 42 });
writeFileSync(out, nodeTables(cluster.services, cluster.slices, cfg));
const target = cluster.services[Math.floor(cluster.services.length / 2)]!;
console.log(JSON.stringify(["--local-ip", cfg.nodeIPs.join(","), "--src", "10.64.3.9", "--dst", target.spec!.clusterIP!, "--dport", String(target.spec!.ports![0]!.port)]));
