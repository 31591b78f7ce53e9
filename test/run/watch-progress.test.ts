import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as fake from "./fake-executor.js";
import { makeTree } from "./helpers.js";
import { runCommand, type RunCliOptions } from "../../src/cli/cmd-run.js";
import { createProgress } from "../../src/report/progress.js";

describe("progress line", () => {
  it("never appears when stderr is not a TTY", () => {
    vi.useFakeTimers();
    try {
      let text = "";
      const p = createProgress({ write: (s: string) => (text += s), isTTY: false }, 3);
      p.fileStarted("a.svcspec");
      vi.advanceTimersByTime(5000);
      p.fileDone();
      p.stop();
      expect(text).toBe("");
    } finally {
      vi.useRealTimers();
    }
  });

  it("appears on a TTY only after ~300 ms, is lifted around console output, and is erased at the end", () => {
    vi.useFakeTimers();
    try {
      let err = "";
      let out = "";
      const p = createProgress({ write: (s: string) => (err += s), isTTY: true, columns: 40 }, 3);
      const sink = p.wrap({ write: (s: string) => (out += s) });
      p.fileStarted("scenarios/a.svcspec");
      vi.advanceTimersByTime(299);
      expect(err).toBe("");
      vi.advanceTimersByTime(1);
      expect(err).toBe("\r\x1b[2K[0/3] scenarios/a.svcspec");
      err = "";
      sink.write("a.svcspec\n");
      expect(out).toBe("a.svcspec\n");
      // Erased before the write, drawn again after it.
      expect(err).toBe("\r\x1b[2K\r\x1b[2K[0/3] scenarios/a.svcspec");
      p.fileDone();
      p.fileStarted("scenarios/a-very-long-directory-name/b.svcspec");
      expect(err.endsWith("[1/3] scenarios/a-very-long-directory-…")).toBe(true);
      err = "";
      p.stop();
      expect(err).toBe("\r\x1b[2K");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a short run never draws it", () => {
    vi.useFakeTimers();
    try {
      let err = "";
      const p = createProgress({ write: (s: string) => (err += s), isTTY: true }, 1);
      p.fileStarted("a.svcspec");
      p.fileDone();
      p.stop();
      vi.advanceTimersByTime(1000);
      expect(err).toBe("");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("--watch", () => {
  let tree: ReturnType<typeof makeTree>;
  const originalCwd = process.cwd();
  beforeAll(() => {
    tree = makeTree({
      "a.svcspec": 'apply "svc.yaml"\nscenario "a one" pass\n',
      "b.svcspec": 'scenario "b one" pass\n',
      "svc.yaml": "kind: Service\n",
    });
    // The executor opens spec paths relative to the working directory, as the CLI passes them.
    process.chdir(tree.dir);
  });
  afterAll(() => {
    process.chdir(originalCwd);
    tree.cleanup();
  });

  it("re-runs only the specs whose file or applied YAML changed", async () => {
    let out = "";
    let err = "";
    const controller = new AbortController();
    const opts: RunCliOptions = {
      reporter: ["spec", "json:out.json"],
      tag: [],
      bail: false,
      jobs: "1",
      watch: true,
      quiet: false,
      verbose: false,
      color: false,
      engine: "sim",
    };
    const files = [join(tree.dir, "a.svcspec"), join(tree.dir, "b.svcspec")];
    const done = runCommand(files, opts, {
      stdout: { write: (s: string) => (out += s), isTTY: false },
      stderr: { write: (s: string) => (err += s), isTTY: false },
      env: {},
      cwd: tree.dir,
      executor: fake,
      setExitCode: () => undefined,
      signal: controller.signal,
    });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(cond()).toBe(true);
    };
    await until(() => err.includes("watching 3 files for changes"));
    expect(out).toContain("2 passed, 0 failed");
    out = "";

    // The applied YAML changes: a.svcspec re-runs, b.svcspec does not.
    writeFileSync(join(tree.dir, "svc.yaml"), "kind: Service\nmetadata: {name: x}\n");
    await until(() => out.includes("passed"));
    expect(err).toContain("re-running 1 file");
    expect(out).toContain("a one");
    expect(out).not.toContain("b one");
    out = "";

    // b.svcspec itself changes and now fails; the JSON report still holds both files.
    writeFileSync(join(tree.dir, "b.svcspec"), 'scenario "b one" fail\n');
    await until(() => out.includes("failed"));
    expect(out).toContain("✗ b one");
    controller.abort();
    expect(await done).toBe(1);
    const { readFileSync } = await import("node:fs");
    const json = JSON.parse(readFileSync(join(tree.dir, "out.json"), "utf8"));
    expect(json.files.map((f: { status: string }) => f.status)).toEqual(["passed", "failed"]);
  });
});
