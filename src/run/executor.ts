// The executor: one .svcspec file → FileResult. Parse, build and validate the world (input
// errors stop the file, not the run), then run each selected scenario on a fresh copy of the
// base world. Implements the seam in executor-api.ts; the runner decides which files, which
// scenarios and which worker.

import { readFileSync } from "node:fs";
import { parse, withoutCR } from "../lang/parse.js";
import type * as ast from "../lang/ast.js";
import type { Diagnostic } from "../lang/diagnostic.js";
import { buildWorld, resolveManifestPath, worldDiagnosticsBesideSyntaxErrors } from "../world/build.js";
import { freshRuntime } from "../kube/runtime.js";
import type { ExecuteFile, ExecuteOptions, ListScenarios, ScenarioRef } from "./executor-api.js";
import type { FileResult, ScenarioResult } from "./result.js";
import { runScenario, type ScenarioContext } from "./scenario.js";
import { ControlPlane } from "../cluster/control-plane.js";
import { kernelEngine, kernelEngineProblem, simEngine } from "./engine.js";
import { nowMs } from "./clock.js";

interface Loaded {
  text: string | null;
  spec: ast.SpecFile | null;
  diagnostics: Diagnostic[];
  inputs: string[];
}

function withSourceLines(ds: Diagnostic[], read: (f: string) => string | null): Diagnostic[] {
  return ds.map((d) => {
    if (d.sourceLine !== undefined) return d;
    const text = read(d.pos.file);
    return text === null ? d : { ...d, sourceLine: text.split("\n")[d.pos.line - 1]?.replace(/\r$/, "") ?? "" };
  });
}

function load(path: string): Loaded {
  const inputs = [path];
  const cache = new Map<string, string | null>();
  const read = (f: string): string | null => {
    if (!cache.has(f)) {
      try {
        cache.set(f, readFileSync(f, "utf8"));
      } catch {
        cache.set(f, null);
      }
    }
    return cache.get(f)!;
  };
  const text = read(path);
  if (text === null) {
    return {
      text: null,
      spec: null,
      inputs,
      diagnostics: [{ severity: "error", code: "file", message: `cannot read \`${path}\``, pos: { file: path, line: 1, column: 1, endLine: 1, endColumn: 1 } }],
    };
  }
  const parsed = parse(text, path);
  return { text, spec: parsed.ast, diagnostics: withSourceLines(parsed.diagnostics, read), inputs };
}

export const listScenarios: ListScenarios = async (path) => {
  const l = load(path);
  const scenarios: ScenarioRef[] = (l.spec?.items ?? [])
    .filter((i): i is ast.ScenarioBlock => i.kind === "scenario")
    .map((s, index) => ({ file: path, title: s.title.value, tags: s.tags.map((t) => t.text), index }));
  return { scenarios, diagnostics: l.diagnostics };
};

const skipped = (sc: ast.ScenarioBlock, engine: ExecuteOptions["engine"]): ScenarioResult => ({
  title: sc.title.value,
  tags: sc.tags.map((t) => t.text),
  pos: sc.pos,
  status: "skipped",
  durationMs: 0,
  steps: [],
  engine,
});

export const executeFile: ExecuteFile = async (path, opts) => {
  const started = nowMs();
  const l = load(path);
  const inputs = [...l.inputs];
  const readFile = (f: string): string => {
    if (!inputs.includes(f)) inputs.push(f);
    return readFileSync(f, "utf8");
  };
  const result = (over: Partial<FileResult>): FileResult => ({
    file: path,
    title: l.spec?.title?.value ?? null,
    status: "passed",
    durationMs: nowMs() - started,
    scenarios: [],
    diagnostics: l.diagnostics,
    inputs,
    ...over,
  });
  const textOf = (f: string): string | null => {
    if (f === path) return l.text;
    try {
      return readFileSync(f === path ? path : f, "utf8");
    } catch {
      return null;
    }
  };
  if (!l.spec || l.text === null) return result({ status: "error" });
  if (l.diagnostics.some((d) => d.severity === "error")) {
    // Syntax errors: the file does not run, but what the world's checks can say without being
    // misled by them is reported in the same pass (see worldDiagnosticsBesideSyntaxErrors).
    const beside = worldDiagnosticsBesideSyntaxErrors(l.spec, l.diagnostics, { file: path, readFile });
    return result({ status: "error", diagnostics: [...l.diagnostics, ...withSourceLines(beside, textOf)] });
  }

  const built = buildWorld(l.spec, { file: path, readFile });
  const diagnostics = [...l.diagnostics, ...withSourceLines(built.diagnostics, textOf)];
  if (!built.world || diagnostics.some((d) => d.severity === "error")) return result({ status: "error", diagnostics });

  if (opts.engine !== "sim") {
    const problem = await kernelEngineProblem();
    if (problem) {
      const pos = { file: path, line: 1, column: 1, endLine: 1, endColumn: 1 };
      return result({ status: "error", diagnostics: [...diagnostics, { severity: "error", code: "engine", message: `--engine ${opts.engine}: ${problem}`, pos }] });
    }
  }
  const lines = l.text.split("\n").map(withoutCR);
  const ctx: ScenarioContext = {
    base: built.world,
    runtime: freshRuntime(),
    lines,
    engine: opts.engine,
    engines: { sim: simEngine, kernel: kernelEngine },
    verbose: opts.verbose,
    change: { file: path, readFile, lines },
  };
  ctx.baseControlPlane = new ControlPlane(ctx.base, ctx.runtime);
  ctx.derived = new Map();
  const scenarios: ScenarioResult[] = [];
  let bailed = false;
  const blocks = l.spec.items.filter((i): i is ast.ScenarioBlock => i.kind === "scenario");
  for (const [index, sc] of blocks.entries()) {
    const ref: ScenarioRef = { file: path, title: sc.title.value, tags: sc.tags.map((t) => t.text), index };
    if (bailed || (opts.select && !opts.select(ref))) {
      scenarios.push(skipped(sc, opts.engine));
      continue;
    }
    const r = await runScenario(sc, ctx);
    scenarios.push(r);
    if (r.status === "failed" && opts.bail) bailed = true;
  }
  const status = scenarios.some((s) => s.status === "failed")
    ? "failed"
    : scenarios.length > 0 && scenarios.every((s) => s.status === "skipped")
      ? "skipped"
      : "passed";
  return result({ status, scenarios, diagnostics });
};

export { resolveManifestPath };
