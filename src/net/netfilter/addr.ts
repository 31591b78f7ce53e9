// IPv4 addresses as uint32 (host order) for the hot path: parsed once at load time, compared
// with plain integer arithmetic per packet.

/** Parse a dotted quad; null when it is not one (hostnames are not resolved: a rule is data). */
export function parseIPv4(s: string): number | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** The prefix length of a contiguous mask, or -1 for a non-contiguous one (255.0.255.0). */
export function maskLength(mask: number): number {
  for (let len = 0; len <= 32; len++) if (prefixMask(len) === mask >>> 0) return len;
  return -1;
}

export interface AddrMask {
  addr: number;
  mask: number;
}

/**
 * `-s`/`-d` argument: IP, IP/len or IP/dotted-mask. The address is stored already masked, as
 * the kernel does (so `10.0.0.5/8` prints back as `10.0.0.0/8`).
 */
export function parseAddrMask(s: string): AddrMask | null {
  const slash = s.indexOf("/");
  const ipText = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIPv4(ipText);
  if (ip === null) return null;
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = s.slice(slash + 1);
    if (/^[0-9]{1,2}$/.test(m) && Number(m) <= 32) mask = prefixMask(Number(m));
    else {
      const dotted = parseIPv4(m);
      if (dotted === null) return null;
      mask = dotted;
    }
  }
  return { addr: (ip & mask) >>> 0, mask: mask >>> 0 };
}

export function formatAddrMask(a: AddrMask): string {
  const len = maskLength(a.mask);
  return `${formatIPv4(a.addr)}/${len >= 0 ? len : formatIPv4(a.mask)}`;
}
