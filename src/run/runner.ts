// The runner: runs spec files serially or on a pool of worker threads, and hands results to
// the reporters in file order whatever the workers' timing, so a parallel run and a serial run
// produce the same reports. With --bail the run stops after the first file (in file order)
// that failed; files after it are dropped even if a worker already ran them, which is what
// keeps `--bail --jobs N` identical to `--bail`.

import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { EngineName } from "./executor-api.js";
import type { FileResult, RunResult } from "./result.js";
import { hasErrorDiagnostics, internalErrorResult, INTERNAL_CODE, runFile, type ExecutorModule, type RunFileOptions } from "./run-file.js";
import type { SelectionSpec } from "./selection.js";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./worker-protocol.js";
import { nowMs } from "./clock.js";

export type { ExecutorModule } from "./run-file.js";

export interface WorkerOptions {
  /** The worker entry; default: dist/worker.js next to the bundle (worker.ts under tsx). */
  script?: string | URL;
  execArgv?: string[];
  /** A module exporting `executeFile` (and optionally `listScenarios`) to use instead of the real executor. */
  executorModule?: string;
}

export interface RunnerOptions {
  files: string[];
  engine: EngineName;
  selection: SelectionSpec;
  bail: boolean;
  /** Worker threads; 1 runs on the main thread. */
  jobs: number;
  verbose: boolean;
  /** The executor for serial runs; default: the real one, loaded on first use. */
  executor?: ExecutorModule;
  worker?: WorkerOptions;
  /** A file starts (in dispatch order; used for the progress line). */
  onFileStart?: (file: string) => void;
  /** A file's result, called in file order. */
  onFileResult?: (result: FileResult) => void;
  /**
   * Keep the branches of passing scenarios in the run's result after `onFileResult` (a JSON
   * report prints them). Default true. Without it they are dropped once the file is reported:
   * the other reports read only failures, and 1,000 scenarios' worth of branches held to the end
   * of a run cost more garbage-collector time than the probes that made them.
   */
  keepPassingBranches?: boolean;
}

/** A file's result without the branches of its passing scenarios (their steps stay). */
export function dropPassingBranches(r: FileResult): void {
  for (const s of r.scenarios) {
    if (s.status !== "passed") continue;
    for (const step of s.steps) step.branches = [];
  }
}

export interface RunnerOutcome {
  run: RunResult;
  /** Files not run or not reported because --bail stopped the run. */
  notRun: string[];
}

async function loadDefaultExecutor(): Promise<ExecutorModule> {
  const mod = await import("./executor.js");
  return { executeFile: mod.executeFile, listScenarios: mod.listScenarios };
}

/** Whether --bail stops after this file. */
export function stopsBail(r: FileResult): boolean {
  return r.status === "failed" || r.status === "error";
}

export function computeTotals(files: FileResult[]): RunResult["totals"] {
  const totals = { passed: 0, failed: 0, skipped: 0, errors: 0 };
  for (const f of files) {
    // Each file's input errors are one error test case in every report.
    if (hasErrorDiagnostics(f.diagnostics)) totals.errors++;
    for (const s of f.scenarios) {
      if (s.status === "passed") totals.passed++;
      else if (s.status === "failed") totals.failed++;
      else if (s.status === "skipped") totals.skipped++;
      else totals.errors++;
    }
  }
  return totals;
}

export type RunVerdict = "ok" | "failed" | "input" | "internal";

/**
 * What the run amounts to, for the exit code. An exception inside svcspec (a diagnostic coded
 * "internal", or a scenario in status "error": a step the executor could not carry out) wins
 * over input errors, which win over failed expectations.
 */
export function runVerdict(run: RunResult): RunVerdict {
  const files = run.files;
  if (files.some((f) => f.diagnostics.some((d) => d.code === INTERNAL_CODE) || f.scenarios.some((s) => s.status === "error"))) {
    return "internal";
  }
  if (files.some((f) => hasErrorDiagnostics(f.diagnostics))) return "input";
  if (files.some((f) => f.scenarios.some((s) => s.status === "failed"))) return "failed";
  return "ok";
}

export async function runSpecs(opts: RunnerOptions): Promise<RunnerOutcome> {
  const startedAt = new Date();
  const t0 = nowMs();
  const fileOpts: RunFileOptions = { engine: opts.engine, verbose: opts.verbose, bail: opts.bail, selection: opts.selection };
  const reported: FileResult[] = [];
  let stopped = false;
  let stoppedAt = opts.files.length;

  // Results may arrive in any order; release them strictly in file order.
  const slots: Array<FileResult | null | undefined> = new Array(opts.files.length).fill(undefined);
  let nextToRelease = 0;
  const release = (): void => {
    while (!stopped && nextToRelease < slots.length && slots[nextToRelease] !== undefined) {
      const r = slots[nextToRelease]!;
      nextToRelease++;
      if (r === null) continue;
      reported.push(r);
      opts.onFileResult?.(r);
      if (opts.keepPassingBranches === false) dropPassingBranches(r);
      if (opts.bail && stopsBail(r)) {
        stopped = true;
        stoppedAt = nextToRelease;
      }
    }
  };

  const jobs = Math.max(1, Math.min(opts.jobs, opts.files.length));
  if (jobs <= 1) {
    const exec = opts.executor ?? (await loadDefaultExecutor());
    for (let i = 0; i < opts.files.length && !stopped; i++) {
      const file = opts.files[i]!;
      opts.onFileStart?.(file);
      slots[i] = await runFile(exec, file, fileOpts);
      release();
      // Let timers (the progress line) and signals in between files: executing is CPU-bound.
      await new Promise<void>((r) => setImmediate(r));
    }
  } else {
    await runOnWorkers(opts, fileOpts, jobs, slots, release, () => stopped);
  }

  const durationMs = nowMs() - t0;
  return {
    run: { version: 1, startedAt: startedAt.toISOString(), durationMs, files: reported, totals: computeTotals(reported) },
    notRun: stopped ? opts.files.slice(stoppedAt) : [],
  };
}

interface WorkerEntry {
  script: string | URL;
  eval: boolean;
  execArgv: string[];
}

function defaultWorkerEntry(): WorkerEntry {
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith(".ts")) return { script: new URL("./worker.js", import.meta.url), eval: false, execArgv: [] };
  // Running from source (tsx, vitest): the worker is worker.ts, loaded after registering tsx's
  // loader inside the worker (`--import tsx` in execArgv is ignored under some parents, vitest's
  // among them).
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./worker.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return { script: code, eval: true, execArgv: [] };
}

async function runOnWorkers(
  opts: RunnerOptions,
  fileOpts: RunFileOptions,
  jobs: number,
  slots: Array<FileResult | null | undefined>,
  release: () => void,
  isStopped: () => boolean,
): Promise<void> {
  const entry: WorkerEntry = opts.worker?.script
    ? { script: opts.worker.script, eval: false, execArgv: opts.worker.execArgv ?? [] }
    : defaultWorkerEntry();
  const setup: WorkerSetup = { executorModule: opts.worker?.executorModule ? pathToFileURL(opts.worker.executorModule).href : undefined };

  let next = 0;
  const workers = new Set<Worker>();

  await new Promise<void>((resolveAll) => {
    let active = 0;
    const finishIfDone = (): void => {
      if (active === 0 && (isStopped() || next >= opts.files.length)) resolveAll();
    };

    const spawn = (): void => {
      const worker = new Worker(entry.script, { eval: entry.eval, workerData: setup, execArgv: entry.execArgv, stdout: false, stderr: false });
      workers.add(worker);
      let current: number | null = null;
      let exited = false;

      const dispatch = (): void => {
        if (isStopped() || next >= opts.files.length) {
          current = null;
          workers.delete(worker);
          void worker.terminate();
          return;
        }
        current = next++;
        active++;
        opts.onFileStart?.(opts.files[current]!);
        const req: WorkerRequest = { index: current, file: opts.files[current]!, options: fileOpts };
        worker.postMessage(req);
      };

      const settle = (index: number, result: FileResult | null): void => {
        slots[index] = result;
        active--;
        release();
      };

      worker.on("message", (msg: WorkerReply) => {
        if (current === null || msg.index !== current) return;
        const index = current;
        current = null;
        settle(index, msg.result);
        if (isStopped()) {
          // --bail: whatever the other workers are running comes after the failure in file order
          // and will be dropped; stop them now rather than wait.
          for (const w of workers) if (w !== worker) void w.terminate();
        }
        dispatch();
        finishIfDone();
      });

      const onCrash = (err: unknown): void => {
        if (exited) return;
        exited = true;
        workers.delete(worker);
        if (current !== null) {
          // The worker died under a file: that file is an internal error; carry on with a fresh worker.
          const index = current;
          current = null;
          settle(index, internalErrorResult(opts.files[index]!, err));
          if (!isStopped() && next < opts.files.length) spawn();
        }
        finishIfDone();
      };
      worker.on("error", onCrash);
      worker.on("exit", (code) => {
        if (current !== null) onCrash(new Error(`worker thread exited with code ${code}`));
      });

      dispatch();
    };

    for (let i = 0; i < jobs; i++) spawn();
    finishIfDone();
  });

  await Promise.all([...workers].map((w) => w.terminate()));
}
