// Every row of kernel-lab.md, replayed on the kernel engine: the same client result, the same
// receiving host and the same source address seen as the real kernel gave when the document was
// written. One lab per rule variant; its rows share it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelLab } from "../../src/lab/kernel-lab.js";
import { KERNEL_LAB_ROWS, kernelLabTopology, type LabRow } from "../fixtures/kernel-lab.js";
import { labSkipReason } from "./lab-env.js";

/**
 * What came back to the client, per kernel-lab.md's explanations: the SYN-ACK from the pod's
 * own address (2a), silence (3a, hairpin drops), node2's RST (3d), the router's ICMP net
 * unreachable (4a), ICMP time exceeded from the routing loop (4d).
 */
const SIGNALS: Record<string, { signal: string; replyFrom?: string }> = {
  "1a": { signal: "syn-ack", replyFrom: "192.168.1.12:30080" },
  "2a": { signal: "syn-ack", replyFrom: "10.244.1.5:80" },
  "3a": { signal: "none" },
  "3d": { signal: "rst", replyFrom: "192.168.1.12:30080" },
  "4a": { signal: "icmp-net-unreachable", replyFrom: "203.0.113.1:0" },
  "4d": { signal: "icmp-time-exceeded" },
  H1: { signal: "none" },
};

const byVariant = new Map<string, LabRow[]>();
for (const row of KERNEL_LAB_ROWS) {
  const key = JSON.stringify(row.variant);
  byVariant.set(key, [...(byVariant.get(key) ?? []), row]);
}

describe.skipIf(labSkipReason !== null)("kernel engine reproduces kernel-lab.md", () => {
  for (const [key, rows] of byVariant) {
    describe(`variant ${key}`, () => {
      let lab: KernelLab;
      beforeAll(async () => {
        lab = await KernelLab.create(kernelLabTopology(rows[0]!.variant));
      }, 60_000);
      afterAll(async () => {
        await lab?.destroy();
      });
      for (const row of rows) {
        it(`${row.id}: ${row.what} → ${row.result}`, async () => {
          const outcome = await lab.probe(row.probe, { expectEndpoints: row.deliveredTo ? [row.deliveredTo] : [] });
          expect(outcome.engine).toBe("kernel");
          expect(outcome.branches.length).toBeGreaterThan(0);
          const sum = outcome.branches.reduce((s, b) => s + b.probability, 0);
          expect(sum).toBeCloseTo(1, 6);
          for (const b of outcome.branches) {
            expect({ result: b.result, deliveredTo: b.deliveredTo?.host ?? null, sourceSeen: b.sourceSeen?.ip ?? null, why: b.explanation }).toMatchObject({
              result: row.result,
              deliveredTo: row.deliveredTo,
              sourceSeen: row.sourceSeen,
            });
            const want = SIGNALS[row.id];
            if (want) {
              expect(b.signal).toBe(want.signal);
              if (want.replyFrom) expect(b.replyFrom ? `${b.replyFrom.ip}:${b.replyFrom.port}` : null).toBe(want.replyFrom);
            }
          }
        }, 60_000);
      }
    });
  }
});
