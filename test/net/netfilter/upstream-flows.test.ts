// Upstream's packet-flow expectations (runPacketFlowTests in pkg/proxy/iptables/proxier_test.go,
// transcribed to test/fixtures/upstream/flows) replayed through traceDump's kernel path:
// kube-proxy's jump rules, then its restore text applied with --noflush, then one packet
// through the hooks the kernel would run. Upstream's tracer is simplified (PREROUTING for every
// source, all four filter chains regardless of hook); every flow still agrees with the kernel
// path on DNAT targets, verdict and masquerade, so no flow needs a documented exception.

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { applyRestore, loadRuleset } from "../../../src/net/netfilter/index.js";
import { traceDumpDetailed } from "../../../src/net/netfilter/trace-dump.js";

const DIR = new URL("../../fixtures/upstream/flows/", import.meta.url);
const BASE = readFileSync(new URL("./fixtures/kube-proxy-jumps.rules", import.meta.url), "utf8");

interface Flow {
  name: string;
  sourceIP: string;
  protocol: string;
  destIP: string;
  destPort: number;
  output: string;
  masq: boolean;
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".json") && !f.endsWith(".manifests.json"));

describe("upstream packet flows through the kernel path", () => {
  it("the fixtures are there", () => {
    expect(files.length).toBeGreaterThan(20);
  });
  for (const f of files) {
    const d = JSON.parse(readFileSync(new URL(f, DIR), "utf8")) as { rules: string; nodeIPs: string[]; flows: Flow[] };
    describe(f, () => {
      const ruleset = applyRestore(loadRuleset(BASE, "kube-proxy-jumps.rules"), readFileSync(new URL(d.rules, DIR), "utf8"), { noflush: true, file: d.rules });
      for (const fl of d.flows) {
        it(`${fl.name}: ${fl.sourceIP} -> ${fl.destIP}:${fl.destPort}`, () => {
          const t = traceDumpDetailed(ruleset, {
            localIps: d.nodeIPs.filter((s) => !s.includes(":")),
            src: fl.sourceIP,
            dst: fl.destIP,
            dport: fl.destPort,
            proto: fl.protocol.toLowerCase() as "tcp" | "udp" | "sctp",
          });
          const total = t.branches.reduce((s, b) => s + b.probability, 0);
          expect(total).toBeCloseTo(1, 9);
          // Upstream's output: the DNAT targets of every branch in ladder order, or the filter verdict.
          const verdicts = [...new Set(t.branches.map((b) => b.verdict))];
          const dnats = [...new Set(t.branches.map((b) => b.dnat).filter((x): x is string => x !== null))];
          const output = verdicts.length === 1 && verdicts[0] !== "ACCEPT" ? verdicts[0] : dnats.join(", ");
          expect(output).toBe(fl.output);
          // Upstream's masq flag is "KUBE-MARK-MASQ was hit"; here it is the MASQUERADE that the
          // mark leads to in nat POSTROUTING, and it must hold on every branch alike.
          const masq = [...new Set(t.branches.filter((b) => b.verdict === "ACCEPT").map((b) => b.masquerade))];
          expect(masq.length).toBeLessThanOrEqual(1);
          expect(masq[0] ?? false).toBe(fl.masq);
        });
      }
    });
  }
});
