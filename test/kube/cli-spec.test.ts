// `svcspec rules SPEC --node NODE`: the node's tables from a .svcspec world, through the CLI.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "rules", ...args], { cwd: ROOT, encoding: "utf8" });

describe("svcspec rules SPEC --node", () => {
  it("prints the node's nat table as iptables-save does, jump rules and the Service's chains included", () => {
    const r = run("test/kube/rules-spec.svcspec", "--node", "node1", "--table", "nat");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("*nat\n:PREROUTING ACCEPT [0:0]\n")).toBe(true);
    expect(r.stdout).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n');
    expect(r.stdout).toMatch(/-A KUBE-SERVICES -d 10\.96\.0\.50\/32 -p tcp -m comment --comment "default\/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-\w{16}\n/);
    expect(r.stdout).not.toContain("*filter");
  });
  it("an unknown node is an input error with a suggestion, exit 2", () => {
    const r = run("test/kube/rules-spec.svcspec", "--node", "nod1");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no node named "nod1"');
    expect(r.stderr).toContain("did you mean `node1`?");
  });
});
