// The seam between the runner (which files, which scenarios, in which worker) and the executor
// (parse, build the world, run each scenario's steps on an engine, judge expectations).
import type { FileResult } from "./result.js";

export type EngineName = "sim" | "kernel" | "both";

export interface ScenarioRef {
  /** The file path as given to the runner (relative to the working directory when possible). */
  file: string;
  title: string;
  tags: string[];
  /** 0-based index of the scenario in its file. */
  index: number;
}

export interface ExecuteOptions {
  engine: EngineName;
  /** Which scenarios to run; the others are reported as skipped. Absent: all. */
  select?: (s: ScenarioRef) => boolean;
  /** Keep traces of passing probes too (--verbose). */
  verbose: boolean;
  /** Stop at the first failing scenario in this file (--bail). */
  bail?: boolean;
}

/** Runs one .svcspec file. Never throws for bad input: input errors come back as diagnostics. */
export type ExecuteFile = (path: string, opts: ExecuteOptions) => Promise<FileResult>;

/** Lists a file's scenarios without running them (for sharding, --grep, --tag). */
export type ListScenarios = (path: string) => Promise<{ scenarios: ScenarioRef[]; diagnostics: FileResult["diagnostics"] }>;
