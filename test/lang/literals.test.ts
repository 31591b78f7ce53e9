// checkIpv4 and checkCidr give ip-num's verdicts without its per-call work: checked here against
// ip-num's Validator itself on random near-addresses.
import fc from "fast-check";
import { Validator } from "ip-num";
import { describe, expect, it } from "vitest";
import { checkCidr, checkIpv4 } from "../../src/lang/literals.js";

const octet = fc.oneof(fc.nat({ max: 300 }).map(String), fc.constantFrom("", "0", "00", "01", "007", "255", "256", "1000", "x", " 1", "1e1", "-1"));
const address = fc.oneof(
  fc.array(octet, { minLength: 1, maxLength: 6 }).map((os) => os.join(".")),
  fc.stringMatching(/^[0-9.]{0,16}$/),
);
const prefix = fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom("", "00", "08", "-0", "-1", " 8", "8.0", "1e1", "0x10", "abc"));

describe("literals agree with ip-num", () => {
  it("checkIpv4 accepts exactly what Validator.isValidIPv4String accepts (and has no leading zeros)", () => {
    fc.assert(
      fc.property(address, (text) => {
        const ours = checkIpv4(text);
        const theirs = Validator.isValidIPv4String(text)[0] && !text.split(".").some((o) => o.length > 1 && o.startsWith("0"));
        expect(ours.ok).toBe(theirs);
        if (ours.ok) expect(ours.value.text).toBe(text);
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
