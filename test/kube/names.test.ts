import { describe, expect, it } from "vitest";
import { endpointChainName, goProbability, hash16, kernelProbability, serviceChainNames } from "../../src/kube/proxier/index.js";

// The 24 chain names of the reference doc (§3), each found in upstream's proxier_test.go.
const SERVICE_CHAINS: Array<[string, string]> = [
  ["ns1/svc1:p80", "XPGD46QRK7WJZT7O"], ["ns2/svc2:p80", "GNZBNJ2PO5MGZ6GT"], ["ns3/svc3:p80", "X27LE4BHSL4DOUIK"],
  ["ns4/svc4:p80", "4SW47YFZTEDKD3PK"], ["ns5/svc5:p80", "NUKIZ6OKUXPJNT4C"], ["ns2/svc2:p8080", "2VJB64SDSIJUP5T6"],
  ["ns4/svc4:p8082", "EBDQOQU5SJFXRIL3"],
];
const SEP_CHAINS: Array<[string, string, string]> = [
  ["ns1/svc1:p80", "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"], ["ns2/svc2:p80", "10.180.0.2:80", "KUBE-SEP-RS4RBKLTHTF2IUXJ"],
  ["ns3/svc3:p80", "10.180.0.3:80", "KUBE-SEP-OYPFS5VJICHGATKP"], ["ns4/svc4:p80", "10.180.0.4:80", "KUBE-SEP-UKSFD7AGPMPPLUHC"],
  ["ns4/svc4:p80", "10.180.0.5:80", "KUBE-SEP-C6EBXVWJJZMIWKLZ"], ["ns5/svc5:p80", "10.180.0.3:80", "KUBE-SEP-I77PXRDZVX7PMWMN"],
  ["ns1/svc1:p80", "10.0.1.1:80", "KUBE-SEP-SNQ3ZNILQDEJNDQO"], ["ns2/svc2:p8080", "10.0.2.1:8080", "KUBE-SEP-UHEGFW77JX3KXTOV"],
  ["ns3/svc3:p80", "10.0.3.1:80", "KUBE-SEP-BSWRHOQ77KEXZLNL"], ["ns3/svc3:p80", "10.0.3.2:80", "KUBE-SEP-DKCFIS26GWF2WLWC"],
  ["ns3/svc3:p80", "10.0.3.3:80", "KUBE-SEP-JVVZVJ7BSEPPRNBS"], ["ns4/svc4:p80", "10.0.4.1:80", "KUBE-SEP-AYCN5HPXMIRJNJXU"],
  ["ns1/svc1:p80", "10.0.0.0:80", "KUBE-SEP-DKGQUZGBKLTPAR56"], ["ns3/svc3:p8081", "203.0.113.4:8081", "KUBE-SEP-RUVVH7YV3PHQBDOS"],
  ["ns4/svc4:p8082", "10.4.0.1:8082", "KUBE-SEP-SU5STNODRYEWJAUF"],
];

describe("chain names", () => {
  it.each(SERVICE_CHAINS)("%s → KUBE-SVC/EXT/FW/SVL-%s", (spn, h) => {
    expect(serviceChainNames(spn, "tcp")).toEqual({ svc: `KUBE-SVC-${h}`, svl: `KUBE-SVL-${h}`, ext: `KUBE-EXT-${h}`, fw: `KUBE-FW-${h}` });
  });
  it.each(SEP_CHAINS)("%s %s → %s", (spn, ep, name) => {
    expect(endpointChainName(spn, "tcp", ep)).toBe(name);
  });
  it("agrees with an independent base32 encoding of the whole digest", async () => {
    const { createHash } = await import("node:crypto");
    const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for (const s of ["a", "ns/x:y/udp", "ns1/svc1tcp[fd00:10:180::1]:80"]) {
      const d = createHash("sha256").update(s).digest();
      let bits = "";
      for (const b of d) bits += b.toString(2).padStart(8, "0");
      let enc = "";
      for (let i = 0; i + 5 <= 80; i += 5) enc += A[parseInt(bits.slice(i, i + 5), 2)];
      expect(hash16(s)).toBe(enc);
    }
  });
});

describe("probabilities", () => {
  it.each([
    [1, "1.0000000000"], [2, "0.5000000000"], [3, "0.3333333333"], [10, "0.1000000000"], [100, "0.0100000000"],
    [1000, "0.0010000000"], [10000, "0.0001000000"], [100000, "0.0000100000"], [100001, "0.0000099999"],
    // The one exact decimal tie: Go rounds half to even, JavaScript's toFixed would print ...813.
    [2048, "0.0004882812"],
  ])("1/%i is %s (Go %%0.10f, upstream TestComputeProbability)", (n, s) => {
    expect(goProbability(n)).toBe(s);
  });
  it.each([
    ["0.3333333333", "0.33333333349"], ["0.0004882812", "0.00048828125"], ["0.5000000000", "0.50000000000"],
    // 1/4096 lands on an exact tie in the kernel's %.11f: glibc rounds half to even.
    ["0.0002441406", "0.00024414062"],
  ])("the kernel stores %s and iptables-save prints %s", (p, s) => {
    expect(kernelProbability(p)).toBe(s);
  });
});
