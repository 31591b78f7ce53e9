// Chain names and probability strings exactly as kube-proxy (iptables mode) spells them.
//
// Chain names: SHA-256 of "servicePortName + protocol [+ endpoint]", RFC 4648 standard base32,
// first 16 characters, behind a fixed prefix. Probabilities: Go's fmt "%0.10f" of 1/n.

import * as crypto from "node:crypto";

// crypto.hash (Node >= 20.12) is a one-shot digest, several times cheaper than createHash per call.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: "buffer") => Buffer }).hash;
const sha256 = oneShot
  ? (s: string): Buffer => oneShot("sha256", s, "buffer")
  : (s: string): Buffer => crypto.createHash("sha256").update(s, "utf8").digest();

export const KUBE_SERVICES = "KUBE-SERVICES";
export const KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES";
export const KUBE_NODEPORTS = "KUBE-NODEPORTS";
export const KUBE_POSTROUTING = "KUBE-POSTROUTING";
export const KUBE_MARK_MASQ = "KUBE-MARK-MASQ";
export const KUBE_FORWARD = "KUBE-FORWARD";
export const KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL";
/** kubelet's chain; kube-proxy writes an identical copy of its one rule (localhost NodePorts). */
export const KUBE_FIREWALL = "KUBE-FIREWALL";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The first 16 base32 characters of SHA-256(input): 80 bits, exactly what kube-proxy keeps. */
export function hash16(input: string): string {
  const digest = sha256(input);
  let out = "";
  let acc = 0;
  let bits = 0;
  // 16 characters need 80 bits = the first 10 bytes; the rest of the digest never shows.
  for (let i = 0; i < 10; i++) {
    acc = ((acc << 8) | digest[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The per-service-port chain names; all five share one hash (SEP chains have their own). */
export interface ServiceChainNames {
  svc: string;
  svl: string;
  ext: string;
  fw: string;
}

export function serviceChainNames(servicePortName: string, protocolLower: string): ServiceChainNames {
  const h = hash16(servicePortName + protocolLower);
  return { svc: "KUBE-SVC-" + h, svl: "KUBE-SVL-" + h, ext: "KUBE-EXT-" + h, fw: "KUBE-FW-" + h };
}

export function endpointChainName(servicePortName: string, protocolLower: string, endpoint: string): string {
  return "KUBE-SEP-" + hash16(servicePortName + protocolLower + endpoint);
}

/** Chains kube-proxy considers its own per-service chains (stale ones are deleted). */
export function isServiceChainName(chain: string): boolean {
  return (
    chain.startsWith("KUBE-SVC-") ||
    chain.startsWith("KUBE-SVL-") ||
    chain.startsWith("KUBE-SEP-") ||
    chain.startsWith("KUBE-FW-") ||
    chain.startsWith("KUBE-EXT-")
  );
}

/**
 * Go's fmt.Sprintf("%0.10f", 1.0/float64(n)). JavaScript's toFixed picks the larger neighbour
 * on an exact decimal tie, Go rounds the exact binary value half-to-even; the only exact tie
 * among 1/n is n = 2048 (0.00048828125), so format through BigInt on the exact binary value.
 */
export function goProbability(n: number): string {
  return formatExactHalfEven(1 / n, 10);
}

/** Exact half-to-even fixed-point formatting of a double (binary value taken exactly). */
export function formatExactHalfEven(x: number, digits: number): string {
  // x = mant * 2^exp exactly.
  const [mant, exp] = decompose(x);
  const pow10 = 10n ** BigInt(digits);
  let num: bigint;
  let den: bigint;
  if (exp >= 0) {
    num = mant * (1n << BigInt(exp)) * pow10;
    den = 1n;
  } else {
    num = mant * pow10;
    den = 1n << BigInt(-exp);
  }
  let q = num / den;
  const r = num % den;
  if (r * 2n > den || (r * 2n === den && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(digits + 1, "0");
  return s.slice(0, s.length - digits) + "." + s.slice(s.length - digits);
}

function decompose(x: number): [bigint, number] {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) {
    exp = -1074;
  } else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  return [mant, exp];
}

/** kube-proxy caches probability strings; so do we (the 10k-service bench needs it). */
const probabilityCache: string[] = [];
export function probability(n: number): string {
  let s = probabilityCache[n];
  if (s === undefined) {
    s = goProbability(n);
    probabilityCache[n] = s;
  }
  return s;
}
