// Every row of shared/docs/kernel-lab.md: what the real kernel did, replayed in the simulator on
// the lab's own network (hand-drawn, kernel-lab-topology.ts) with kube-proxy's real rules. Each
// row asserts the client's result and the source address the pod saw, on every branch.

import { describe, expect, it } from "vitest";
import { SimNetwork } from "../../../src/net/sim/index.js";
import { KERNEL_LAB_ROWS, kernelLabTopology } from "../../fixtures/kernel-lab.js";
import { labTopology } from "./kernel-lab-topology.js";

/** What each row's explanation must name: the deciding host, chain or mechanism. */
const EXPLAINS: Record<string, RegExp> = {
  "1a": /node2 masqueraded the source to 192\.168\.1\.12 \(KUBE-POSTROUTING\)/,
  "1b": /node1 masqueraded the source to 10\.244\.1\.1/,
  "2a": /reply came from 10\.244\.1\.5:80, not 192\.168\.1\.12:30080 .*no SNAT on node2: KUBE-POSTROUTING MASQUERADE missing.*answered RST/,
  "3a": /^dropped on node2 by KUBE-EXTERNAL-SERVICES: default\/nginx:http has no local endpoints$/,
  "3d": /nothing listens on node2 .*ECONNREFUSED/,
  "4a": /router has no route to 198\.51\.100\.10.*ENETUNREACH/,
  "4d": /looped between router and node2 until its TTL ran out.*EHOSTUNREACH/,
  H1: /back out veth-nginx-1, the port it came in on, and hairpin_mode is off/,
  H2: /promiscuous, but the copy passed up has its conntrack reset, reached FORWARD as INVALID and was dropped by KUBE-FORWARD/,
  H5: /martian: its source 10\.244\.1\.5 is nginx-1's own address/,
};

describe("kernel-lab rows on the lab's hand-drawn network", () => {
  for (const row of KERNEL_LAB_ROWS) {
    it(`${row.id}: ${row.what} → ${row.result}${row.sourceSeen ? `, pod saw ${row.sourceSeen}` : ""}`, () => {
      const net = new SimNetwork(labTopology(row.variant));
      const out = net.probe(row.probe);
      expect(out.branches.length).toBeGreaterThan(0);
      const total = out.branches.reduce((s, b) => s + b.probability, 0);
      expect(total).toBeCloseTo(1, 9);
      for (const b of out.branches) {
        expect({ result: b.result, explanation: b.explanation }).toMatchObject({ result: row.result });
        expect(b.sourceSeen?.ip ?? null).toBe(row.sourceSeen);
        expect(b.deliveredTo?.host ?? null).toBe(row.deliveredTo);
        expect(b.explanation.length).toBeGreaterThan(20);
        if (EXPLAINS[row.id]) expect(b.explanation).toMatch(EXPLAINS[row.id]!);
      }
    });
  }
});

describe("kernel-lab rows on the assembled cluster topology", () => {
  for (const row of KERNEL_LAB_ROWS) {
    it(`${row.id}: ${row.result}`, () => {
      const out = new SimNetwork(kernelLabTopology(row.variant)).probe(row.probe);
      for (const b of out.branches) {
        expect(b.result).toBe(row.result);
        if (row.result === "connected") {
          expect(b.sourceSeen?.ip).toBe(row.sourceSeen);
          expect(b.deliveredTo?.host).toBe(row.deliveredTo);
        }
      }
    });
  }
});
