// nodeTables must be what the real kernel's iptables-save prints after kube-proxy's first sync.
// In a throwaway network namespace (never the root namespace): ensure the jump rules as
// kube-proxy does (`iptables -N` + `iptables -I`), load writeRestore's text with
// `iptables-restore --noflush --counters`, run iptables-save, compare. Needs root and iptables;
// skipped with a message otherwise.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jumpRules, nodeTables, readManifests, splitRuleWords, writeRestore, type ProxierConfig } from "../../src/kube/proxier/index.js";
import type { EndpointSlice, Service } from "../../src/world/k8s.js";
import { FAKE_PROXIER } from "./fake-proxier.js";

const FIX = new URL("../fixtures/upstream/", import.meta.url).pathname;

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const canRun = isRoot && has("ip") && has("iptables-restore") && has("iptables-save");
const skipReason = !isRoot ? "not root" : "ip/iptables-restore/iptables-save not installed";
const hasNfacct = canRun && has("nfacct");

function inNetns<T>(fn: (ns: string) => T): T {
  const ns = `svcspec-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  execFileSync("ip", ["netns", "add", ns]);
  try {
    return fn(ns);
  } finally {
    execFileSync("ip", ["netns", "del", ns]);
  }
}

function realSave(services: Service[], slices: EndpointSlice[], cfg: ProxierConfig): string {
  return inNetns((ns) => {
    const run = (args: string[], input?: string) =>
      execFileSync("ip", ["netns", "exec", ns, ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], maxBuffer: 1 << 28 });
    if (cfg.nfacct) for (const c of ["localhost_nps_accepted_pkts", "ct_state_invalid_dropped_pkts"]) run(["nfacct", "add", c]);
    for (const j of jumpRules(cfg)) {
      spawnSync("ip", ["netns", "exec", ns, "iptables", "-t", j.table, "-N", j.target]);
      run(["iptables", "-t", j.table, "-I", j.chain, ...splitRuleWords(j.args)]);
    }
    run(["iptables-restore", "--noflush", "--counters"], writeRestore(services, slices, cfg));
    return run(["iptables-save"]).split("\n").filter((l) => !l.startsWith("#")).join("\n");
  });
}

const base: ProxierConfig = { ...FAKE_PROXIER, nodeIPs: ["192.168.0.2"], nfacct: false, randomFully: true };

function objects(file: string): { services: Service[]; slices: EndpointSlice[] } {
  if (file.endsWith(".yaml")) {
    const m = readManifests(file, readFileSync(FIX + file, "utf8"));
    return { services: m.services, slices: m.slices };
  }
  const objs = JSON.parse(readFileSync(FIX + "flows/" + file, "utf8")) as Array<Service | EndpointSlice>;
  return { services: objs.filter((o): o is Service => o.kind === "Service"), slices: objs.filter((o): o is EndpointSlice => o.kind === "EndpointSlice") };
}

/** Every type and option at once: the upstream fixtures merged, plus a 3- and 2048-way ladder. */
function richWorld(): { services: Service[]; slices: EndpointSlice[] } {
  const parts = [
    objects("TestOverallIPTablesRules.yaml"),
    objects("TestLoadBalancer.manifests.json"),
    objects("TestInternalExternalMasquerade-base.manifests.json"),
    objects("TestClusterIPGeneral.manifests.json"),
    objects("TestTerminatingEndpointsTrafficPolicyLocal-only-terminating-endpoints-exist.manifests.json"),
    objects("TestInternalTrafficPolicy-local-no-local-endpoints.manifests.json"),
  ];
  // Same namespaces/names recur across tests: rename each part's objects into its own namespace.
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  parts.forEach((p, i) => {
    for (const s of p.services) services.push({ ...s, metadata: { ...s.metadata, namespace: `t${i}-${s.metadata.namespace}` } });
    for (const s of p.slices) slices.push({ ...s, metadata: { ...s.metadata, namespace: `t${i}-${s.metadata.namespace}` } });
  });
  // Clash-free clusterIPs are not needed by iptables; distinct ones keep the ruleset realistic.
  services.push({
    metadata: { name: "ladder", namespace: "big" },
    spec: { type: "ClusterIP", clusterIP: "172.31.0.1", sessionAffinity: "ClientIP", ports: [{ name: "http", port: 80, protocol: "UDP" }] },
  });
  slices.push({
    metadata: { name: "ladder-1", namespace: "big", labels: { "kubernetes.io/service-name": "ladder" } },
    addressType: "IPv4",
    endpoints: Array.from({ length: 2048 }, (_, i) => ({ addresses: [`10.9.${i >> 8}.${i & 255}`] })),
    ports: [{ name: "http", port: 8080, protocol: "UDP" }],
  });
  return { services, slices };
}

describe.skipIf(!canRun)("nodeTables equals the kernel's iptables-save", () => {
  const cases: Array<[string, () => { services: Service[]; slices: EndpointSlice[] }, Partial<ProxierConfig>]> = [
    ["rich ruleset, defaults", richWorld, {}],
    ["rich ruleset, masqueradeAll, no local detector, no localhost NodePorts", richWorld, { masqueradeAll: true, clusterCIDR: null, localhostNodePorts: false }],
    ["nodePortAddresses, tcp-liberal, no --random-fully, masquerade off", () => objects("TestOverallIPTablesRules.yaml"), { nodeIPs: ["192.168.0.2", "192.168.1.2"], nodePortAddresses: ["192.168.0.0/24", "127.0.0.0/8"], conntrackTCPLiberal: true, randomFully: false, masquerade: false }],
  ];
  for (const [name, make, over] of cases) {
    it(name, () => {
      const { services, slices } = make();
      const cfg = { ...base, ...over };
      expect(nodeTables(services, slices, cfg)).toBe(realSave(services, slices, cfg));
    }, 120_000);
  }
  it.skipIf(!hasNfacct)("with nfacct counters (needs the nfacct tool)", () => {
    const { services, slices } = objects("TestOverallIPTablesRules.yaml");
    const cfg = { ...base, nfacct: true };
    expect(nodeTables(services, slices, cfg)).toBe(realSave(services, slices, cfg));
  }, 60_000);
});

if (!canRun) console.warn(`kernel-save.test.ts: skipping the iptables-save comparison: ${skipReason} (it needs root and iptables in a network namespace)`);
if (canRun && !hasNfacct) console.warn("kernel-save.test.ts: skipping the nfacct case: the nfacct tool is not installed (apt-get install nfacct)");
