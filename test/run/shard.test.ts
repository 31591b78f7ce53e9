import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { join } from "node:path";
import * as fake from "./fake-executor.js";
import { makeTree } from "./helpers.js";
import { runSpecs } from "../../src/run/runner.js";
import { parseShard, shardOfScenario, stableHash } from "../../src/run/selection.js";

describe("stable hash and shard parsing", () => {
  it("FNV-1a 32 gives the published values (the split must not change between versions)", () => {
    expect(stableHash("")).toBe(0x811c9dc5);
    expect(stableHash("a")).toBe(0xe40c292c);
    expect(stableHash("foobar")).toBe(0xbf9cf968);
  });

  it("a shard key ignores ./ and backslashes", () => {
    expect(shardOfScenario("./scenarios\\a.svcspec", "t", 7)).toBe(shardOfScenario("scenarios/a.svcspec", "t", 7));
  });

  it("parses I/N and refuses the rest", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, total: 4 });
    for (const bad of ["0/4", "5/4", "1/0", "a/b", "1", "-1/2"]) expect(typeof parseShard(bad)).toBe("string");
  });
});

const title = fc.stringMatching(/^[a-z][a-z0-9 .#&<>-]{0,20}$/);
const file = fc.record({
  titles: fc.array(title, { maxLength: 6 }),
  inputError: fc.boolean(),
});

describe("--shard", () => {
  it("N shards together report every scenario and every input error exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 7 }), async (specs, n) => {
        const tree = makeTree(
          Object.fromEntries(
            specs.map((s, i) => [
              `f${i}.svcspec`,
              (s.inputError ? "input-error 1:1 broken\n" : "") + s.titles.map((t, k) => `scenario "${t}" ${k % 2 ? "fail" : "pass"}`).join("\n") + "\n",
            ]),
          ),
        );
        try {
          const files = specs.map((_, i) => join(tree.dir, `f${i}.svcspec`));
          const base = { files, engine: "sim" as const, bail: false, jobs: 1, verbose: false, executor: fake };
          const all = (await runSpecs({ ...base, selection: { tags: [] } })).run;
          const key = (f: string, s: { title: string; pos: { line: number } }) => `${f}#${s.pos.line}:${s.title}`;
          const expected = all.files.flatMap((f) => f.scenarios.map((s) => key(f.file, s))).sort();
          const expectedErrors = all.files.filter((f) => f.diagnostics.length > 0).map((f) => f.file).sort();

          const got: string[] = [];
          const gotErrors: string[] = [];
          let totals = 0;
          for (let i = 1; i <= n; i++) {
            const r = (await runSpecs({ ...base, selection: { tags: [], shard: { index: i, total: n } } })).run;
            for (const f of r.files) {
              got.push(...f.scenarios.map((s) => key(f.file, s)));
              if (f.diagnostics.length > 0) gotErrors.push(f.file);
              // Out-of-shard scenarios are left out of the shard's report, not counted as skipped.
              expect(f.scenarios.every((s) => s.status !== "skipped")).toBe(true);
            }
            totals += r.totals.passed + r.totals.failed + r.totals.errors;
          }
          expect(got.sort()).toEqual(expected);
          expect(gotErrors.sort()).toEqual(expectedErrors);
          expect(totals).toBe(all.totals.passed + all.totals.failed + all.totals.errors);
        } finally {
          tree.cleanup();
        }
      }),
      { numRuns: 40 },
    );
  });
});
