// hash16 computes SHA-256 in JavaScript for ASCII input (speed: 110k chain names per 10k-Service
// sync). It must equal node:crypto's digest for every length — single and multi-block, the
// padding edges at 55/56/63/64 bytes — and non-ASCII input must still hash its UTF-8 bytes.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { vethName } from "../../src/cluster/assemble.js";
import { hash16, sha256Digest } from "../../src/kube/proxier/names.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function reference(input: string): string {
  const d = createHash("sha256").update(input, "utf8").digest();
  let out = "";
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = ((acc << 8) | d[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

describe("hash16 (kube-proxy chain-name hash)", () => {
  it("matches node:crypto for every length from 0 to 300 bytes", () => {
    let seed = 12345;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    for (let n = 0; n <= 300; n++) {
      for (let k = 0; k < 3; k++) {
        const s = Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(rand() * 95))).join("");
        expect(hash16(s), JSON.stringify(s)).toBe(reference(s));
      }
    }
  });

  it("matches kube-proxy's names for real inputs and non-ASCII text", () => {
    for (const s of ["default/web:httptcp", "ns1/svc-1:httptcp10.64.3.21:8080", "kube-system/kube-dns:dns-tcptcp10.244.1.2:53", "ünïcode/ßvc:ħttptcp", "日本/サービス:http"]) {
      expect(hash16(s)).toBe(reference(s));
    }
    // Upstream's own name for the default kubernetes Service: KUBE-SVC-NPX46M4PTMTKRN6Y.
    expect(hash16("default/kubernetes:httpstcp")).toBe("NPX46M4PTMTKRN6Y");
  });
});

describe("sha256Digest (veth names and MACs)", () => {
  it("equals node:crypto's digest for ASCII, multi-block and non-ASCII input", () => {
    for (const s of ["", "default/web-1", "kube-system/coredns-1", "x".repeat(55), "y".repeat(64), "z".repeat(200), "ünïcode/pød", "日本/ポッド"]) {
      expect(Buffer.from(sha256Digest(s)).toString("hex"), JSON.stringify(s)).toBe(createHash("sha256").update(s, "utf8").digest("hex"));
    }
  });

  it("keeps veth names as a CNI plugin's hash of namespace/pod", () => {
    for (const [ns, pod] of [["default", "web-1"], ["team-a", "api-7f9c"], ["ns", "ünï"]] as const) {
      expect(vethName(ns, pod)).toBe("veth" + createHash("sha256").update(`${ns}/${pod}`).digest("hex").slice(0, 8));
    }
  });
});
