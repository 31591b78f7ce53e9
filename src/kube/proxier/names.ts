// Chain names and probability strings exactly as kube-proxy (iptables mode) spells them.
//
// Chain names: SHA-256 of "servicePortName + protocol [+ endpoint]", RFC 4648 standard base32,
// first 16 characters, behind a fixed prefix. Probabilities: Go's fmt "%0.10f" of 1/n.

import * as crypto from "node:crypto";

// crypto.hash (Node >= 20.12) is a one-shot digest, several times cheaper than createHash per call.
// Looked up on the first non-ASCII input only: the CLI bundle loads node:crypto when one of its
// exports is first read, and a run whose names are all ASCII then never pays for loading it.
let nodeSha256: ((s: string) => Buffer) | undefined;
const sha256 = (s: string): Buffer => {
  if (!nodeSha256) {
    const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: "buffer") => Buffer }).hash;
    nodeSha256 = oneShot
      ? (t: string): Buffer => oneShot("sha256", t, "buffer")
      : (t: string): Buffer => crypto.createHash("sha256").update(t, "utf8").digest();
  }
  return nodeSha256(s);
};

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

// SHA-256 in plain JavaScript for ASCII input: a 10k-Service sync names 110k chains, and for
// inputs this short the call into OpenSSL costs more than the 64 rounds themselves (FIPS 180-4;
// checked against node:crypto in test/kube/sha256.test.ts). Non-ASCII input goes to node:crypto.
// Int32Array, not Uint32Array: values above 2^31 read from a Uint32Array are not small integers
// to V8, and the rounds would run in floating point.
const K256 = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W256 = new Int32Array(64);
const H256 = new Int32Array(8);
/** The message being hashed, as bytes, padding included (grown for long inputs). */
let M256 = new Uint8Array(256);

/**
 * SHA-256 of the ASCII string a + b + c into H256 (the parts are hashed in place: no
 * concatenated string); false (nothing computed) if any character is not ASCII.
 */
function sha256Ascii(a: string, b = "", c = ""): boolean {
  const n = a.length + b.length + c.length;
  // Message, 0x80, zeros, 64-bit big-endian bit length: a whole number of 64-byte blocks.
  const blocks = Math.floor((n + 8) / 64) + 1;
  const total = blocks * 64;
  if (M256.length < total) M256 = new Uint8Array(total * 2);
  const m = M256;
  let p = 0;
  for (let i = 0; i < a.length; i++) {
    const ch = a.charCodeAt(i);
    if (ch > 127) return false;
    m[p++] = ch;
  }
  for (let i = 0; i < b.length; i++) {
    const ch = b.charCodeAt(i);
    if (ch > 127) return false;
    m[p++] = ch;
  }
  for (let i = 0; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    if (ch > 127) return false;
    m[p++] = ch;
  }
  m[p++] = 0x80;
  while (p < total - 8) m[p++] = 0;
  const bitHigh = Math.floor(n / 0x20000000); // n * 8 / 2^32
  const bitLow = (n * 8) >>> 0;
  m[p++] = bitHigh >>> 24; m[p++] = (bitHigh >>> 16) & 0xff; m[p++] = (bitHigh >>> 8) & 0xff; m[p++] = bitHigh & 0xff;
  m[p++] = bitLow >>> 24; m[p++] = (bitLow >>> 16) & 0xff; m[p++] = (bitLow >>> 8) & 0xff; m[p++] = bitLow & 0xff;
  H256[0] = 0x6a09e667; H256[1] = 0xbb67ae85; H256[2] = 0x3c6ef372; H256[3] = 0xa54ff53a;
  H256[4] = 0x510e527f; H256[5] = 0x9b05688c; H256[6] = 0x1f83d9ab; H256[7] = 0x5be0cd19;
  const W = W256;
  for (let blk = 0; blk < total; blk += 64) {
    for (let t = 0; t < 16; t++) {
      const j = blk + t * 4;
      W[t] = (m[j]! << 24) | (m[j + 1]! << 16) | (m[j + 2]! << 8) | m[j + 3]!;
    }
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15]!;
      const w2 = W[t - 2]!;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
    }
    let ha = H256[0]!, hb = H256[1]!, hc = H256[2]!, hd = H256[3]!, he = H256[4]!, hf = H256[5]!, hg = H256[6]!, hh = H256[7]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((he >>> 6) | (he << 26)) ^ ((he >>> 11) | (he << 21)) ^ ((he >>> 25) | (he << 7));
      const ch = (he & hf) ^ (~he & hg);
      const t1 = (hh + S1 + ch + K256[t]! + W[t]!) | 0;
      const S0 = ((ha >>> 2) | (ha << 30)) ^ ((ha >>> 13) | (ha << 19)) ^ ((ha >>> 22) | (ha << 10));
      const maj = (ha & hb) ^ (ha & hc) ^ (hb & hc);
      const t2 = (S0 + maj) | 0;
      hh = hg; hg = hf; hf = he; he = (hd + t1) | 0; hd = hc; hc = hb; hb = ha; ha = (t1 + t2) | 0;
    }
    H256[0] = (H256[0]! + ha) | 0; H256[1] = (H256[1]! + hb) | 0; H256[2] = (H256[2]! + hc) | 0; H256[3] = (H256[3]! + hd) | 0;
    H256[4] = (H256[4]! + he) | 0; H256[5] = (H256[5]! + hf) | 0; H256[6] = (H256[6]! + hg) | 0; H256[7] = (H256[7]! + hh) | 0;
  }
  return true;
}

/** Byte i (0-based) of the digest, from H256 or from a node:crypto digest. */
const digestBytes = (input: string): ((i: number) => number) => {
  if (sha256Ascii(input)) return (i) => (H256[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  const d = sha256(input);
  return (i) => d[i]!;
};

/** SHA-256 of the UTF-8 bytes of input (what node:crypto gives), as 32 bytes. */
export function sha256Digest(input: string): Uint8Array {
  const byte = digestBytes(input);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = byte(i);
  return out;
}

/** The first 16 base32 characters of SHA-256(input): 80 bits, exactly what kube-proxy keeps. */
export function hash16(input: string): string {
  return hashedName("", input);
}

/**
 * prefix ("" or a 9-character "KUBE-XXX-") + the first 16 base32 characters of
 * SHA-256(a + b + c), made as one flat string: no concatenated input, no tree of string pieces,
 * no buffer per name (110k names per 10k-Service sync).
 */
function hashedName(prefix: string, a: string, b = "", c = ""): string {
  let h0: number, h1: number, h2: number;
  if (sha256Ascii(a, b, c)) {
    h0 = H256[0]!;
    h1 = H256[1]!;
    h2 = H256[2]!;
  } else {
    const d = sha256(a + b + c);
    h0 = d.readInt32BE(0);
    h1 = d.readInt32BE(4);
    h2 = d.readInt32BE(8);
  }
  // 16 characters of 5 bits: the 80 bits h0 (32), h1 (32) and the top 16 of h2.
  const B = BASE32_CODES;
  const c0 = B[h0 >>> 27]!, c1 = B[(h0 >>> 22) & 31]!, c2 = B[(h0 >>> 17) & 31]!, c3 = B[(h0 >>> 12) & 31]!;
  const c4 = B[(h0 >>> 7) & 31]!, c5 = B[(h0 >>> 2) & 31]!, c6 = B[((h0 & 3) << 3) | (h1 >>> 29)]!, c7 = B[(h1 >>> 24) & 31]!;
  const c8 = B[(h1 >>> 19) & 31]!, c9 = B[(h1 >>> 14) & 31]!, c10 = B[(h1 >>> 9) & 31]!, c11 = B[(h1 >>> 4) & 31]!;
  const c12 = B[((h1 & 15) << 1) | (h2 >>> 31)]!, c13 = B[(h2 >>> 26) & 31]!, c14 = B[(h2 >>> 21) & 31]!, c15 = B[(h2 >>> 16) & 31]!;
  const codes = NAME_CODES;
  let k = 0;
  for (; k < prefix.length; k++) codes[k] = prefix.charCodeAt(k);
  codes[k] = c0; codes[k + 1] = c1; codes[k + 2] = c2; codes[k + 3] = c3; codes[k + 4] = c4; codes[k + 5] = c5; codes[k + 6] = c6; codes[k + 7] = c7;
  codes[k + 8] = c8; codes[k + 9] = c9; codes[k + 10] = c10; codes[k + 11] = c11; codes[k + 12] = c12; codes[k + 13] = c13; codes[k + 14] = c14; codes[k + 15] = c15;
  return String.fromCharCode.apply(null, (k === 0 ? HASH_CODES : NAME_CODES) as unknown as number[]);
}

const BASE32_CODES = Uint8Array.from(BASE32, (ch) => ch.charCodeAt(0));
// The characters of a name: a 9-character prefix and 16 of hash (HASH_CODES: the hash alone, no prefix).
const NAME_CODES = new Uint16Array(25);
const HASH_CODES = NAME_CODES.subarray(0, 16);

/** The per-service-port chain names; all five share one hash (SEP chains have their own). */
export interface ServiceChainNames {
  svc: string;
  svl: string;
  ext: string;
  fw: string;
}

/**
 * `remember`: keep the name for the next sync (small clusters: every scenario change re-syncs
 * every node with mostly the same Services and endpoints, and a lookup costs far less than the
 * hash, above all in a short run where the hash function is not optimised yet). A large
 * cluster's names would only churn the bounded memory.
 */
export function serviceChainNames(servicePortName: string, protocolLower: string, remember = false): ServiceChainNames {
  const input = remember ? servicePortName + protocolLower : null;
  let svc = input !== null ? rememberedServiceChains.get(input) : undefined;
  if (svc === undefined) {
    svc = hashedName("KUBE-SVC-", servicePortName, protocolLower);
    if (input !== null) remember1(rememberedServiceChains, input, svc);
  }
  const h = svc.slice(9);
  return { svc, svl: "KUBE-SVL-" + h, ext: "KUBE-EXT-" + h, fw: "KUBE-FW-" + h };
}

export function endpointChainName(servicePortName: string, protocolLower: string, endpoint: string, remember = false): string {
  if (!remember) return hashedName("KUBE-SEP-", servicePortName, protocolLower, endpoint);
  // The name depends only on the concatenated input: that is the key.
  const input = servicePortName + protocolLower + endpoint;
  let name = rememberedEndpointChains.get(input);
  if (name === undefined) {
    name = hashedName("KUBE-SEP-", servicePortName, protocolLower, endpoint);
    remember1(rememberedEndpointChains, input, name);
  }
  return name;
}

const REMEMBERED_MAX = 8192;
const rememberedServiceChains = new Map<string, string>();
const rememberedEndpointChains = new Map<string, string>();
function remember1(m: Map<string, string>, input: string, name: string): void {
  if (m.size >= REMEMBERED_MAX) m.clear();
  m.set(input, name);
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
