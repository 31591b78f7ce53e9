// formatProbability keeps the texts it printed: each must be the text printed without it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatProbability } from "../../src/run/branch-name.js";

const printed = (p: number): string => (p >= 0.995 ? "1.00" : p.toFixed(2));

describe("formatProbability", () => {
  it("prints every probability as toFixed(2) (1.00 from 0.995), the first time and again", () => {
    const probability = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(1 / 2, 1 / 3, 1 / 4, 1 / 6, 0.995, 0.9949999, 0.005, 0.015, 0));
    fc.assert(
      fc.property(fc.array(probability, { maxLength: 40 }), (ps) => {
        for (const p of [...ps, ...ps]) expect(formatProbability(p)).toBe(printed(p));
      }),
      { numRuns: 300 },
    );
  });
});
