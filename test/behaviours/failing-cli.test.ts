// examples/failing through the bundled CLI, as a student runs it: `svcspec run examples/failing
// --no-color` prints, per failure, file:line:col, expected/got/why, the source line with a
// caret under the probe, and exits 1.
//
// The bundle is built by the project's own scripts/build.mjs, but in a private directory (with
// `src` and `node_modules` linked in): dist/ is shared by everyone working in this tree, and
// rewriting it from a test would race their builds.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
let work: string | undefined;
let outdir: string;
let out: { status: number | null; stdout: string; stderr: string };
let junit: { status: number | null; xml: string };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "svcspec-behaviours-build-"));
  symlinkSync(join(ROOT, "src"), join(work, "src"));
  symlinkSync(join(ROOT, "node_modules"), join(work, "node_modules"));
  const b = spawnSync(process.execPath, [join(ROOT, "scripts/build.mjs")], { cwd: work, encoding: "utf8" });
  if (b.status !== 0) throw new Error(`scripts/build.mjs failed: ${b.stderr}`);
  outdir = join(work, "dist");
  const r = spawnSync(process.execPath, [join(outdir, "svcspec.js"), "run", "examples/failing", "--no-color"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  out = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  const xmlPath = join(outdir, "junit.xml");
  const j = spawnSync(process.execPath, [join(outdir, "svcspec.js"), "run", "examples/failing", "--reporter", `junit:${xmlPath}`, "--quiet"], { cwd: ROOT, encoding: "utf8" });
  junit = { status: j.status, xml: readFileSync(xmlPath, "utf8") };
}, 60000);

afterAll(() => {
  if (!work) return;
  // The links first, so that removing the directory can never reach the project's own files.
  for (const link of ["src", "node_modules"]) {
    try {
      unlinkSync(join(work, link));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  rmSync(work, { recursive: true, force: true });
});

/** The failure block of one probe: from its `file:line:col  probe` line to the next blank or ✗ line. */
function block(head: string): string {
  const lines = out.stdout.split("\n");
  const start = lines.findIndex((l) => l.trim().startsWith(head));
  if (start < 0) throw new Error(`no failure block starting with ${JSON.stringify(head)} in:\n${out.stdout}`);
  const end = lines.findIndex((l, i) => i > start && (l.trim() === "" || /^\s*✗ /.test(l) || /^\s{6}\S+\.svcspec:\d+:\d+ {2}/.test(l)));
  return lines.slice(start, end < 0 ? undefined : end).map((l) => l.replace(/^ {6}/, "")).join("\n");
}

describe("svcspec run examples/failing (bundled CLI)", () => {
  it("exits 1 (a scenario failed), every scenario failed, nothing on stderr", () => {
    expect(out.stderr).toBe("");
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/\n0 passed, 10 failed\n9 files in /);
    expect(out.stdout).not.toMatch(/\x1b\[/); // --no-color
  });

  it("the Local-policy block: position, expected, got with the branch, why naming node2 and KUBE-EXTERNAL-SERVICES, source line and caret", () => {
    const b = block("examples/failing/05-local-policy-through-any-node.svcspec:22:3  send tcp from laptop to node2:30080");
    expect(b).toContain(
      [
        "examples/failing/05-local-policy-through-any-node.svcspec:22:3  send tcp from laptop to node2:30080",
        "  at examples/failing/05-local-policy-through-any-node.svcspec:22:46  expect connected",
        "  expected connected",
        "  got      no answer (timeout) on the only branch (p=1.00)",
        "  why      dropped on node2 by KUBE-EXTERNAL-SERVICES: default/my-nginx:http has no local endpoints",
      ].join("\n"),
    );
    expect(b).toContain("  22 |   send tcp from laptop to node2:30080 expect connected, source-seen laptop\n     |   ^^^^");
    expect(b).toContain("  trace of the only branch (p=1.00): dropped on node2 by KUBE-EXTERNAL-SERVICES");
    expect(b).toMatch(/ {4}→ node2 {6}filter\/INPUT {7}KUBE-EXTERNAL-SERVICES #1: drop: -A KUBE-EXTERNAL-SERVICES .*-j DROP/);
  });

  it("the Cluster-policy block: both branches with their probabilities and the marking rule in the why", () => {
    const b = block("examples/failing/01-source-seen-under-cluster-policy.svcspec:24:3  send tcp from laptop to node2:30080");
    expect(b).toContain("  at examples/failing/01-source-seen-under-cluster-policy.svcspec:26:12  expect source-seen laptop\n  expected source-seen laptop\n");
    expect(b).toContain("  got      source-seen 192.168.1.12 (node2's node IP) on branch nginx-1 (p=0.50); source-seen 10.244.2.1 (node2's cni0 address) on branch nginx-2 (p=0.50)\n");
    expect(b).toMatch(/ {2}why {6}.*node2 masqueraded the source to 192\.168\.1\.12 \(KUBE-POSTROUTING\) because KUBE-EXT-\w+ marked it/);
    expect(b).toContain("  24 |   send tcp from laptop to node2:30080\n     |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^");
    expect(b).toContain("  trace of branch nginx-1 (p=0.50): ");
    // The other failing branch is named with its explanation, without a second full trace.
    expect(b).toContain("  also branch nginx-2 (p=0.50): laptop connected to nginx-2");
    expect(b.match(/→ laptop {5}send/g)).toHaveLength(1);
  });

  it("every example's failure block has expected, got and why", () => {
    for (const [file, line] of [
      ["02-clusterip-from-outside", 22],
      ["03-hairpin-with-hairpin-mode-none", 21],
      ["04-externalip-without-route", 23],
      ["06-always-the-same-endpoint", 24],
      ["07-nodeport-without-snat", 23],
      ["08-no-endpoints-times-out", 19],
      ["09-short-name-across-namespaces", 24],
    ] as const) {
      const b = block(`examples/failing/${file}.svcspec:${line}:3  `);
      expect(b, file).toMatch(/\n {2}expected \S/);
      expect(b, file).toMatch(/\n {2}got {6}.* on (the only branch|branch \S+) \(p=\d\.\d\d\)/);
      expect(b, file).toMatch(/\n {2}why {6}\S/);
      expect(b, file).toMatch(new RegExp(`\\n {2}${line} \\| .*\\n {5}\\| +\\^+`));
    }
  });

  it("JUnit: each failure's one-line message carries expected, got and why (CI often shows only that line)", () => {
    expect(junit.status).toBe(1);
    const messages = [...junit.xml.matchAll(/<failure message="([^"]*)"/g)].map((m) => m[1]!.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&"));
    expect(messages).toHaveLength(10);
    expect(messages).toContain(
      "examples/failing/05-local-policy-through-any-node.svcspec:22:46: expected connected, got no answer (timeout) on the only branch (p=1.00) — dropped on node2 by KUBE-EXTERNAL-SERVICES: default/my-nginx:http has no local endpoints",
    );
    for (const m of messages) expect(m).toMatch(/^examples\/failing\/\S+\.svcspec:\d+:\d+: expected .+, got .+ — \S/);
  });
});
