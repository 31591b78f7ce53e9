// ipToInt and parseCidr read addresses by a character scan; any text they see must give what
// the former split and number conversion gave (including odd text: the scan hands it back).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ipToInt, parseCidr } from "../../src/world/ipv4.js";

const bySplit = (ip: string): number => {
  const p = ip.split(".");
  return ((+p[0]! << 24) | (+p[1]! << 16) | (+p[2]! << 8) | +p[3]!) >>> 0;
};

const part = fc.oneof(fc.nat({ max: 300 }).map(String), fc.constantFrom("", "0", "00", "010", "255", "256", "1000", "x", " 1", "1e1", "0x1f", "-1"));
const address = fc.oneof(
  fc.array(part, { minLength: 1, maxLength: 6 }).map((ps) => ps.join(".")),
  fc.stringMatching(/^[0-9./]{0,18}$/),
);

describe("IPv4 text to numbers", () => {
  it("ipToInt gives what splitting on dots gave, for any text", () => {
    fc.assert(
      fc.property(address, (ip) => {
        expect(ipToInt(ip)).toBe(bySplit(ip));
      }),
      { numRuns: 3000 },
    );
    expect(ipToInt("10.96.0.50")).toBe(0x0a600032);
    expect(ipToInt("255.255.255.255")).toBe(0xffffffff);
  });

  it("parseCidr gives what splitting on the slash gave", () => {
    fc.assert(
      fc.property(address, fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom("", "08", " 8", "1/2")), (ip, pre) => {
        const text = `${ip}/${pre}`;
        const [a, b] = text.split("/");
        const mask = Number(b) === 0 ? 0 : (0xffffffff << (32 - Number(b))) >>> 0;
        expect(parseCidr(text)).toEqual({ base: (bySplit(a!) & mask) >>> 0, prefix: Number(b), size: 2 ** (32 - Number(b)) });
      }),
      { numRuns: 2000 },
    );
  });
});
