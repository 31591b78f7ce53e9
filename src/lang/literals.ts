// IPv4 and CIDR literals: validated at the edge (user input) by ip-num's rules, then carried as
// plain uint32 numbers. The reason for a rejection is worked out here so the message can say what
// is wrong ("octet 300 is above 255"), not just that something is.
//
// ip-num itself is not loaded at run time: its module set-up alone (IPv6 constants) was ~10 ms
// of every run's start-up, and its validators cost a split and four BigInts per literal. Its
// IPv4 verdict is one pattern, copied here; test/lang/literals.test.ts checks both against it.

/**
 * ip-num's Validator.IPV4_PATTERN: four octets 0-255, no leading zeros. Validator.isValidIPv4String
 * accepts exactly what it matches (its octet count, range and leading-zero checks reject nothing
 * the pattern accepts).
 */
const IPV4_PATTERN = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/** Whether `text` is a dotted-quad IPv4 address as ip-num's Validator.isValidIPv4String says. */
export function isIPv4Text(text: string): boolean {
  return IPV4_PATTERN.test(text);
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

function toUint32(octets: string[]): number {
  return (((Number(octets[0]) << 24) >>> 0) + (Number(octets[1]) << 16) + (Number(octets[2]) << 8) + Number(octets[3])) >>> 0;
}

export function checkIpv4(text: string): Checked<{ text: string; value: number }> {
  const octets = text.split(".");
  const valid = isIPv4Text(text);
  if (!valid || octets.length !== 4 || octets.some((o) => o.length > 1 && o.startsWith("0"))) {
    return { ok: false, reason: octetProblem(octets, text) };
  }
  return { ok: true, value: { text: octets.map(Number).join("."), value: toUint32(octets) } };
}

export function checkCidr(text: string): Checked<{ text: string; base: number; prefix: number }> {
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
  // What Validator.isValidIPv4CidrNotation(`${ip.value.text}/${prefix}`) still checks here (the
  // address is valid and the prefix at most 32): that the prefix is written in digits.
  if (!/^\d+$/.test(`${prefix}`)) return { ok: false, reason: `\`${text}\` is not a CIDR` };
  return { ok: true, value: { text: `${ip.value.text}/${prefix}`, base: ip.value.value, prefix } };
}

/** Formats a uint32 as a dotted IPv4 address. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
