// Address handling as kube-proxy does it: "sloppy" parsing (IPv4 octets with leading zeros are
// decimal, as Go's netutils.ParseIPSloppy reads them) and canonical printing (Go's net.IP
// String: dotted quad, or RFC 5952 compressed IPv6). Plain code, no library objects: this runs
// for every endpoint of every Service.

export type Family = 4 | 6;

/** A parsed address: 4 or 16 bytes. */
export interface ParsedIP {
  family: Family;
  bytes: number[];
}

export function parseIPSloppy(text: string): ParsedIP | null {
  if (text.includes(":")) return parseIPv6(text);
  const v4 = parseIPv4(text);
  return v4 ? { family: 4, bytes: v4 } : null;
}

function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || !/^[0-9]+$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out.push(v);
  }
  return out;
}

function parseIPv6(text: string): ParsedIP | null {
  let s = text;
  let tail: number[] = [];
  // An embedded dotted quad (::ffff:1.2.3.4) takes the last 32 bits.
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) !== -1) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = v4;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return null;
  const parseGroups = (g: string): number[] | null => {
    if (g === "") return [];
    const out: number[] = [];
    for (const h of g.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return null;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(s);
    if (!g || g.length !== 8) return null;
    groups = g;
  } else {
    const head = parseGroups(s.slice(0, dbl));
    const rest = parseGroups(s.slice(dbl + 2));
    if (!head || !rest || head.length + rest.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return { family: 6, bytes };
}

export function formatIP(ip: ParsedIP): string {
  const b = ip.bytes;
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // Longest run (>= 2) of zero groups, the first one on a tie, becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart === -1) return groups.map(hex).join(":");
  const left = groups.slice(0, bestStart).map(hex).join(":");
  const right = groups.slice(bestStart + bestLen).map(hex).join(":");
  return `${left}::${right}`;
}

/**
 * Dotted-quad fast path (every endpoint goes through here): scan once; when the text is already
 * canonical (no leading zeros) hand it back unchanged.
 */
function canonicalIPv4(text: string): string | null {
  let octets = 0;
  let value = 0;
  let digits = 0;
  let canonical = true;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255) return null;
      if (digits > 1 && text.charCodeAt(i - digits) === 48) canonical = false;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return null;
      value = value * 10 + (c - 48);
    } else {
      return null;
    }
  }
  if (octets !== 4) return null;
  // Only a text with leading zeros needs printing again (rare): nothing is built otherwise.
  return canonical ? text : formatIP({ family: 4, bytes: parseIPv4(text)! });
}

/** Parse sloppily and print canonically; null when it is not an address. */
export function canonicalIP(text: string): { family: Family; text: string } | null {
  const canonical = canonicalIPText(text);
  return canonical === null ? null : { family: text.includes(":") ? 6 : 4, text: canonical };
}

/** canonicalIP's text alone (no result object: this runs for every endpoint of every sync). */
export function canonicalIPText(text: string): string | null {
  if (!text.includes(":")) return canonicalIPv4(text);
  const ip = parseIPSloppy(text);
  return ip ? formatIP(ip) : null;
}

export interface ParsedCIDR {
  family: Family;
  bytes: number[];
  prefix: number;
}

/** Go's ParseCIDRSloppy, returning the network (host bits cleared) as kube-proxy re-prints it. */
export function parseCIDRSloppy(text: string): ParsedCIDR | null {
  const slash = text.indexOf("/");
  if (slash === -1) return null;
  const ip = parseIPSloppy(text.slice(0, slash));
  const pfx = text.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(pfx)) return null;
  const prefix = Number(pfx);
  const max = ip.family === 4 ? 32 : 128;
  if (prefix > max) return null;
  const bytes = ip.bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  return { family: ip.family, bytes, prefix };
}

export function formatCIDR(c: ParsedCIDR): string {
  return `${formatIP({ family: c.family, bytes: c.bytes })}/${c.prefix}`;
}

export function cidrContains(c: ParsedCIDR, ip: ParsedIP): boolean {
  if (c.family !== ip.family) return false;
  for (let i = 0; i < c.bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, c.prefix - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((ip.bytes[i]! & mask) !== c.bytes[i]) return false;
  }
  return true;
}

export function familyOf(text: string): Family | null {
  return parseIPSloppy(text)?.family ?? null;
}
