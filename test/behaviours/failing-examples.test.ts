// examples/failing: deliberately wrong expectations (a student's typical misconceptions). Each
// failure must explain itself: what was expected, what was got on which branch (endpoint and
// probability), why — naming the deciding node and chain/rule or mechanism — and where in the
// .svcspec (position and source line).

import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { executeFile } from "../../src/run/executor.js";
import type { ExpectationResult, FileResult, StepResult } from "../../src/run/result.js";

const DIR = new URL("../../examples/failing/", import.meta.url).pathname;

async function run(name: string): Promise<{ result: FileResult; lines: string[] }> {
  const path = DIR + name;
  return { result: await executeFile(path, { engine: "sim", verbose: false }), lines: readFileSync(path, "utf8").split("\n") };
}

/** Where `needle` (an expectation's check, or a probe) first appears after line `after`: 1-based line and column. */
function positionOf(lines: string[], needle: string, after = 0): { line: number; column: number } {
  for (let i = after; i < lines.length; i++) {
    const col = lines[i]!.indexOf(needle);
    if (col >= 0 && !lines[i]!.trimStart().startsWith("#")) return { line: i + 1, column: col + 1 };
  }
  throw new Error(`"${needle}" is not in the file`);
}

interface Failure {
  step: StepResult;
  exp: ExpectationResult;
}

/** The failed expectations of a scenario, with their steps, in order. */
function failures(result: FileResult, title: string): Failure[] {
  const s = result.scenarios.find((x) => x.title === title);
  if (!s) throw new Error(`no scenario "${title}"`);
  return s.steps.flatMap((step) => step.expectations.filter((e) => e.status === "failed").map((exp) => ({ step, exp })));
}

/** The common shape: the probe's position and source line, and the expectation's own position. */
function expectPlaced(f: Failure, lines: string[], probe: string, check: string): void {
  const at = positionOf(lines, probe);
  expect({ line: f.step.pos.line, column: f.step.pos.column }).toEqual(at);
  expect(f.step.sourceLine).toBe(lines[at.line - 1]);
  expect({ line: f.exp.pos.line, column: f.exp.pos.column }).toEqual(positionOf(lines, check, at.line - 1));
  expect(f.exp.pos.file).toBe(f.step.pos.file);
}

describe("examples/failing: every failure says expected, got (branch, p), why and where", () => {
  it("every example parses, builds and fails on its expectations alone (no input errors, no step errors, a why on each)", async () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".svcspec"));
    expect(files).toHaveLength(9);
    for (const f of files) {
      const { result } = await run(f);
      expect(result.diagnostics, f).toEqual([]);
      expect(result.status, f).toBe("failed");
      for (const s of result.scenarios) {
        expect(s.status, `${f}: ${s.title}`).toBe("failed");
        for (const st of s.steps) expect(st.error, `${f}: ${st.text}`).toBeUndefined();
        for (const st of s.steps) for (const e of st.expectations.filter((x) => x.status === "failed")) expect(e.why, `${f}: ${e.text}`).toMatch(/\S/);
      }
    }
  });

  it("01 source-seen laptop under Cluster policy: both branches masqueraded by node2, KUBE-EXT marked it", async () => {
    const { result, lines } = await run("01-source-seen-under-cluster-policy.svcspec");
    expect(result.status).toBe("failed");
    const fs = failures(result, "the pod logs the laptop's address");
    expect(fs).toHaveLength(1); // `expect connected` holds: only the misconception fails
    const [f] = fs;
    expectPlaced(f!, lines, "send tcp from laptop to node2:30080", "source-seen laptop");
    expect(f!.exp.expected).toBe("source-seen laptop");
    expect(f!.exp.got).toMatch(/^source-seen 192\.168\.1\.12 \(node2's node IP\) on branch nginx-1 \(p=0\.50\); source-seen 10\.244\.2\.1 \(node2's cni0 address\) on branch nginx-2 \(p=0\.50\)$/);
    expect(f!.exp.failingBranches).toEqual([0, 1]);
    expect(f!.exp.why).toMatch(/node2 masqueraded the source to 192\.168\.1\.12 \(KUBE-POSTROUTING\) because KUBE-EXT-[A-Z0-9]{16} marked it \(masquerade traffic for default\/my-nginx:http external destinations\), so nginx-1 saw the connection come from 192\.168\.1\.12/);
  });

  it("02 a ClusterIP from outside: the router has no route to the Service's cluster IP; its name does not resolve outside", async () => {
    const { result, lines } = await run("02-clusterip-from-outside.svcspec");
    const [f] = failures(result, "the laptop connects to the ClusterIP");
    expectPlaced(f!, lines, "send tcp from laptop to 10.96.0.50:80", "connected");
    expect(f!.exp.expected).toBe("connected");
    expect(f!.exp.got).toBe("network unreachable (ICMP from 203.0.113.1) on the only branch (p=1.00)");
    expect(f!.exp.why).toBe("router has no route to 10.96.0.50 (Service web's cluster IP), so laptop got ICMP net-unreachable from 203.0.113.1 and reported ENETUNREACH");
    const [d] = failures(result, "the laptop resolves the Service's name");
    expectPlaced(d!, lines, "resolve web.default.svc.cluster.local from laptop", "answer 10.96.0.50");
    expect(d!.exp.expected).toBe("answer 10.96.0.50");
    expect(d!.exp.why).toBe("web.default.svc.cluster.local does not resolve from laptop: a client outside the cluster does not use the cluster's DNS (kube-dns answers pods only)");
  });

  it("03 hairpin with hairpin-mode none: node1's bridge cni0 will not send the frame back out its port", async () => {
    const { result, lines } = await run("03-hairpin-with-hairpin-mode-none.svcspec");
    const fs = failures(result, "web-1 reaches itself through its Service");
    expect(fs.map((f) => f.exp.expected)).toEqual(["connected", "source-seen 10.244.1.1"]);
    expectPlaced(fs[0]!, lines, "send tcp from web-1 to web:80", "connected");
    expectPlaced(fs[1]!, lines, "send tcp from web-1 to web:80", "source-seen 10.244.1.1");
    expect(fs[0]!.exp.got).toBe("no answer (timeout) on the only branch (p=1.00)");
    expect(fs[1]!.exp.got).toBe("nothing seen (no answer (timeout)) on the only branch (p=1.00)");
    for (const f of fs) {
      expect(f.exp.why).toMatch(/^node1's bridge cni0 would have to send the packet to 10\.244\.1\.2 back out veth\w+, the port it came in on, and hairpin_mode is off on that port/);
    }
  });

  it("04 an externalIP without a route: the router answers net unreachable, no node ever sees the packet", async () => {
    const { result, lines } = await run("04-externalip-without-route.svcspec");
    const fs = failures(result, "the laptop reaches the externalIP");
    expect(fs.map((f) => f.exp.expected)).toEqual(["connected", "delivered-to nginx-1"]);
    expectPlaced(fs[0]!, lines, "send tcp from laptop to 198.51.100.20:80", "connected");
    expectPlaced(fs[1]!, lines, "send tcp from laptop to 198.51.100.20:80", "delivered-to nginx-1");
    expect(fs[1]!.exp.got).toBe("not delivered (network unreachable (ICMP from 203.0.113.1)) on the only branch (p=1.00)");
    expect(fs[0]!.exp.why).toBe("router has no route to 198.51.100.20 (Service nginx's external IP), so laptop got ICMP net-unreachable from 203.0.113.1 and reported ENETUNREACH");
  });

  it("05 Local policy through a node without an endpoint: dropped on node2 by KUBE-EXTERNAL-SERVICES", async () => {
    const { result, lines } = await run("05-local-policy-through-any-node.svcspec");
    const fs = failures(result, "node2 forwards to the pod on node1");
    expect(fs.map((f) => f.exp.expected)).toEqual(["connected", "source-seen laptop"]);
    expectPlaced(fs[0]!, lines, "send tcp from laptop to node2:30080", "connected");
    expectPlaced(fs[1]!, lines, "send tcp from laptop to node2:30080", "source-seen laptop");
    expect(fs[0]!.exp.got).toBe("no answer (timeout) on the only branch (p=1.00)");
    for (const f of fs) expect(f.exp.why).toBe("dropped on node2 by KUBE-EXTERNAL-SERVICES: default/my-nginx:http has no local endpoints");
  });

  it("06 always the same endpoint: the web-2 branch (p=0.50) breaks it; replies come from the ClusterIP, un-DNATed by node1", async () => {
    const { result, lines } = await run("06-always-the-same-endpoint.svcspec");
    const fs = failures(result, "tester always lands on web-1");
    expect(fs.map((f) => f.exp.expected)).toEqual(["delivered-to web-1", "reply-from web-1"]);
    expectPlaced(fs[0]!, lines, "send tcp from tester to web:80", "delivered-to web-1");
    expectPlaced(fs[1]!, lines, "send tcp from tester to web:80", "reply-from web-1");
    // Only the violating branch is named, with its probability.
    expect(fs[0]!.exp.got).toBe("delivered to web-2 on branch web-2 (p=0.50)");
    expect(fs[0]!.exp.failingBranches).toEqual([1]);
    expect(fs[0]!.exp.why).toMatch(/^tester connected to web-2 \(10\.244\.2\.2:8080\) after node1 DNATed 10\.96\.0\.50:80 \(Service web's cluster IP\) to 10\.244\.2\.2:8080 \(KUBE-SEP-[A-Z0-9]{16}\)/);
    expect(fs[1]!.exp.got).toBe(
      "reply-from 10.96.0.50:80 (Service web's cluster IP) on branch web-1 (p=0.50); reply-from 10.96.0.50:80 (Service web's cluster IP) on branch web-2 (p=0.50)",
    );
    expect(fs[1]!.exp.why).toMatch(/node1's conntrack sent the reply back from 10\.96\.0\.50:80$/);
  });

  it("07 NodePort without SNAT: the SYN-ACK came from the pod's address, node2 did not masquerade", async () => {
    const { result, lines } = await run("07-nodeport-without-snat.svcspec");
    const [f] = failures(result, "through node2 without SNAT");
    expectPlaced(f!, lines, "send tcp from laptop to node2:30080", "connected");
    expect(f!.exp.got).toBe("no answer (timeout: the SYN-ACK came from 10.244.1.5:80 (pod nginx-1)) on the only branch (p=1.00)");
    expect(f!.exp.why).toBe(
      "nginx-1's reply came from 10.244.1.5:80, not 192.168.1.12:30080 that laptop talked to (no SNAT on node2: KUBE-POSTROUTING MASQUERADE missing), so laptop answered RST and its connect timed out",
    );
  });

  it("08 no endpoints: not a timeout but a REJECT in node1's filter KUBE-SERVICES", async () => {
    const { result, lines } = await run("08-no-endpoints-times-out.svcspec");
    const [f] = failures(result, "nobody is ready");
    expectPlaced(f!, lines, "send tcp from tester to web:80", "dropped");
    expect(f!.exp.expected).toBe("dropped");
    expect(f!.exp.got).toBe("refused (icmp port unreachable) on the only branch (p=1.00)");
    expect(f!.exp.why).toMatch(/^rejected on node1 by KUBE-SERVICES: default\/web:http has no endpoints \(icmp-port-unreachable\), so tester got ICMP port-unreachable from \S+ and reported ECONNREFUSED$/);
  });

  it("09 a short name across namespaces: NXDOMAIN for each name of the asking pod's search path, team-a's first", async () => {
    const { result, lines } = await run("09-short-name-across-namespaces.svcspec");
    const [f] = failures(result, "team-a finds team-b's db by its short name");
    expectPlaced(f!, lines, "resolve db from a-app", "answer 10.96.0.90");
    expect(f!.exp.expected).toBe("answer 10.96.0.90");
    expect(f!.exp.got).toBe("nxdomain on branch kube-system/coredns-1 (p=1.00)");
    expect(f!.exp.why).toBe("db does not exist: kube-dns answered NXDOMAIN for db.team-a.svc.cluster.local, db.svc.cluster.local, db.cluster.local, db (a-app's search path)");
  });
});
