// The rule writer's fast paths: lines written as bytes (strings again from the first non-ASCII
// line), endpoint lists made per service port and counted without being made, chain names
// hashed from their parts, and nodeTables called in any order. Each must give exactly
// what the plain way gives.

import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { countEndpoints, endpointsOf, indexSlicePorts, type SlicePort } from "../../src/kube/proxier/endpoints.js";
import { endpointChainName, nodeTables, serviceChainNames, writeRestore, type ProxierConfig } from "../../src/kube/proxier/index.js";
import { RestoreSection } from "../../src/kube/proxier/writer.js";
import type { EndpointSlice, Service } from "../../src/world/k8s.js";
import { FAKE_PROXIER } from "./fake-proxier.js";

describe("RestoreSection", () => {
  it("gives the lines joined, each ending in a newline, ASCII or not", () => {
    const s = new RestoreSection();
    const lines: string[] = [];
    const add = (a: string, n: number, b: string) => {
      s.line`-A ${a} --dport ${n} -j ${b}`;
      lines.push(`-A ${a} --dport ${n} -j ${b}`);
    };
    for (let i = 0; i < 3000; i++) add(`KUBE-SEP-${i}`, i, "ACCEPT"); // grows its buffer
    add("KUBE-SVC-X", 80, 'comment "ünïcode/ßvc:ħttp"');
    add("KUBE-SVC-Y", 81, "日本");
    for (let i = 0; i < 10; i++) add(`KUBE-AFTER-${i}`, i, "DROP");
    expect(s.finish()).toBe(lines.join("\n") + "\n");
  });

  it("keeps a character outside Latin-1 and a lone surrogate as they are", () => {
    const s = new RestoreSection();
    s.line`a ${"\ud800"} b`;
    s.line`c ${"€"}`;
    expect(s.finish()).toBe("a \ud800 b\nc €\n");
  });

  it("is empty when nothing was written", () => {
    expect(new RestoreSection().finish()).toBe("");
    expect(new RestoreSection(-1, false).finish()).toBe("");
  });

  it("gives the same text kept as strings from the start (small syncs)", () => {
    const asBytes = new RestoreSection();
    const asStrings = new RestoreSection(-1, false);
    for (const s of [asBytes, asStrings]) {
      for (let i = 0; i < 50; i++) s.line`-A KUBE-SEP-${i} -m comment --comment "ns/svc:${i % 3 ? "http" : "ħttp"}" --dport ${i}`;
    }
    expect(asStrings.finish()).toBe(asBytes.finish());
  });

  it("a sync's text is the same whether its sections are bytes (large) or strings (small)", () => {
    const svc = (i: number): Service => ({ metadata: { name: `s${i}`, namespace: "d" }, spec: { type: "ClusterIP", clusterIP: `10.96.${i >> 8}.${i & 255}`, ports: [{ name: "p", port: 80, protocol: "TCP" }] } });
    const slc = (i: number): EndpointSlice => ({ metadata: { name: `s${i}-x`, namespace: "d", labels: { "kubernetes.io/service-name": `s${i}` } }, addressType: "IPv4", ports: [{ name: "p", port: 8080, protocol: "TCP" }], endpoints: [{ addresses: [`10.1.${i >> 8}.${i & 255}`], nodeName: "n1" }] });
    const config: ProxierConfig = { nodeName: "n1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8", masqueradeAll: false, masqueradeMark: "0x4000", nodePortAddresses: [], localhostNodePorts: true, nfacct: false, randomFully: false };
    const many = Array.from({ length: 260 }, (_, i) => i);
    const large = writeRestore(many.map(svc), many.map(slc), config);
    // The first 100 Services' lines, written by a small sync, appear in the large sync's text.
    const small = writeRestore(many.slice(0, 100).map(svc), many.slice(0, 100).map(slc), config);
    const largeLines = new Set(large.split("\n"));
    for (const line of small.split("\n")) if (line.includes("d/s")) expect(largeLines.has(line), line).toBe(true);
    expect(large.endsWith("COMMIT\n")).toBe(true);
  });
});

describe("chain names hashed from their parts", () => {
  const reference = (prefix: string, input: string): string => {
    const d = createHash("sha256").update(input, "utf8").digest();
    const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits = "";
    for (let i = 0; i < 10; i++) bits += d[i]!.toString(2).padStart(8, "0");
    let out = prefix;
    for (let i = 0; i < 16; i++) out += A[parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
    return out;
  };
  it("equals SHA-256 of the joined input at every length around the block edges, and for non-ASCII", () => {
    for (let n = 0; n < 140; n++) {
      const spn = `ns/${"s".repeat(n)}:p`;
      expect(endpointChainName(spn, "tcp", "10.0.0.1:80")).toBe(reference("KUBE-SEP-", `${spn}tcp10.0.0.1:80`));
      expect(serviceChainNames(spn, "udp").svc).toBe(reference("KUBE-SVC-", `${spn}udp`));
    }
    expect(endpointChainName("ünï/wéb:ħttp", "tcp", "10.0.0.1:80")).toBe(reference("KUBE-SEP-", "ünï/wéb:ħttptcp10.0.0.1:80"));
    expect(serviceChainNames("日本/サービス:http", "tcp").fw).toBe(reference("KUBE-FW-", "日本/サービス:httptcp"));
  });
});

describe("chain names remembered for small clusters", () => {
  it("are the hashed names, before and after the bounded memory is cleared", () => {
    for (let i = 0; i < 9000; i++) {
      const spn = `ns${i % 7}/svc-${i % 300}:p`;
      const ep = `10.0.${i >> 8}.${i & 255}:80`;
      expect(endpointChainName(spn, "tcp", ep, true)).toBe(endpointChainName(spn, "tcp", ep));
      expect(endpointChainName(spn, "tcp", ep, true)).toBe(endpointChainName(spn, "tcp", ep));
      if (i % 10 === 0) expect(serviceChainNames(spn, "udp", true)).toEqual(serviceChainNames(spn, "udp"));
    }
  });
});

function slice(name: string, ports: Array<[string, number]>, endpoints: EndpointSlice["endpoints"], family: "IPv4" | "IPv6" = "IPv4"): EndpointSlice {
  return {
    metadata: { name, namespace: "d", labels: { "kubernetes.io/service-name": "web" } },
    addressType: family,
    ports: ports.map(([n, port]) => ({ name: n, port, protocol: "TCP" })),
    endpoints,
  };
}

describe("endpoint lists per service port", () => {
  it("deduplicates by IP:port across slices; a terminating duplicate never replaces", () => {
    const slices = [
      slice("a", [["http", 80]], [
        { addresses: ["10.1.1.1"], nodeName: "n1" },
        { addresses: ["10.1.1.11"], nodeName: "n2" },
        { addresses: ["010.1.1.2"], nodeName: "n1" },
        { addresses: ["not-an-ip"] },
        { addresses: [] },
      ]),
      slice("b", [["http", 80]], [
        { addresses: ["10.1.1.1"], nodeName: "n2", conditions: { terminating: true, ready: false } },
        { addresses: ["10.1.1.2"], nodeName: "n2", conditions: { ready: false } },
      ]),
    ];
    const sources = indexSlicePorts(slices, 4).get("d/web:http/TCP");
    const eps = endpointsOf(sources, "n1");
    expect(eps.map((e) => [e.endpoint, e.isLocal, e.ready])).toEqual([
      ["10.1.1.11:80", false, true],
      ["10.1.1.1:80", true, true],
      ["10.1.1.2:80", false, false],
    ]);
    expect(countEndpoints(sources)).toBe(3);
    expect(endpointsOf(undefined, "n1")).toEqual([]);
    expect(countEndpoints(undefined)).toBe(0);
  });

  it("counts exactly what it would make, for random slices (duplicates, bad and non-canonical addresses, many endpoints, IPv6)", () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let round = 0; round < 300; round++) {
      const family = rand(5) === 0 ? 6 : 4;
      const nSlices = 1 + rand(3);
      const slices: EndpointSlice[] = [];
      for (let k = 0; k < nSlices; k++) {
        const n = rand(4) === 0 ? 40 + rand(100) : rand(12);
        const eps = Array.from({ length: n }, () => {
          const host = rand(family === 4 ? 90 : 30);
          const addr = family === 4 ? (rand(10) === 0 ? `10.0.0.0${host}` : rand(15) === 0 ? "bad" : `10.0.0.${host}`) : rand(3) === 0 ? `fd00:0::${host.toString(16)}` : `fd00::${host.toString(16)}`;
          return { addresses: rand(20) === 0 ? [] : [addr], nodeName: `n${rand(3)}`, conditions: { ready: rand(4) !== 0, terminating: rand(5) === 0 } };
        });
        slices.push(slice(`s${k}`, rand(4) === 0 ? [["http", 80], ["http", 81]] : [["http", 80]], eps, family === 4 ? "IPv4" : "IPv6"));
      }
      const sources: SlicePort[] | undefined = indexSlicePorts(slices, family).get("d/web:http/TCP");
      const made = endpointsOf(sources, "n1");
      expect(countEndpoints(sources)).toBe(made.length);
      expect(new Set(made.map((e) => e.endpoint)).size).toBe(made.length);
      expect(made.map((e) => e.endpoint)).toEqual([...made.map((e) => e.endpoint)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
  });
});

describe("nodeTables, written again or remembered", () => {
  const cfg = (node: string): ProxierConfig => ({ ...FAKE_PROXIER, nodeName: node, nodeIPs: ["192.168.0.2"], nfacct: false });
  const services: Service[] = [
    { metadata: { name: "web", namespace: "d" }, spec: { type: "LoadBalancer", clusterIP: "10.96.0.5", externalTrafficPolicy: "Local", healthCheckNodePort: 31000, ports: [{ name: "http", port: 80, protocol: "TCP", nodePort: 30080 }] }, status: { loadBalancer: { ingress: [{ ip: "5.6.7.8" }] } } },
  ];
  const slices = [slice("a", [["http", 8080]], [{ addresses: ["10.1.1.1"], nodeName: "n1" }, { addresses: ["10.1.2.1"], nodeName: "n2" }])];

  it("gives each node, table and order of calls what a fresh computation gives", async () => {
    // Local traffic policy: the nodes' texts differ (each has its own local endpoint).
    expect(writeRestore(services, slices, cfg("n1"))).not.toBe(writeRestore(services, slices, cfg("n2")));
    const calls: Array<[string, "filter" | "nat" | undefined]> = [
      ["n1", undefined], ["n2", "nat"], ["n1", "nat"], ["n2", undefined], ["n1", "filter"], ["n3", "filter"], ["n2", "filter"], ["n1", undefined],
    ];
    const got = calls.map(([n, t]) => nodeTables(services, slices, cfg(n), t));
    for (const [i, [n, t]] of calls.entries()) {
      // A fresh copy of the module for each: nothing remembered.
      vi.resetModules();
      const fresh = await import("../../src/kube/proxier/save-format.js");
      expect(got[i], `${n} ${t ?? "all"}`).toBe(fresh.nodeTables(services, slices, cfg(n), t));
    }
    expect(got[0]).toBe(got[4]! + got[2]!);
    expect(got[1]).not.toBe(got[2]);
  });
});

describe("what the save form remembers between syncs", () => {
  it("does not keep each sync's whole text alive", async () => {
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // 200 Services make a text of ≈ 140 kB; each sync moves one Service to a new cluster IP,
    // so a few of its lines are new to the normalisation cache and are remembered.
    const svc = (i: number, ip: string): Service => ({ metadata: { name: `s${i}`, namespace: "d" }, spec: { type: "ClusterIP", clusterIP: ip, ports: [{ name: "p", port: 80, protocol: "TCP" }] } });
    const slc = (i: number): EndpointSlice => ({ metadata: { name: `s${i}-x`, namespace: "d", labels: { "kubernetes.io/service-name": `s${i}` } }, addressType: "IPv4", ports: [{ name: "p", port: 8080, protocol: "TCP" }], endpoints: [{ addresses: [`10.1.0.${i}`], nodeName: "n1" }] });
    const config: ProxierConfig = { nodeName: "n1", nodeIPs: ["192.168.0.2"], clusterCIDR: "10.0.0.0/8", masqueradeAll: false, masqueradeMark: "0x4000", nodePortAddresses: [], localhostNodePorts: true, nfacct: false, randomFully: false };
    const ids = Array.from({ length: 200 }, (_, i) => i);
    const slices = ids.map(slc);
    const sync = (k: number) => nodeTables(ids.map((i) => svc(i, i === 0 ? `10.97.${k >> 8}.${k & 255}` : `10.96.0.${i + 1}`)), slices, config).length;
    const textLength = sync(0);
    expect(textLength).toBeGreaterThan(40_000);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let k = 1; k <= 100; k++) sync(k);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // Keeping the texts was 100 × the text (13 MB measured); the remembered lines are ≈ 0.3 MB.
    expect(grown).toBeLessThan(20 * textLength);
  });
});
