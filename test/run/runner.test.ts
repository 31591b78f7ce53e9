import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import * as fake from "./fake-executor.js";
import { FAKE_EXECUTOR, makeTree, MIXED, verdictsOf } from "./helpers.js";
import { runSpecs, runVerdict, type RunnerOptions } from "../../src/run/runner.js";
import { resolveSpecPaths } from "../../src/run/paths.js";

let tree: ReturnType<typeof makeTree>;
let files: string[];

beforeAll(async () => {
  tree = makeTree(MIXED);
  files = (await resolveSpecPaths([tree.dir], tree.dir)).files.map((f) => join(tree.dir, f));
});
afterAll(() => tree.cleanup());

function opts(over: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    files,
    engine: "sim",
    selection: { tags: [] },
    bail: false,
    jobs: 1,
    verbose: false,
    executor: fake,
    worker: { executorModule: FAKE_EXECUTOR },
    ...over,
  };
}

describe("runSpecs", () => {
  it("runs every file, keeps going past input errors and exceptions, and totals the scenarios", async () => {
    const { run, notRun } = await runSpecs(opts());
    expect(notRun).toEqual([]);
    expect(run.files.map((f) => [f.file.slice(tree.dir.length + 1), f.status])).toEqual([
      ["a-pass.svcspec", "passed"],
      ["b-fail.svcspec", "failed"],
      ["c-input.svcspec", "error"],
      ["d-throw.svcspec", "error"],
      ["sub/e-more.svcspec", "failed"],
    ]);
    // c: one input-error case; d: one internal-error case.
    expect(run.totals).toEqual({ passed: 4, failed: 2, skipped: 0, errors: 2 });
    const internal = run.files[3]!.diagnostics[0]!;
    expect(internal.code).toBe("internal");
    expect(internal.message).toBe("internal error: engine exploded");
    expect(runVerdict(run)).toBe("internal");
  });

  it("drops passing scenarios' branches after reporting them when asked, and keeps failures whole", async () => {
    const seen: number[] = [];
    const branchCounts = (f: { scenarios: Array<{ status: string; steps: Array<{ branches: unknown[] }> }> }) =>
      f.scenarios.map((s) => `${s.status}:${s.steps.map((st) => st.branches.length).join(",")}`);
    const slim = await runSpecs(
      opts({
        files: files.filter((f) => f.endsWith("b-fail.svcspec")),
        keepPassingBranches: false,
        onFileResult: (r) => r.scenarios.forEach((s) => s.steps.forEach((st) => seen.push(st.branches.length))),
      }),
    );
    // The reporter saw every branch; the run's result keeps only the failing scenario's.
    expect(seen.every((n) => n > 0)).toBe(true);
    const after = branchCounts(slim.run.files[0]!);
    expect(after.some((c) => c.startsWith("passed:") && /^passed:0(,0)*$/.test(c))).toBe(true);
    expect(after.filter((c) => c.startsWith("failed:")).every((c) => !/:0(,|$)/.test(c))).toBe(true);
    const full = await runSpecs(opts({ files: files.filter((f) => f.endsWith("b-fail.svcspec")) }));
    expect(branchCounts(full.run.files[0]!).every((c) => !/:0(,|$)/.test(c))).toBe(true);
  });

  it("classifies runs for the exit code: failed < input < internal", async () => {
    const only = (names: string[]) => files.filter((f) => names.some((n) => f.endsWith(n)));
    expect(runVerdict((await runSpecs(opts({ files: only(["a-pass.svcspec"]) }))).run)).toBe("ok");
    expect(runVerdict((await runSpecs(opts({ files: only(["a-pass.svcspec", "b-fail.svcspec"]) }))).run)).toBe("failed");
    expect(runVerdict((await runSpecs(opts({ files: only(["b-fail.svcspec", "c-input.svcspec"]) }))).run)).toBe("input");
  });

  it("--grep and --tag: unselected scenarios are reported as skipped", async () => {
    const { run } = await runSpecs(opts({ selection: { tags: [], grep: { source: "answers$", flags: "" } } }));
    const a = run.files[0]!;
    expect(a.scenarios.map((s) => s.status)).toEqual(["passed", "passed"]);
    expect(run.files[1]!.scenarios.map((s) => s.status)).toEqual(["skipped", "skipped"]);
    expect(run.files[1]!.status).toBe("skipped");

    const tagged = (await runSpecs(opts({ selection: { tags: ["smoke", "dns"] } }))).run;
    const ran = tagged.files.flatMap((f) => f.scenarios.filter((s) => s.status !== "skipped").map((s) => s.title));
    expect(ran).toEqual(["nodeport answers", "reply comes from node2", 'udp & <dns> "quoted"']);
  });

  it("--bail stops after the first file that failed, in file order", async () => {
    const { run, notRun } = await runSpecs(opts({ bail: true }));
    expect(run.files.map((f) => f.status)).toEqual(["passed", "failed"]);
    expect(run.files[1]!.scenarios.map((s) => s.status)).toEqual(["failed", "skipped"]);
    expect(notRun.map((f) => f.slice(tree.dir.length + 1))).toEqual(["c-input.svcspec", "d-throw.svcspec", "sub/e-more.svcspec"]);
  });

  it("calls onFileResult in file order", async () => {
    const seen: string[] = [];
    await runSpecs(opts({ jobs: 3, onFileResult: (r) => seen.push(r.file) }));
    expect(seen).toEqual(files);
  });
});

describe("runSpecs --jobs (worker threads with the fake executor)", () => {
  it("gives the same verdicts, in the same order, as a serial run", async () => {
    const serial = await runSpecs(opts());
    for (const jobs of [2, 4, 8]) {
      const parallel = await runSpecs(opts({ jobs }));
      expect(verdictsOf(parallel.run)).toEqual(verdictsOf(serial.run));
      expect(parallel.run.totals).toEqual(serial.run.totals);
    }
  });

  it("with --bail gives the same verdicts as a serial --bail run", async () => {
    const serial = await runSpecs(opts({ bail: true }));
    const parallel = await runSpecs(opts({ bail: true, jobs: 4 }));
    expect(verdictsOf(parallel.run)).toEqual(verdictsOf(serial.run));
    expect(parallel.notRun).toEqual(serial.notRun);
  });

  it("with a shard, grep and tags gives the same verdicts as a serial run", async () => {
    const selection = { tags: ["smoke", "dns"], grep: { source: "o", flags: "i" }, shard: { index: 1, total: 2 } };
    const serial = await runSpecs(opts({ selection }));
    const parallel = await runSpecs(opts({ selection, jobs: 3 }));
    expect(verdictsOf(parallel.run)).toEqual(verdictsOf(serial.run));
  });

  it("reports a worker whose executor module cannot load as internal errors, and finishes", async () => {
    const { run } = await runSpecs(opts({ jobs: 2, worker: { executorModule: join(tree.dir, "missing-executor.mjs") } }));
    expect(run.files).toHaveLength(files.length);
    expect(run.files.every((f) => f.diagnostics[0]?.code === "internal")).toBe(true);
    expect(runVerdict(run)).toBe("internal");
  });
});
