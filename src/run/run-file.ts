// Runs one spec file through an executor, the same way on the main thread and in a worker:
// applies the selection, restricts the result to this shard, and turns an executor exception
// into an "internal" diagnostic so one broken file never stops the others.

import type { EngineName, ExecuteFile, ListScenarios } from "./executor-api.js";
import type { Diagnostic, FileResult, ScenarioResult, Status } from "./result.js";
import { inShard, makeSelect, shardOfFile, type SelectionSpec } from "./selection.js";
import { nowMs } from "./clock.js";

export interface ExecutorModule {
  executeFile: ExecuteFile;
  listScenarios?: ListScenarios;
}

/** What a worker needs to run a file: plain data, so it can be posted to a worker thread. */
export interface RunFileOptions {
  engine: EngineName;
  verbose: boolean;
  bail: boolean;
  selection: SelectionSpec;
}

/** The diagnostic code of an exception from svcspec itself (exit code 3, not 2). */
export const INTERNAL_CODE = "internal";

export function internalErrorResult(file: string, err: unknown, durationMs = 0): FileResult {
  const message = err instanceof Error ? err.message : String(err);
  const notes: string[] = [];
  // A stack trace is for svcspec's developers, not for the person whose spec triggered the bug.
  if (process.env.SVCSPEC_DEBUG && err instanceof Error && err.stack) notes.push(...err.stack.split("\n").slice(1));
  notes.push("this is a bug in svcspec, not in your spec; the other files still ran");
  return {
    file,
    title: null,
    status: "error",
    durationMs,
    scenarios: [],
    diagnostics: [
      {
        severity: "error",
        code: INTERNAL_CODE,
        message: `internal error: ${message}`,
        pos: { file, line: 1, column: 1, endLine: 1, endColumn: 1 },
        notes,
      },
    ],
  };
}

export function hasErrorDiagnostics(diagnostics: Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** A file's status from its parts: error > failed > passed > skipped. */
export function fileStatus(scenarios: ScenarioResult[], diagnostics: Diagnostic[]): Status {
  if (hasErrorDiagnostics(diagnostics) || scenarios.some((s) => s.status === "error")) return "error";
  if (scenarios.some((s) => s.status === "failed")) return "failed";
  if (scenarios.some((s) => s.status === "passed")) return "passed";
  return "skipped";
}

/**
 * Keeps what this shard reports: its own scenarios, and the file's diagnostics only in the one
 * shard the file path hashes to (so N shards report each input error exactly once).
 * Null when nothing of the file belongs to this shard.
 */
export function restrictToShard(file: string, r: FileResult, selection: SelectionSpec): FileResult | null {
  const shard = selection.shard;
  if (!shard) return r;
  const scenarios = r.scenarios.filter((s) => inShard({ file, title: s.title }, shard));
  const diagnostics = shardOfFile(file, shard.total) === shard.index ? r.diagnostics : [];
  if (scenarios.length === 0 && diagnostics.length === 0) return null;
  return { ...r, scenarios, diagnostics, status: fileStatus(scenarios, diagnostics) };
}

/** Runs one file. Null: nothing of this file belongs to this shard (it is not reported). */
export async function runFile(exec: ExecutorModule, file: string, opts: RunFileOptions): Promise<FileResult | null> {
  const started = nowMs();
  const shard = opts.selection.shard;
  try {
    if (shard && exec.listScenarios) {
      // Listing is cheap next to executing: skip files that have nothing in this shard.
      const listing = await exec.listScenarios(file);
      const mine = listing.scenarios.some((s) => inShard({ file, title: s.title }, shard));
      const reportsDiagnostics = listing.diagnostics.length > 0 && shardOfFile(file, shard.total) === shard.index;
      if (!mine && !reportsDiagnostics) return null;
    }
    const result = await exec.executeFile(file, {
      engine: opts.engine,
      select: makeSelect(opts.selection, file),
      verbose: opts.verbose,
      bail: opts.bail,
    });
    return restrictToShard(file, result, opts.selection);
  } catch (err) {
    return restrictToShard(file, internalErrorResult(file, err, nowMs() - started), opts.selection);
  }
}
