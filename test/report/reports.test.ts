import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import * as fake from "../run/fake-executor.js";
import { makeTree, MIXED } from "../run/helpers.js";
import { runSpecs } from "../../src/run/runner.js";
import { resolveSpecPaths } from "../../src/run/paths.js";
import type { RunResult } from "../../src/run/result.js";
import { renderJUnitReport, writeJUnitReport, junitClassname } from "../../src/report/junit.js";
import { renderTapReport, tapEscape } from "../../src/report/tap.js";
import { renderJsonReport } from "../../src/report/json.js";
import { createDotReporter, createSpecReporter, summaryLine } from "../../src/report/console.js";

const SCHEMAS = fileURLToPath(new URL("./schemas/", import.meta.url));

let tree: ReturnType<typeof makeTree>;
let run: RunResult;
let out: string;

beforeAll(async () => {
  // Relative paths, as a user would give them; grep skips one scenario.
  tree = makeTree(MIXED);
  const files = (await resolveSpecPaths([tree.dir], tree.dir)).files.map((f) => join(tree.dir, f));
  run = (await runSpecs({ files, engine: "sim", selection: { tags: [], grep: { source: "^(?!clusterip)", flags: "" } }, bail: false, jobs: 1, verbose: false, executor: fake })).run;
  out = mkdtempSync(join(tmpdir(), "svcspec-report-"));
});
afterAll(() => {
  tree.cleanup();
  rmSync(out, { recursive: true, force: true });
});

function xmllint(schema: string, file: string): { ok: boolean; output: string } {
  try {
    const output = execFileSync("xmllint", ["--noout", "--schema", join(SCHEMAS, schema), file], { encoding: "utf8", stdio: "pipe" });
    return { ok: true, output };
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

/** Elements with their attributes, in document order (enough for the reporter's flat output). */
function elements(xml: string, name: string): Array<Record<string, string>> {
  const re = new RegExp(`<${name}(\\s[^>]*?)?\\s*/?>`, "g");
  const list: Array<Record<string, string>> = [];
  for (const m of xml.matchAll(re)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[1] ?? "").matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    list.push(attrs);
  }
  return list;
}

describe("JUnit report", () => {
  it("validates against Jenkins junit-10.xsd and the Ant JUnit schema", async () => {
    const path = join(out, "nested", "junit.xml");
    await writeJUnitReport(run, path);
    for (const schema of ["junit-10.xsd", "ant-junit.xsd"]) {
      const r = xmllint(schema, path);
      expect(r.ok, `${schema}: ${r.output}`).toBe(true);
    }
  });

  it("the schemas do reject a malformed report (the validation can fail)", () => {
    const bad = join(out, "bad.xml");
    writeFileSync(bad, '<?xml version="1.0"?>\n<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>\n');
    expect(xmllint("junit-10.xsd", bad).ok).toBe(false);
    expect(xmllint("ant-junit.xsd", bad).ok).toBe(false);
  });

  it("has one suite per file, one case per scenario, errors for input and internal errors", async () => {
    const xml = await renderJUnitReport(run);
    const suites = elements(xml, "testsuite");
    expect(suites.map((s) => s.name!.slice(tree.dir.length + 1))).toEqual([
      "a-pass.svcspec",
      "b-fail.svcspec",
      "c-input.svcspec",
      "d-throw.svcspec",
      "sub/e-more.svcspec",
    ]);
    expect(suites.map((s) => [s.tests, s.failures, s.errors, s.skipped ?? "0"])).toEqual([
      ["2", "0", "0", "1"],
      ["2", "1", "0", "0"],
      ["1", "0", "1", "0"],
      ["1", "0", "1", "0"],
      ["2", "1", "0", "0"],
    ]);
    const cases = elements(xml, "testcase");
    expect(cases.map((c) => c.name)).toEqual([
      "nodeport answers",
      "clusterip answers",
      "reply comes from node2",
      "local policy keeps source",
      "input errors",
      "internal error",
      "udp &amp; &lt;dns&gt; &quot;quoted&quot;",
      "hairpin # not a comment",
    ]);
    expect(cases[2]!.classname).toBe(junitClassname(join(tree.dir, "b-fail.svcspec")));
    expect(cases[2]!.time).toBe("0.002"); // the scenario's own 1.5 ms, not the replay's

    // The failure carries expected vs got, the branch, why, file:line:col of the probe and the trace.
    const failure = xml.slice(xml.indexOf("<failure"), xml.indexOf("</failure>"));
    expect(failure).toContain('type="ExpectationFailed"');
    expect(failure).toContain("b-fail.svcspec:3:1");
    expect(failure).toContain("expected reply-from node2:8080");
    expect(failure).toContain("got      reply-from 10.244.2.5:80 on branch nginx-2 (p=0.50)");
    expect(failure).toContain("why      no SNAT on node2");
    expect(failure).toContain("-A KUBE-NODEPORTS -p tcp -m tcp --dport 8080 -j KUBE-EXT-XYZ");
    expect(failure).toContain("^^^^^^^^");

    const errorsXml = [...xml.matchAll(/<error [^>]*>[\s\S]*?<\/error>/g)].map((m) => m[0]);
    expect(errorsXml).toHaveLength(2);
    expect(errorsXml[0]).toContain('type="InputError"');
    expect(errorsXml[0]).toContain("unknown host `nod2`");
    expect(errorsXml[0]).toContain("did you mean `node2`?");
    expect(errorsXml[1]).toContain('type="InternalError"');
    expect(errorsXml[1]).toContain("engine exploded");
  });

  it("is the same document on every render of the same run (stable names, times, timestamp)", async () => {
    const first = await renderJUnitReport(run);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await renderJUnitReport(run)).toBe(first);
  });

  it("ignores MOCHA_FILE and ANT_MODE from the environment", async () => {
    const stray = join(out, "stray.xml");
    process.env.MOCHA_FILE = stray;
    process.env.ANT_MODE = "";
    try {
      const path = join(out, "env.xml");
      await writeJUnitReport(run, path);
      expect(existsSync(stray)).toBe(false);
      expect(xmllint("ant-junit.xsd", path).ok).toBe(true);
      expect(process.env.MOCHA_FILE).toBe(stray);
    } finally {
      delete process.env.MOCHA_FILE;
      delete process.env.ANT_MODE;
    }
  });
});

/** A small TAP 14 reader: plan, test points, directives and YAML blocks. */
function parseTap(text: string) {
  const lines = text.split("\n");
  expect(lines[0]).toBe("TAP version 14");
  const plan = /^1\.\.(\d+)$/.exec(lines[1]!);
  expect(plan).not.toBeNull();
  const points: Array<{ ok: boolean; id: number; desc: string; directive?: string; yaml?: Record<string, unknown> }> = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^(not ok|ok) (\d+) - (.*?)(?: # (SKIP|TODO)\b.*)?$/.exec(lines[i]!);
    if (!m) continue;
    const point: (typeof points)[number] = { ok: m[1] === "ok", id: Number(m[2]), desc: m[3]! };
    if (m[4]) point.directive = m[4];
    if (lines[i + 1] === "  ---") {
      const end = lines.indexOf("  ...", i + 2);
      point.yaml = parseYaml(lines.slice(i + 2, end).map((l) => l.slice(2)).join("\n"));
      i = end;
    }
    points.push(point);
  }
  return { planned: Number(plan![1]), points };
}

describe("TAP report", () => {
  it("parses back: plan, ids in order, ok/not ok, SKIP, YAML diagnostics", () => {
    const { planned, points } = parseTap(renderTapReport(run));
    expect(planned).toBe(points.length);
    expect(points.map((p) => p.id)).toEqual(points.map((_, i) => i + 1));
    const short = points.map((p) => [p.ok, p.desc.slice(tree.dir.length + 1), p.directive ?? ""]);
    expect(short).toEqual([
      [true, "a-pass.svcspec: nodeport answers", ""],
      [true, "a-pass.svcspec: clusterip answers", "SKIP"],
      [false, "b-fail.svcspec: reply comes from node2", ""],
      [true, "b-fail.svcspec: local policy keeps source", ""],
      [false, "c-input.svcspec: input errors", ""],
      [false, "d-throw.svcspec: internal error", ""],
      [true, 'sub/e-more.svcspec: udp & <dns> "quoted"', ""],
      [false, "sub/e-more.svcspec: hairpin \\# not a comment", ""],
    ]);
    const fail = points[2]!.yaml!;
    expect(fail.severity).toBe("fail");
    expect(fail.at).toEqual({ file: join(tree.dir, "b-fail.svcspec"), line: 3, column: 1 });
    expect(fail.failures).toEqual([
      {
        at: `${join(tree.dir, "b-fail.svcspec")}:3:1`,
        step: "send tcp from laptop to node2:8080",
        expected: "reply-from node2:8080",
        quantifier: "always",
        got: "reply-from 10.244.2.5:80",
        why: "no SNAT on node2 (KUBE-POSTROUTING did not match: mark 0x4000 not set)",
        branches: [{ branch: "nginx-2", probability: 0.5 }],
      },
    ]);
    expect(String(fail.details)).toContain("trace of branch nginx-2");
    expect(points[4]!.yaml!.severity).toBe("error");
    expect((points[4]!.yaml!.diagnostics as unknown[])[0]).toMatchObject({ code: "unknown-name", suggestion: "did you mean `node2`?" });
  });

  it("escapes # and backslashes in descriptions", () => {
    expect(tapEscape("a # b \\ c\nd")).toBe("a \\# b \\\\ c d");
  });
});

describe("JSON report", () => {
  it("is the RunResult itself, and parses back to it", () => {
    const parsed = JSON.parse(renderJsonReport(run));
    expect(parsed).toEqual(JSON.parse(JSON.stringify(run)));
    expect(Object.keys(parsed)).toEqual(["version", "startedAt", "durationMs", "files", "totals"]);
    const step = parsed.files[1].scenarios[0].steps[0];
    expect(step.branches.map((b: { probability: number }) => b.probability)).toEqual([0.5, 0.5]);
    expect(step.branches[1].trace.length).toBeGreaterThan(0);
    expect(step.expectations[0].failingBranches).toEqual([1]);
  });
});

function capture() {
  let text = "";
  return { sink: { write: (s: string) => (text += s) }, text: () => text };
}

describe("console reporters", () => {
  it("summary line is exactly N passed, N failed[, N skipped][, N errors]", () => {
    expect(summaryLine({ passed: 3, failed: 0, skipped: 0, errors: 0 })).toBe("3 passed, 0 failed");
    expect(summaryLine({ passed: 3, failed: 1, skipped: 2, errors: 0 })).toBe("3 passed, 1 failed, 2 skipped");
    expect(summaryLine({ passed: 0, failed: 1, skipped: 0, errors: 4 })).toBe("0 passed, 1 failed, 4 errors");
  });

  it("spec: tree, failure block with caret and trace, diagnostics, summary; no colour codes when off", () => {
    const cap = capture();
    const r = createSpecReporter({ out: cap.sink, color: false, verbose: false, quiet: false });
    for (const f of run.files) r.fileResult(f);
    r.end(run, { notRun: [] });
    const text = cap.text();
    expect(text).not.toMatch(/\x1b\[/);
    expect(text).toContain("  ✓ nodeport answers [smoke]");
    expect(text).toContain("  - clusterip answers (skipped)");
    expect(text).toContain("  ✗ reply comes from node2 [smoke]");
    expect(text).toMatch(/b-fail\.svcspec:3:1 {2}send tcp from laptop to node2:8080\n {8}expected reply-from node2:8080\n {8}got {6}reply-from 10\.244\.2\.5:80 on branch nginx-2 \(p=0\.50\)/);
    expect(text).toContain('        3 | scenario "reply comes from node2" tags smoke fail\n          | ^^^^^^^^\n');
    expect(text).toContain("c-input.svcspec:2:26: error [unknown-name] unknown host `nod2`");
    expect(text).toContain("      2 | send tcp from laptop to nod2:8080\n        |                          ^^^^\n");
    const lines = text.trimEnd().split("\n");
    expect(lines[lines.length - 2]).toBe("3 passed, 2 failed, 1 skipped, 2 errors");
    expect(lines[lines.length - 1]).toMatch(/^5 files in \d+ ms$/);
  });

  it("spec --quiet shows only what went wrong; colours when on", () => {
    const cap = capture();
    const r = createSpecReporter({ out: cap.sink, color: true, verbose: false, quiet: true });
    for (const f of run.files) r.fileResult(f);
    r.end(run, { notRun: [] });
    const text = cap.text();
    expect(text).toMatch(/\x1b\[/);
    expect(text).not.toContain("nodeport answers");
    expect(text).not.toContain("a-pass.svcspec");
    expect(text).toContain("reply comes from node2");
  });

  it("spec --verbose prints traces of passing scenarios", () => {
    const cap = capture();
    const r = createSpecReporter({ out: cap.sink, color: false, verbose: true, quiet: false });
    r.fileResult(run.files[1]!);
    expect(cap.text()).toMatch(/✓ local policy keeps source\n {6}send tcp from laptop to node2:8080\n {8}branch nginx-1 \(p=0\.50\)/);
  });

  it("dot: one character per scenario and per file with input errors, then the failures", () => {
    const cap = capture();
    const r = createDotReporter({ out: cap.sink, color: false, verbose: false, quiet: false });
    for (const f of run.files) r.fileResult(f);
    r.end(run, { notRun: [] });
    const text = cap.text();
    expect(text.split("\n")[0]).toBe(".,F.EE.F");
    expect(text).toContain("1) ");
    expect(text).toContain("4) ");
    expect(text).toContain("3 passed, 2 failed, 1 skipped, 2 errors");
  });
});
