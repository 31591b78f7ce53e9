// `svcspec run [paths...]`: finds spec files, runs them (serially or on worker threads), and
// reports to the console and to files (JUnit, JSON, TAP). The exit code is the CI contract:
// 0 all passed, 1 a scenario failed, 2 input errors (parse, validation, YAML, usage, a path
// that matches nothing), 3 an internal error. Input errors and internal errors in one file
// never stop the other files.

import { watch as fsWatch, writeFileSync, mkdirSync, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import { Option, type Command } from "commander";
import { EXIT } from "./exit.js";
import type { EngineName } from "../run/executor-api.js";
import type { FileResult, RunResult } from "../run/result.js";
import { resolveSpecPaths } from "../run/paths.js";
import { computeTotals, runSpecs, runVerdict, type ExecutorModule, type RunVerdict, type WorkerOptions } from "../run/runner.js";
import { parseShard, type SelectionSpec } from "../run/selection.js";
import { createDotReporter, createSpecReporter, type ConsoleReporter, type TextSink } from "../report/console.js";
import { createProgress, type ProgressStream } from "../report/progress.js";
import { renderJsonReport } from "../report/json.js";
import { renderTapReport } from "../report/tap.js";

export interface RunCommandDeps {
  stdout: ProgressStream;
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Serial runs' executor; default the real one. */
  executor?: ExecutorModule;
  worker?: WorkerOptions;
  setExitCode: (code: number) => void;
  /** Ends --watch (Ctrl-C ends it otherwise); the watch then resolves with its last exit code. */
  signal?: AbortSignal;
}

export interface RunCliOptions {
  reporter: string[];
  grep?: string;
  tag: string[];
  bail: boolean;
  jobs: string;
  shard?: string;
  watch: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  engine: EngineName;
}

type ReporterSpec =
  | { kind: "console"; name: "spec" | "dot" }
  | { kind: "file"; name: "junit" | "json"; path: string }
  | { kind: "tap"; path: string | null };

class UsageError extends Error {}

export function parseReporters(specs: string[]): ReporterSpec[] {
  const out: ReporterSpec[] = [];
  for (const raw of specs.length > 0 ? specs : ["spec"]) {
    const i = raw.indexOf(":");
    const name = i < 0 ? raw : raw.slice(0, i);
    const path = i < 0 ? null : raw.slice(i + 1);
    if (name === "spec" || name === "dot") {
      if (path !== null) throw new UsageError(`--reporter ${name} writes to the terminal and takes no path (got "${raw}")`);
      out.push({ kind: "console", name });
    } else if (name === "junit" || name === "json") {
      if (!path) throw new UsageError(`--reporter ${name} needs a file: --reporter ${name}:PATH`);
      out.push({ kind: "file", name, path });
    } else if (name === "tap") {
      out.push({ kind: "tap", path: path || null });
    } else {
      throw new UsageError(`unknown reporter "${name}": use spec, dot, junit:PATH, json:PATH or tap[:PATH]`);
    }
  }
  if (out.filter((r) => r.kind === "console").length > 1) throw new UsageError("only one console reporter (spec or dot) at a time");
  if (out.filter((r) => r.kind === "tap" && r.path === null).length > 1) throw new UsageError("only one tap reporter can write to stdout");
  return out;
}

export function parseJobs(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`--jobs expects a whole number ≥ 1, got "${text}"`);
  return Number(text);
}

export function parseGrep(text: string | undefined): SelectionSpec["grep"] {
  if (text === undefined) return undefined;
  try {
    const re = new RegExp(text);
    return { source: re.source, flags: re.flags };
  } catch (e) {
    throw new UsageError(`--grep: not a valid regular expression: ${(e as Error).message}`);
  }
}

/** NO_COLOR (no-color.org: set and not empty), --no-color, or a stdout that is not a terminal. */
export function useColor(opts: { color: boolean }, env: NodeJS.ProcessEnv, stdout: ProgressStream): boolean {
  if (!opts.color) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return !!stdout.isTTY;
}

const VERDICT_EXIT: Record<RunVerdict, number> = { ok: EXIT.ok, failed: EXIT.failed, input: EXIT.input, internal: EXIT.internal };

/** The more serious of two exit codes: internal > input > failed > ok. */
function worse(a: number, b: number): number {
  const rank = (c: number) => [EXIT.ok, EXIT.failed, EXIT.input, EXIT.internal].indexOf(c as 0 | 1 | 2 | 3);
  return rank(a) >= rank(b) ? a : b;
}

interface Plan {
  files: string[];
  pathErrors: string[];
  reporters: ReporterSpec[];
  selection: SelectionSpec;
  jobs: number;
}

async function planRun(paths: string[], opts: RunCliOptions, deps: RunCommandDeps): Promise<Plan> {
  const reporters = parseReporters(opts.reporter);
  const jobs = parseJobs(opts.jobs);
  const grep = parseGrep(opts.grep);
  let shard: SelectionSpec["shard"];
  if (opts.shard !== undefined) {
    const s = parseShard(opts.shard);
    if (typeof s === "string") throw new UsageError(s);
    shard = s;
  }
  if (opts.quiet && opts.verbose) throw new UsageError("--quiet and --verbose cannot be used together");
  const resolved = await resolveSpecPaths(paths.length > 0 ? paths : ["scenarios/"], deps.cwd);
  return { files: resolved.files, pathErrors: resolved.errors, reporters, selection: { grep, tags: opts.tag, shard }, jobs };
}

/** One run over `files`: console output streamed, file reports written at the end. */
async function runOnce(files: string[], plan: Plan, opts: RunCliOptions, deps: RunCommandDeps, merge?: (run: RunResult) => RunResult) {
  const tapToStdout = plan.reporters.some((r) => r.kind === "tap" && r.path === null);
  const consoleSpec = plan.reporters.find((r): r is Extract<ReporterSpec, { kind: "console" }> => r.kind === "console");
  // TAP on stdout must stay parseable: the console reporter, if asked for, moves to stderr.
  const consoleStream = tapToStdout ? deps.stderr : deps.stdout;
  const progress = createProgress(consoleSpec?.name === "dot" ? { write: () => true, isTTY: false } : deps.stderr, files.length);
  const sink: TextSink = progress.wrap(consoleStream);
  const color = useColor(opts, deps.env, consoleStream);
  const consoleOpts = { out: sink, color, verbose: opts.verbose, quiet: opts.quiet };
  const reporter: ConsoleReporter | null = consoleSpec
    ? consoleSpec.name === "dot"
      ? createDotReporter(consoleOpts)
      : createSpecReporter(consoleOpts)
    : null;

  let outcome;
  try {
    outcome = await runSpecs({
      files,
      engine: opts.engine,
      selection: plan.selection,
      bail: opts.bail,
      jobs: plan.jobs,
      verbose: opts.verbose,
      executor: deps.executor,
      worker: deps.worker,
      // Only the JSON report prints passing scenarios' branches; the console prints them as it goes.
      keepPassingBranches: plan.reporters.some((r) => r.kind === "file" && r.name === "json"),
      onFileStart: (f) => progress.fileStarted(f),
      onFileResult: (r) => {
        progress.fileDone();
        reporter?.fileResult(r);
      },
    });
  } finally {
    progress.stop();
  }
  reporter?.end(outcome.run, { notRun: outcome.notRun });

  const full = merge ? merge(outcome.run) : outcome.run;
  let code = VERDICT_EXIT[runVerdict(outcome.run)];
  for (const r of plan.reporters) {
    try {
      if (r.kind === "file" && r.name === "junit") {
        const { writeJUnitReport } = await import("../report/junit.js");
        await writeJUnitReport(full, resolve(deps.cwd, r.path));
      } else if (r.kind === "file" && r.name === "json") {
        writeReportFile(resolve(deps.cwd, r.path), renderJsonReport(full));
      } else if (r.kind === "tap") {
        if (r.path === null) deps.stdout.write(renderTapReport(full));
        else writeReportFile(resolve(deps.cwd, r.path), renderTapReport(full));
      }
    } catch (e) {
      deps.stderr.write(`svcspec run: cannot write the ${r.kind === "tap" ? "tap" : r.name} report: ${(e as Error).message}\n`);
      code = worse(code, EXIT.input);
    }
  }
  return { code, outcome };
}

function writeReportFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export async function runCommand(paths: string[], opts: RunCliOptions, deps: RunCommandDeps): Promise<number> {
  let plan: Plan;
  try {
    plan = await planRun(paths, opts, deps);
  } catch (e) {
    if (e instanceof UsageError) {
      deps.stderr.write(`svcspec run: ${e.message}\n`);
      return EXIT.input;
    }
    throw e;
  }
  for (const msg of plan.pathErrors) deps.stderr.write(`svcspec run: ${msg}\n`);
  const pathCode = plan.pathErrors.length > 0 ? EXIT.input : EXIT.ok;
  if (plan.files.length === 0) {
    if (plan.pathErrors.length === 0) deps.stderr.write("svcspec run: no spec files to run\n");
    return EXIT.input;
  }

  if (!opts.watch) {
    const { code } = await runOnce(plan.files, plan, opts, deps);
    return worse(code, pathCode);
  }
  return watchLoop(plan, opts, deps);
}

/**
 * --watch: run everything, then re-run the spec files whose own text or `apply`ed files
 * (FileResult.inputs) changed. File reports are rewritten with every file's latest result.
 * Spec files created after the start are not picked up (restart to include them).
 */
async function watchLoop(plan: Plan, opts: RunCliOptions, deps: RunCommandDeps): Promise<number> {
  const latest = new Map<string, FileResult>();
  const merge = (run: RunResult): RunResult => {
    for (const f of run.files) latest.set(f.file, f);
    const files = plan.files.map((f) => latest.get(f)).filter((f): f is FileResult => f !== undefined);
    return { ...run, files, totals: computeTotals(files) };
  };
  let watchers: FSWatcher[] = [];
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running = false;

  const rewatch = () => {
    for (const w of watchers) w.close();
    watchers = [];
    // Watched path → the spec files to re-run when it changes.
    const affected = new Map<string, Set<string>>();
    for (const spec of plan.files) {
      const inputs = [spec, ...(latest.get(spec)?.inputs ?? [])];
      for (const p of inputs) {
        const abs = resolve(deps.cwd, p);
        if (!affected.has(abs)) affected.set(abs, new Set());
        affected.get(abs)!.add(spec);
      }
    }
    for (const [abs, specs] of affected) {
      try {
        // Editors often replace a file instead of writing it: watchers are re-made after each run.
        const w = fsWatch(abs, () => {
          for (const s of specs) pending.add(s);
          schedule();
        });
        watchers.push(w);
      } catch {
        // A missing input (a YAML file not written yet) is reported by the executor, not here.
      }
    }
  };

  let lastCode: number = EXIT.ok;
  const cycle = async (files: string[]) => {
    running = true;
    try {
      const { code } = await runOnce(files, plan, opts, deps, merge);
      lastCode = code;
    } catch (e) {
      deps.stderr.write(`svcspec run: internal error: ${(e as Error).message}\n`);
    }
    running = false;
    if (deps.signal?.aborted) return;
    rewatch();
    deps.stderr.write(`\nwatching ${watchers.length} file${watchers.length === 1 ? "" : "s"} for changes (Ctrl-C to stop)\n`);
    if (pending.size > 0) schedule();
  };

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (running) return;
      const files = plan.files.filter((f) => pending.has(f));
      pending = new Set();
      if (files.length === 0) return;
      deps.stderr.write(`\nre-running ${files.length} file${files.length === 1 ? "" : "s"}\n`);
      void cycle(files);
    }, 120);
  };

  await cycle(plan.files);
  // Without a signal this never resolves: the process ends on Ctrl-C.
  return new Promise<number>((resolveWatch) => {
    const stop = () => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
      watchers = [];
      resolveWatch(lastCode);
    };
    if (deps.signal?.aborted) stop();
    else deps.signal?.addEventListener("abort", stop, { once: true });
  });
}

export function registerRun(program: Command, overrides: Partial<RunCommandDeps> = {}): void {
  const collect = (value: string, previous: string[]) => [...previous, value];
  program
    .command("run")
    .description("run the scenarios of .svcspec files and report verdicts (console, JUnit, JSON, TAP)")
    .argument("[paths...]", "spec files, directories (searched for *.svcspec) or globs", [])
    .option("--reporter <name[:path]>", "spec (default) or dot on the terminal; junit:PATH, json:PATH, tap[:PATH]; repeatable", collect, [])
    .option("--grep <regex>", "run only scenarios whose title matches")
    .option("--tag <tag>", "run only scenarios with this tag; repeatable (any of them)", collect, [])
    .option("--bail", "stop after the first failing scenario", false)
    .option("--jobs <n>", "run files on N worker threads", "1")
    .option("--shard <i/n>", "run only shard I of N (a stable split by file and scenario title)")
    .option("--watch", "re-run affected files when a spec or an applied YAML file changes", false)
    .option("--quiet", "print only failures, errors and the summary", false)
    .option("--verbose", "print traces of passing scenarios too", false)
    .option("--no-color", "no colours (also NO_COLOR)")
    .addOption(new Option("--engine <engine>", "where probes run").choices(["sim", "kernel", "both"]).default("sim"))
    .action(async (paths: string[], opts: RunCliOptions) => {
      const deps: RunCommandDeps = {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        cwd: process.cwd(),
        setExitCode: (code) => {
          process.exitCode = code;
        },
        ...overrides,
      };
      deps.setExitCode(await runCommand(paths, opts, deps));
    });
}
