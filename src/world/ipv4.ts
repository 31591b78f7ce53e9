// IPv4 helpers for the world layer. User input is validated at the edge by ip-num (its Validator,
// see src/lang/literals.ts); the arithmetic the allocators do (next free address, "is this IP in
// that range") is plain uint32.

import { Validator } from "ip-num/dist/src/Validator.js";
import { isIPv4Text } from "../lang/literals.js";

export interface Cidr {
  /** Network address as uint32. */
  base: number;
  prefix: number;
  /** Number of addresses in the range (2^(32-prefix)). */
  size: number;
}

/** A strict dotted-quad check (no leading zeros, four octets 0-255). */
export function isIPv4(text: string): boolean {
  return isIPv4Text(text);
}

/** Why `text` is not an IPv4 address, in plain words, or null when it is one. */
export function ipv4Problem(text: string): string | null {
  if (isIPv4(text)) return null;
  if (text.includes(":")) return `\`${text}\` is an IPv6 address; svcspec simulates IPv4 clusters only`;
  if (/^\d+(\.\d+){3}$/.test(text) && text.split(".").some((o) => o.length > 1 && o.startsWith("0")))
    return `\`${text}\` has an octet with a leading zero; write it without (kube-apiserver rejects it too)`;
  return `\`${text}\` is not a valid IPv4 address`;
}

export function ipToInt(ip: string): number {
  // Four runs of 1-3 digits (every address the allocators see): read by a scan, no split.
  const o = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c >= 48 && c <= 57 && digits < 3) {
      o[part] = o[part]! * 10 + (c - 48);
      digits++;
    } else if (c === 46 && digits > 0 && part < 3) {
      part++;
      digits = 0;
    } else return ipToIntBySplit(ip);
  }
  if (part !== 3 || digits === 0) return ipToIntBySplit(ip);
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

/** ipToInt for any other text, with JavaScript's number conversion of each part. */
function ipToIntBySplit(ip: string): number {
  const p = ip.split(".");
  return ((+p[0]! << 24) | (+p[1]! << 16) | (+p[2]! << 8) | +p[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Why `text` is not a CIDR (network address/prefix), or null. Host bits set is a problem. */
export function cidrProblem(text: string): string | null {
  const slash = text.indexOf("/");
  if (slash < 0) return `\`${text}\` is not a CIDR (expected ADDRESS/PREFIX, e.g. 10.96.0.0/12)`;
  const ip = text.slice(0, slash);
  const pre = text.slice(slash + 1);
  const ipErr = ipv4Problem(ip);
  if (ipErr) return ipErr;
  if (!/^\d{1,2}$/.test(pre) || +pre > 32 || !Validator.isValidIPv4CidrNotation(text)[0])
    return `\`${text}\` has an invalid prefix length (0-32)`;
  const c = toCidrUnchecked(ip, +pre);
  if (c.base !== ipToInt(ip)) return `\`${text}\` has host bits set; the network is ${intToIp(c.base)}/${pre}`;
  return null;
}

function toCidrUnchecked(ip: string, prefix: number): Cidr {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToInt(ip) & mask) >>> 0, prefix, size: 2 ** (32 - prefix) };
}

/** Parses a CIDR already validated with cidrProblem (or written by svcspec itself). */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  if (slash >= 0 && text.indexOf("/", slash + 1) < 0) return toCidrUnchecked(text.slice(0, slash), Number(text.slice(slash + 1)));
  const [ip, pre] = text.split("/");
  return toCidrUnchecked(ip!, Number(pre));
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + c.size;
}

export function cidrText(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

/** Whether two ranges share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/**
 * Special addresses kube-apiserver refuses as externalIPs / endpoints (ValidateNonSpecialIP):
 * unspecified, loopback, link-local, multicast.
 */
export function specialIpProblem(ip: string): string | null {
  const n = ipToInt(ip);
  if (n === 0) return "may not be unspecified (0.0.0.0)";
  if (n >>> 24 === 127) return "may not be in the loopback range (127.0.0.0/8)";
  if (n >>> 16 === ((169 << 8) | 254)) return "may not be in the link-local range (169.254.0.0/16)";
  if (n >>> 28 === 0xe) return "may not be in the multicast range (224.0.0.0/4)";
  return null;
}
