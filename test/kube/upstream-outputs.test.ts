// Upstream's complete expected outputs, reproduced byte for byte after their canonical sort:
// through the library, and through the real CLI entry (tsx src/cli/main.ts).

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readManifests, sortRestoreCanonical, writeRestore, type ProxierConfig } from "../../src/kube/proxier/index.js";
import { FAKE_PROXIER } from "./fake-proxier.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIX = ROOT + "test/fixtures/upstream/";


const TESTS = ["TestOverallIPTablesRules", "TestBadIPs", "TestSyncProxyRulesRepeated"];

describe("upstream expected outputs", () => {
  for (const t of TESTS) {
    it(`${t} (library)`, () => {
      const m = readManifests(t + ".yaml", readFileSync(FIX + t + ".yaml", "utf8"));
      expect(m.diagnostics).toEqual([]);
      const got = sortRestoreCanonical(writeRestore(m.services, m.slices, FAKE_PROXIER));
      expect(got).toBe(readFileSync(FIX + t + ".rules", "utf8"));
    });
    it(`${t} (CLI: svcspec rules --manifests --canonical)`, () => {
      const out = execFileSync(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "rules", "--manifests", FIX + t + ".yaml", "--node-name", "test-node",
          "--node-ip", "192.168.0.2,192.168.1.2,192.168.99.11", "--cluster-cidr", "10.0.0.0/8", "--no-random-fully", "--canonical"],
        { cwd: ROOT, encoding: "utf8" },
      );
      expect(out).toBe(readFileSync(FIX + t + ".rules", "utf8"));
    });
  }

  it("the CLI reports manifest errors with file:line and exits 2", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "rules", "--manifests", FIX + "../../kube/bad-manifest.yaml", "--node-name", "n", "--node-ip", "10.0.0.1"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bad-manifest.yaml:6:7: error [manifest] unsupported kind \"Pod\"");
    expect(r.stderr).not.toContain("    at ");
  });
});

describe("sortRestoreCanonical", () => {
  it("orders KUBE-SERVICES by the service name in comments whatever the comment style (upstream TestSortIPTablesRules case)", () => {
    const input = [
      "*filter", "COMMIT", "*nat", ":KUBE-SERVICES - [0:0]",
      '-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1',
      "-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2",
      '-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3',
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" svc1 line 1',
      "-A KUBE-SERVICES -m comment --comment ns1/svc1 svc1 line 2",
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1 blah" svc1 line 3',
      "-A KUBE-SERVICES -m comment --comment ns4/svc4 svc4 line 1",
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" svc4 line 2',
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4 blah" svc4 line 3',
      '-A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" svc3 line 1',
      '-A KUBE-SERVICES -m comment --comment "ns3/svc3 blah" svc3 line 2',
      "-A KUBE-SERVICES -m comment --comment ns3/svc3 svc3 line 3",
      "COMMIT", "",
    ].join("\n");
    const out = sortRestoreCanonical(input).split("\n");
    expect(out.filter((l) => l.startsWith("-A")).map((l) => l.slice(l.lastIndexOf("svc")))).toEqual([
      "svc1 line 1", "svc1 line 2", "svc1 line 3", "svc2 line 1", "svc2 line 2", "svc2 line 3",
      "svc3 line 1", "svc3 line 2", "svc3 line 3", "svc4 line 1", "svc4 line 2", "svc4 line 3",
    ]);
  });
  it("keeps unexpected chains, sorts KUBE-* before the rest (upstream 'junk lines' case)", () => {
    const input = "*filter\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]\n:KUBE-AAAAA - [0:0]\n:KUBE-ZZZZZ - [0:0]\n:WHY-IS-THIS-CHAIN-HERE - [0:0]\n" +
      '-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1\n-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80\n-A KUBE-ZZZZZ -m comment --comment "mystery chain number 1"\n-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2\n-A WHY-IS-THIS-CHAIN-HERE -j ACCEPT\n-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3\n-A KUBE-AAAAA -m comment --comment "mystery chain number 2"\nCOMMIT\n';
    const expected = "*filter\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-AAAAA - [0:0]\n:KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]\n:KUBE-ZZZZZ - [0:0]\n:WHY-IS-THIS-CHAIN-HERE - [0:0]\n" +
      '-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" svc2 line 1\n-A KUBE-SERVICES -m comment --comment ns2/svc2 svc2 line 2\n-A KUBE-SERVICES -m comment --comment "ns2/svc2 blah" svc2 line 3\n-A KUBE-AAAAA -m comment --comment "mystery chain number 2"\n-A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80\n-A KUBE-ZZZZZ -m comment --comment "mystery chain number 1"\n-A WHY-IS-THIS-CHAIN-HERE -j ACCEPT\nCOMMIT\n';
    expect(sortRestoreCanonical(input)).toBe(expected);
  });
});
