// svcspec checks IPv4 and CIDR text by ip-num's rules without loading ip-num at run time:
// checked here against ip-num's Validator itself on random near-addresses.
import fc from "fast-check";
import { Validator } from "ip-num";
import { describe, expect, it } from "vitest";
import { checkCidr, checkIpv4, isIPv4Text } from "../../src/lang/literals.js";
import { cidrProblem, isIPv4 } from "../../src/world/ipv4.js";

const octet = fc.oneof(fc.nat({ max: 300 }).map(String), fc.constantFrom("", "0", "00", "01", "007", "255", "256", "1000", "x", " 1", "1e1", "-1"));
const address = fc.oneof(
  fc.array(octet, { minLength: 1, maxLength: 6 }).map((os) => os.join(".")),
  fc.stringMatching(/^[0-9.]{0,16}$/),
);
const prefix = fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom("", "00", "08", "-0", "-1", " 8", "8.0", "1e1", "0x10", "abc"));

describe("literals agree with ip-num", () => {
  it("isIPv4Text is Validator.isValidIPv4String", () => {
    fc.assert(
      fc.property(fc.oneof(address, fc.string({ maxLength: 20 })), (text) => {
        expect(isIPv4Text(text)).toBe(Validator.isValidIPv4String(text)[0]);
        expect(isIPv4Text(text)).toBe(Validator.IPV4_PATTERN.test(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("the world's isIPv4 and cidrProblem give the verdicts they gave with ip-num", () => {
    fc.assert(
      fc.property(address, prefix, (addr, pre) => {
        expect(isIPv4(addr)).toBe(/^\d{1,3}(\.\d{1,3}){3}$/.test(addr) && Validator.isValidIPv4String(addr)[0]);
        const text = `${addr}/${pre}`;
        const problem = cidrProblem(text);
        if (isIPv4(addr) && /^\d{1,2}$/.test(pre) && +pre <= 32) expect(Validator.isValidIPv4CidrNotation(text)[0]).toBe(true);
        if (problem === null) expect(Validator.isValidIPv4CidrNotation(text)[0]).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("checkIpv4 accepts exactly what Validator.isValidIPv4String accepts (and has no leading zeros)", () => {
    fc.assert(
      fc.property(address, (text) => {
        const ours = checkIpv4(text);
        const theirs = Validator.isValidIPv4String(text)[0] && !text.split(".").some((o) => o.length > 1 && o.startsWith("0"));
        expect(ours.ok).toBe(theirs);
        if (ours.ok) expect(ours.value.text).toBe(text);
        if (ours.ok) expect(ours.value.value).toBe(text.split(".").reduce((v, o) => v * 256 + Number(o), 0));
      }),
      { numRuns: 2000 },
    );
  });

  it("checkCidr accepts exactly what it accepted with Validator.isValidIPv4CidrNotation", () => {
    fc.assert(
      fc.property(address, prefix, (addr, pre) => {
        const text = `${addr}/${pre}`;
        const ip = checkIpv4(addr);
        const n = Number(pre);
        const before =
          pre !== "" && ip.ok && !(n > 32 || (pre.length > 1 && pre.startsWith("0"))) && Validator.isValidIPv4CidrNotation(`${ip.value.text}/${n}`)[0];
        expect(checkCidr(text).ok).toBe(before);
      }),
      { numRuns: 2000 },
    );
  });
});
