// A stand-in for the real executor (src/run/executor.ts), so the runner and the reports can be
// tested on their own. It reads a tiny line format instead of .svcspec:
//
//   title "NodePort and SNAT"
//   input-error 3:5 unknown host `nod2` | did you mean `node2`?
//   warning 4:1 something odd
//   apply "svc.yaml"                         (recorded in FileResult.inputs)
//   delay 20                                 (sleep before answering: shuffles worker timing)
//   throw the engine exploded                (executeFile throws: an internal error)
//   scenario "title" [tags a,b] pass|fail|error
//
// Results are rich enough for the reports: steps, two branches with probabilities, a failing
// expectation with expected/got/why, and traces.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ExecuteOptions, ScenarioRef } from "../../src/run/executor-api.js";
import type { Diagnostic, FileResult, ScenarioResult, Status, StepResult } from "../../src/run/result.js";
import type { ProbeBranch } from "../../src/net/outcome.js";

interface FakeScenario {
  ref: ScenarioRef;
  outcome: "pass" | "fail" | "error";
  line: number;
  sourceLine: string;
}

interface FakeSpec {
  title: string | null;
  diagnostics: Diagnostic[];
  scenarios: FakeScenario[];
  inputs: string[];
  delayMs: number;
  throwMessage: string | null;
}

function pos(file: string, line: number, column: number, length: number) {
  return { file, line, column, endLine: line, endColumn: column + length - 1 };
}

export function parseFake(file: string): FakeSpec {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  const spec: FakeSpec = { title: null, diagnostics: [], scenarios: [], inputs: [], delayMs: 0, throwMessage: null };
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^title "(.*)"$/.exec(t))) spec.title = m[1]!;
    else if ((m = /^(input-error|warning) (\d+):(\d+) ([^|]*)(?:\| (.*))?$/.exec(t))) {
      const l = Number(m[2]);
      const c = Number(m[3]);
      spec.diagnostics.push({
        severity: m[1] === "warning" ? "warning" : "error",
        code: m[1] === "warning" ? "lint" : "unknown-name",
        message: m[4]!.trim(),
        pos: pos(file, l, c, 4),
        sourceLine: lines[l - 1] ?? "",
        ...(m[5] ? { suggestion: m[5] } : {}),
      });
    } else if ((m = /^apply "(.*)"$/.exec(t))) spec.inputs.push(join(dirname(file), m[1]!));
    else if ((m = /^delay (\d+)$/.exec(t))) spec.delayMs = Number(m[1]);
    else if ((m = /^throw (.*)$/.exec(t))) spec.throwMessage = m[1]!;
    else if ((m = /^scenario "(.*)"(?: tags ([\w,-]+))? (pass|fail|error)$/.exec(t))) {
      spec.scenarios.push({
        ref: { file, title: m[1]!, tags: m[2] ? m[2].split(",") : [], index: spec.scenarios.length },
        outcome: m[3] as FakeScenario["outcome"],
        line,
        sourceLine: raw,
      });
    }
  });
  return spec;
}

function branch(p: number, host: string, ip: string, ok: boolean): ProbeBranch {
  return {
    probability: p,
    choices: [`KUBE-SEP-${host.toUpperCase()} ${ip}:80`],
    result: "connected",
    signal: "syn-ack",
    replyFrom: ok ? { ip: "192.168.1.12", port: 8080 } : { ip, port: 80 },
    deliveredTo: { host, ip, port: 80 },
    sourceSeen: { ip: "192.168.1.12", port: 40000 },
    via: ["node2"],
    masqueraded: ok,
    explanation: ok ? "node2 DNATed to the pod and masqueraded" : "no SNAT on node2, the pod replied directly",
    trace: [
      { phase: "request", host: "laptop", kind: "send", text: "SYN 203.0.113.7:40000 → 192.168.1.12:8080" },
      {
        phase: "request",
        host: "node2",
        kind: "rule",
        text: "nat PREROUTING → KUBE-SERVICES → KUBE-NODEPORTS",
        table: "nat",
        chain: "KUBE-NODEPORTS",
        rule: "-A KUBE-NODEPORTS -p tcp -m tcp --dport 8080 -j KUBE-EXT-XYZ",
      },
      { phase: "reply", host, kind: "reply", text: `SYN-ACK from ${ip}:80` },
    ],
  };
}

function sendStep(file: string, sc: FakeScenario, outcome: "pass" | "fail", verbose: boolean): StepResult {
  const col = sc.sourceLine.indexOf("scenario") + 1;
  const failing = outcome === "fail";
  const branches = [branch(0.5, "nginx-1", "10.244.1.5", true), branch(0.5, "nginx-2", "10.244.2.5", !failing)];
  if (!failing && !verbose) for (const b of branches) b.trace = [];
  return {
    text: "send tcp from laptop to node2:8080",
    kind: "send",
    pos: pos(file, sc.line, col, 8),
    sourceLine: sc.sourceLine,
    status: failing ? "failed" : "passed",
    branches,
    expectations: [
      {
        text: "reply-from node2:8080",
        quantifier: "always",
        status: failing ? "failed" : "passed",
        pos: pos(file, sc.line, col, 8),
        expected: "reply-from node2:8080",
        got: failing ? "reply-from 10.244.2.5:80" : "reply-from node2:8080",
        ...(failing ? { why: "no SNAT on node2 (KUBE-POSTROUTING did not match: mark 0x4000 not set)" } : {}),
        failingBranches: failing ? [1] : [],
      },
    ],
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function executeFile(path: string, opts: ExecuteOptions): Promise<FileResult> {
  const spec = parseFake(path);
  if (spec.delayMs) await sleep(spec.delayMs);
  if (spec.throwMessage) throw new Error(spec.throwMessage);
  const hasInputErrors = spec.diagnostics.some((d) => d.severity === "error");
  const scenarios: ScenarioResult[] = [];
  let bailed = false;
  if (!hasInputErrors) {
    for (const sc of spec.scenarios) {
      const selected = !bailed && (opts.select ? opts.select(sc.ref) : true);
      let status: Status = "skipped";
      let steps: StepResult[] = [];
      if (selected) {
        if (sc.outcome === "error") {
          status = "error";
          steps = [{ ...sendStep(path, sc, "pass", opts.verbose), status: "error", error: "engine could not route the probe", expectations: [] }];
        } else {
          status = sc.outcome === "pass" ? "passed" : "failed";
          steps = [sendStep(path, sc, sc.outcome, opts.verbose)];
        }
        if (opts.bail && status !== "passed") bailed = true;
      }
      scenarios.push({
        title: sc.ref.title,
        tags: sc.ref.tags,
        pos: pos(path, sc.line, sc.sourceLine.indexOf("scenario") + 1, 8),
        status,
        durationMs: selected ? 1.5 : 0,
        steps,
        engine: opts.engine,
      });
    }
  }
  let status: Status = "skipped";
  if (hasInputErrors || scenarios.some((s) => s.status === "error")) status = "error";
  else if (scenarios.some((s) => s.status === "failed")) status = "failed";
  else if (scenarios.some((s) => s.status === "passed")) status = "passed";
  return { file: path, title: spec.title, status, durationMs: 3, scenarios, diagnostics: spec.diagnostics, inputs: spec.inputs };
}

export async function listScenarios(path: string) {
  const spec = parseFake(path);
  return { scenarios: spec.scenarios.map((s) => s.ref), diagnostics: spec.diagnostics };
}
