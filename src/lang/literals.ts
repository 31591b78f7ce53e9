// IPv4 and CIDR literals: validated at the edge (user input) by ip-num, then carried as plain
// uint32 numbers. The reason for a rejection is worked out here so the message can say what is
// wrong ("octet 300 is above 255"), not just that something is.
//
// Only ip-num's Validator module is loaded (not its index, whose IPv6 set-up was ~10 ms of every
// run's start-up), and an address is checked with ip-num's own IPv4 pattern, which is exactly
// Validator.isValidIPv4String's verdict without its split and four BigInts per literal
// (test/lang/literals.test.ts checks both against isValidIPv4String).

import { Validator } from "ip-num/dist/src/Validator.js";

/** Whether `text` is a dotted-quad IPv4 address as ip-num's Validator says (four octets 0-255, no leading zeros). */
export function isIPv4Text(text: string): boolean {
  return Validator.IPV4_PATTERN.test(text);
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function octetProblem(octets: string[], text: string): string {
  if (octets.length !== 4) return `\`${text}\` is not an IPv4 address: it has ${octets.length} parts, an address has 4 (a.b.c.d)`;
  for (const o of octets) {
    if (o === "") return `\`${text}\` is not an IPv4 address: an octet is empty`;
    if (Number(o) > 255) return `\`${text}\` is not an IPv4 address: octet ${o} is above 255`;
    if (o.length > 1 && o.startsWith("0")) return `\`${text}\` is not an IPv4 address: octet \`${o}\` has a leading zero`;
  }
  return `\`${text}\` is not an IPv4 address`;
}

/** The value of an address ip-num's pattern accepted (four octets 0-255, digits and dots only). */
function valueOfValid(text: string): number {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      value = value * 256 + octet;
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return value * 256 + octet;
}

export function checkIpv4(text: string): Checked<{ text: string; value: number }> {
  // ip-num's pattern admits only canonical addresses (no leading zeros, four octets 0-255):
  // such a text is its own canonical form, and its value is read without a split.
  if (isIPv4Text(text)) return { ok: true, value: { text, value: valueOfValid(text) } };
  return { ok: false, reason: octetProblem(text.split("."), text) };
}

type CheckedCidr = Checked<{ text: string; base: number; prefix: number }>;

/**
 * checkCidr's verdicts by text: a pure function of the text, and the same few CIDRs
 * (`pod-cidr 10.244.0.0/16`) come back in every file, each costing ip-num's check with BigInts.
 * Callers copy what they keep, never change a verdict.
 */
const cidrVerdicts = new Map<string, CheckedCidr>();

export function checkCidr(text: string): CheckedCidr {
  let verdict = cidrVerdicts.get(text);
  if (verdict === undefined) cidrVerdicts.set(text, (verdict = checkCidrText(text)));
  return verdict;
}

function checkCidrText(text: string): CheckedCidr {
  const slash = text.indexOf("/");
  const addr = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (prefixText === "") return { ok: false, reason: `\`${text}\` is missing its prefix length after \`/\` (e.g. \`${addr}/16\`)` };
  const ip = checkIpv4(addr);
  if (!ip.ok) return { ok: false, reason: ip.reason.replace(/^`[^`]*` is not an IPv4 address/, `\`${text}\` is not a CIDR`) };
  const prefix = Number(prefixText);
  if (prefix > 32 || (prefixText.length > 1 && prefixText.startsWith("0"))) {
    return { ok: false, reason: `\`${text}\` is not a CIDR: prefix length ${prefixText} is not between 0 and 32` };
  }
  const [valid] = Validator.isValidIPv4CidrNotation(`${ip.value.text}/${prefix}`);
  if (!valid) return { ok: false, reason: `\`${text}\` is not a CIDR` };
  return { ok: true, value: { text: `${ip.value.text}/${prefix}`, base: ip.value.value, prefix } };
}

/** Formats a uint32 as a dotted IPv4 address. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
