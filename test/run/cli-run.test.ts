import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import * as fake from "./fake-executor.js";
import { FAKE_EXECUTOR, makeTree, MIXED } from "./helpers.js";
import { registerRun } from "../../src/cli/cmd-run.js";

let tree: ReturnType<typeof makeTree>;
const originalCwd = process.cwd();
beforeAll(() => {
  tree = makeTree({
    ...MIXED,
    "ok/one.svcspec": 'scenario "one" tags smoke pass\nscenario "two" pass\n',
    "ok/two.svcspec": 'scenario "three" tags slow pass\n',
    "failing/f.svcspec": 'scenario "good" pass\nscenario "bad" fail\nscenario "after" pass\n',
    "input/i.svcspec": "input-error 1:1 nope\n",
    "empty-dir/readme.txt": "no specs here\n",
  });
  // Spec paths are given relative to the working directory, as a user would type them, and the
  // executor opens them from there.
  process.chdir(tree.dir);
});
afterAll(() => {
  process.chdir(originalCwd);
  tree.cleanup();
});

interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function svcspec(args: string[], opts: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Captured> {
  const cap: Captured = { code: null, stdout: "", stderr: "" };
  const program = new Command();
  program.exitOverride((err) => {
    throw Object.assign(new Error(err.message), { exitCode: 2 });
  });
  program.configureOutput({ writeErr: (s) => (cap.stderr += s), writeOut: (s) => (cap.stdout += s) });
  registerRun(program, {
    stdout: { write: (s: string) => (cap.stdout += s), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => (cap.stderr += s), isTTY: false },
    env: opts.env ?? {},
    cwd: tree.dir,
    executor: fake,
    worker: { executorModule: FAKE_EXECUTOR },
    setExitCode: (c) => (cap.code = c),
  });
  try {
    await program.parseAsync(["node", "svcspec", "run", ...args]);
  } catch (e) {
    cap.code = (e as { exitCode?: number }).exitCode ?? 3;
  }
  return cap;
}

describe("svcspec run: exit codes", () => {
  it("0 when everything passed", async () => {
    const r = await svcspec(["ok"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("3 passed, 0 failed\n");
    expect(r.stdout).toContain("ok/one.svcspec\n  ✓ one [smoke]\n  ✓ two\n");
  });

  it("1 when a scenario failed", async () => {
    expect((await svcspec(["ok", "failing"])).code).toBe(1);
  });

  it("2 for input errors, and the other files still run", async () => {
    const r = await svcspec(["ok", "input", "failing"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("5 passed, 1 failed, 1 errors");
  });

  it("3 for an exception in the executor, reported as an error, the others still run", async () => {
    const r = await svcspec(["d-throw.svcspec", "ok"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("internal error: engine exploded");
    expect(r.stdout).toContain("3 passed, 0 failed, 1 errors");
    expect(r.stdout).not.toMatch(/\n\s+at .*\.ts:\d+/); // no stack trace
  });

  it("2 for a path that matches nothing, with a clear message, the rest still runs", async () => {
    const r = await svcspec(["ok", "nope.svcspec", "empty-dir", "glob-*.svcspec"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("svcspec run: nope.svcspec: no such file or directory");
    expect(r.stderr).toContain("svcspec run: empty-dir: no .svcspec files in this directory");
    expect(r.stderr).toContain("svcspec run: glob-*.svcspec: the pattern matches no file");
    expect(r.stdout).toContain("3 passed, 0 failed");
  });

  it("2 for usage errors: bad regex, bad reporter, bad shard, bad jobs, bad engine", async () => {
    for (const args of [
      ["--grep", "(unclosed"],
      ["--reporter", "html"],
      ["--reporter", "junit"],
      ["--shard", "3/2"],
      ["--shard", "x"],
      ["--jobs", "0"],
      ["--engine", "qemu"],
      ["--reporter", "spec", "--reporter", "dot"],
    ]) {
      const r = await svcspec(["ok", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).not.toContain("passed");
    }
    expect((await svcspec(["ok", "--grep", "(unclosed"])).stderr).toContain("--grep: not a valid regular expression");
  });

  it("runs scenarios/ by default; globs and directories expand sorted", async () => {
    expect((await svcspec([])).stderr).toContain("scenarios/: no such file or directory");
    const r = await svcspec(["ok/*.svcspec"]);
    expect(r.stdout.indexOf("ok/one.svcspec")).toBeLessThan(r.stdout.indexOf("ok/two.svcspec"));
  });
});

describe("svcspec run: options", () => {
  it("--grep and --tag select scenarios; the others show as skipped", async () => {
    const r = await svcspec(["ok", "--grep", "^t"]);
    expect(r.stdout).toContain("2 passed, 0 failed, 1 skipped");
    const t = await svcspec(["ok", "--tag", "smoke", "--tag", "slow"]);
    expect(t.stdout).toContain("2 passed, 0 failed, 1 skipped");
  });

  it("--bail stops at the first failing scenario", async () => {
    const r = await svcspec(["failing", "ok", "--bail"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("1 passed, 1 failed, 1 skipped");
    expect(r.stdout).toContain("(--bail: 2 files not run)");
  });

  it("--jobs gives the same console output as a serial run, except timing", async () => {
    const strip = (s: string) => s.replace(/\d+ files? in .*\n/, "");
    const serial = await svcspec(["."]);
    const parallel = await svcspec([".", "--jobs", "3"]);
    expect(strip(parallel.stdout)).toBe(strip(serial.stdout));
    expect(parallel.code).toBe(serial.code);
  });

  it("several reporters at once: spec on the terminal, JUnit, JSON and TAP to files", async () => {
    const r = await svcspec(["ok", "failing", "--reporter", "spec", "--reporter", "junit:out/junit.xml", "--reporter", "json:out/r.json", "--reporter", "tap:out/r.tap"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("5 passed, 1 failed\n");
    expect(readFileSync(join(tree.dir, "out/junit.xml"), "utf8")).toContain("<testsuites>");
    const json = JSON.parse(readFileSync(join(tree.dir, "out/r.json"), "utf8"));
    expect(json.totals).toEqual({ passed: 5, failed: 1, skipped: 0, errors: 0 });
    expect(readFileSync(join(tree.dir, "out/r.tap"), "utf8")).toMatch(/^TAP version 14\n1\.\.6\n/);
  });

  it("--engine is passed to the executor (default sim)", async () => {
    for (const [args, engine] of [[[], "sim"], [["--engine", "both"], "both"], [["--engine", "kernel"], "kernel"]] as const) {
      await svcspec(["ok", ...args, "--reporter", "json:out/engine.json"]);
      const json = JSON.parse(readFileSync(join(tree.dir, "out/engine.json"), "utf8"));
      expect(json.files[0].scenarios[0].engine).toBe(engine);
    }
  });

  it("tap without a path goes to stdout alone; the console reporter moves to stderr", async () => {
    const r = await svcspec(["ok", "--reporter", "tap", "--reporter", "spec"]);
    expect(r.stdout.startsWith("TAP version 14\n1..3\nok 1 - ok/one.svcspec: one\n")).toBe(true);
    expect(r.stdout).not.toContain("✓");
    expect(r.stderr).toContain("✓ one");
    const tapOnly = await svcspec(["ok", "--reporter", "tap"]);
    expect(tapOnly.stderr).toBe("");
  });

  it("colours only on a TTY, and never with --no-color or NO_COLOR", async () => {
    expect((await svcspec(["ok"], { tty: true })).stdout).toMatch(/\x1b\[/);
    expect((await svcspec(["ok"], { tty: false })).stdout).not.toMatch(/\x1b\[/);
    expect((await svcspec(["ok", "--no-color"], { tty: true })).stdout).not.toMatch(/\x1b\[/);
    expect((await svcspec(["ok"], { tty: true, env: { NO_COLOR: "1" } })).stdout).not.toMatch(/\x1b\[/);
  });

  it("--quiet prints only failures and the summary; --reporter dot prints one char per scenario", async () => {
    const q = await svcspec(["ok", "failing", "--quiet"]);
    expect(q.stdout).not.toContain("✓");
    expect(q.stdout).toContain("✗ bad");
    const d = await svcspec(["ok", "failing", "--reporter", "dot"]);
    expect(d.stdout.split("\n")[0]).toBe("....F.");
  });

  it("--shard: the shards' reports together hold every scenario exactly once", async () => {
    const titles: string[] = [];
    for (const i of [1, 2, 3]) {
      const r = await svcspec([".", "--shard", `${i}/3`, "--reporter", `json:out/shard-${i}.json`]);
      const json = JSON.parse(readFileSync(join(tree.dir, `out/shard-${i}.json`), "utf8"));
      for (const f of json.files) for (const s of f.scenarios) titles.push(`${f.file}: ${s.title}`);
      expect([0, 1, 2, 3]).toContain(r.code);
    }
    const all = JSON.parse(
      (await svcspec([".", "--reporter", "json:out/all.json"]), readFileSync(join(tree.dir, "out/all.json"), "utf8")),
    );
    const expected = all.files.flatMap((f: { file: string; scenarios: Array<{ title: string }> }) => f.scenarios.map((s) => `${f.file}: ${s.title}`));
    expect(titles.sort()).toEqual(expected.sort());
    expect(existsSync(join(tree.dir, "out/shard-1.json"))).toBe(true);
  });
});
