// IPv4 addresses as plain uint32 numbers (host order). Topology strings are parsed once, when
// hosts are built; the walk only compares and masks numbers, so no objects are made per packet.

/** Parses a dotted quad; returns -1 for anything that is not exactly four decimal octets. */
export function parseIp(text: string): number {
  // One pass over the characters (no split, no regex): the walker parses addresses per hop.
  // Exactly four dot-separated parts of 1-3 ASCII digits, each at most 255.
  let v = 0;
  let parts = 0;
  let digits = 0;
  let octet = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || octet > 255 || ++parts > 4) return -1;
      v = v * 256 + octet;
      digits = 0;
      octet = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  return parts === 4 ? v >>> 0 : -1;
}

/** Like parseIp but throws: used for topology input that the assembler already validated. */
export function ip(text: string): number {
  const v = parseIp(text);
  if (v < 0) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  return v;
}

// Printed addresses, remembered: a probe's trace and conntrack texts print the same few
// addresses hundreds of times, and each print made seven strings. Bounded (cleared when full).
const IP_TEXT_MAX = 4096;
const ipText = new Map<number, string>();

export function fmtIp(v: number): string {
  const hit = ipText.get(v);
  if (hit !== undefined) return hit;
  const text = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  if (ipText.size >= IP_TEXT_MAX) ipText.clear();
  ipText.set(v, text);
  return text;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function inNet(addr: number, net: number, mask: number): boolean {
  return ((addr & mask) >>> 0) === net;
}

export interface Cidr {
  net: number;
  mask: number;
  prefix: number;
}

/** "10.0.0.0/8" → network, mask, prefix (host bits are cleared, as `ip route` does). */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addr = ip(slash < 0 ? text : text.slice(0, slash));
  const prefix = slash < 0 ? 32 : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`bad prefix in ${JSON.stringify(text)}`);
  const mask = maskOf(prefix);
  return { net: (addr & mask) >>> 0, mask, prefix };
}

export function fmtCidr(c: Cidr): string {
  return `${fmtIp(c.net)}/${c.prefix}`;
}

export const LOOPBACK_NET = 0x7f000000; // 127.0.0.0/8
export const LOOPBACK_MASK = 0xff000000;

export function isLoopback(addr: number): boolean {
  return ((addr & LOOPBACK_MASK) >>> 0) === LOOPBACK_NET;
}

export function isMulticast(addr: number): boolean {
  return addr >>> 28 === 0xe;
}

export function fmtEp(addr: number, port: number): string {
  return `${fmtIp(addr)}:${port}`;
}
