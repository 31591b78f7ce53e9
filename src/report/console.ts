// Console reporters. `spec`: the file and scenario tree with ✓/✗, failure blocks right under the
// failing scenario, input diagnostics, then the summary line. `dot`: one character per scenario,
// the failure blocks at the end. Both stream: a file is printed as soon as it is released in
// file order, so a long run shows progress without a progress bar.

import pc from "picocolors";
import type { Colors } from "picocolors/types.js";
import type { FileResult, RunResult, ScenarioResult } from "../run/result.js";
import { diagnosticsText, formatTrace, inputErrorCaseTitle, inputErrorDiagnostics, scenarioFailureLines } from "./failure.js";
import { branchName, formatProbability } from "../run/branch-name.js";

export interface TextSink {
  write(text: string): unknown;
}

export interface ConsoleOptions {
  out: TextSink;
  color: boolean;
  /** Traces for passing scenarios too. */
  verbose: boolean;
  /** Only failures, errors and the summary. */
  quiet: boolean;
}

export interface RunEndInfo {
  /** Files --bail kept from running. */
  notRun: string[];
}

export interface ConsoleReporter {
  fileResult(f: FileResult): void;
  end(run: RunResult, info: RunEndInfo): void;
}

/** Exactly "N passed, N failed", then ", N skipped" and ", N errors" when there are any. */
export function summaryLine(totals: RunResult["totals"], c?: Colors): string {
  const paint = (n: number, text: string, f: ((s: string) => string) | undefined) => (c && n > 0 && f ? f(text) : text);
  const parts = [
    paint(totals.passed, `${totals.passed} passed`, c?.green),
    paint(totals.failed, `${totals.failed} failed`, c?.red),
  ];
  if (totals.skipped > 0) parts.push(paint(totals.skipped, `${totals.skipped} skipped`, c?.cyan));
  if (totals.errors > 0) parts.push(paint(totals.errors, `${totals.errors} errors`, c?.red));
  return parts.join(", ");
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function timingLine(run: RunResult, info: RunEndInfo): string {
  const files = run.files.length;
  let line = `${files} file${files === 1 ? "" : "s"} in ${formatDuration(run.durationMs)}`;
  if (info.notRun.length > 0) line += ` (--bail: ${info.notRun.length} file${info.notRun.length === 1 ? "" : "s"} not run)`;
  return line;
}

function indent(lines: string[], by: string): string[] {
  return lines.map((l) => (l === "" ? l : by + l));
}

function passingTraceLines(s: ScenarioResult, c: Colors): string[] {
  const lines: string[] = [];
  for (const step of s.steps) {
    lines.push(`${step.text}`);
    if (step.output) lines.push(...indent(step.output.replace(/\n$/, "").split("\n"), "  "));
    step.branches.forEach((b, i) => {
      lines.push(`  branch ${branchName(b, i)} (p=${formatProbability(b.probability)}): ${b.explanation}`);
      lines.push(...formatTrace(b.trace, "    ").map((l) => c.dim(l)));
    });
  }
  return lines;
}

export function createSpecReporter(opts: ConsoleOptions): ConsoleReporter {
  const c = pc.createColors(opts.color);
  const w = (line: string) => opts.out.write(line + "\n");
  let printedAny = false;

  return {
    fileResult(f) {
      const errors = inputErrorDiagnostics(f);
      const shown = opts.quiet ? f.scenarios.filter((s) => s.status === "failed" || s.status === "error") : f.scenarios;
      const warnings = f.diagnostics.length > errors.length;
      if (opts.quiet && shown.length === 0 && errors.length === 0) return;
      if (printedAny) w("");
      printedAny = true;
      w(c.bold(f.file) + (f.title ? `  ${c.dim(f.title)}` : ""));
      if (f.diagnostics.length > 0 && (errors.length > 0 || warnings)) {
        const mark = errors.length > 0 ? c.red(`! ${inputErrorCaseTitle(f)}`) : c.yellow("! warnings");
        w(`  ${mark}`);
        for (const l of indent(diagnosticsText(f, c).split("\n"), "    ")) w(l);
      }
      for (const s of shown) {
        const time = s.durationMs >= 100 ? c.dim(` (${formatDuration(s.durationMs)})`) : "";
        const tags = s.tags.length > 0 ? c.dim(` [${s.tags.join(", ")}]`) : "";
        if (s.status === "passed") {
          w(`  ${c.green("✓")} ${s.title}${tags}${time}`);
          if (opts.verbose) for (const l of indent(passingTraceLines(s, c), "      ")) w(l);
        } else if (s.status === "skipped") {
          w(`  ${c.cyan("-")} ${c.dim(s.title)}${tags} ${c.dim("(skipped)")}`);
        } else {
          w(`  ${c.red("✗")} ${s.status === "error" ? c.red(s.title) : s.title}${tags}${time}`);
          for (const l of indent(scenarioFailureLines(s, { color: c, traces: true }), "      ")) w(l);
        }
      }
    },
    end(run, info) {
      if (printedAny) w("");
      w(summaryLine(run.totals, c));
      w(c.dim(timingLine(run, info)));
    },
  };
}

export function createDotReporter(opts: ConsoleOptions): ConsoleReporter {
  const c = pc.createColors(opts.color);
  const failures: string[][] = [];
  let column = 0;
  const dot = (ch: string) => {
    opts.out.write(ch);
    column++;
    if (column % 80 === 0) opts.out.write("\n");
  };

  return {
    fileResult(f) {
      if (inputErrorDiagnostics(f).length > 0) {
        dot(c.red("E"));
        failures.push([`${c.bold(f.file)}  ${inputErrorCaseTitle(f)}`, ...indent(diagnosticsText(f, c).split("\n"), "  ")]);
      }
      for (const s of f.scenarios) {
        if (s.status === "passed") dot(c.green("."));
        else if (s.status === "skipped") dot(c.cyan(","));
        else {
          dot(c.red(s.status === "error" ? "E" : "F"));
          failures.push([`${c.bold(f.file)}  ${s.title}`, ...indent(scenarioFailureLines(s, { color: c, traces: true }), "  ")]);
        }
      }
    },
    end(run, info) {
      if (column % 80 !== 0) opts.out.write("\n");
      failures.forEach((lines, i) => {
        opts.out.write("\n");
        opts.out.write(`${i + 1}) ${lines.join("\n")}\n`);
      });
      opts.out.write("\n" + summaryLine(run.totals, c) + "\n");
      opts.out.write(c.dim(timingLine(run, info)) + "\n");
    },
  };
}
