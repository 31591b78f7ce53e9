// `svcspec run … | head`: the reader closes the pipe after a few lines. svcspec stops quietly with
// the status of a command SIGPIPE ended (141), never with a stack trace.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("a reader that closes the output early", () => {
  it("ends the run quietly with status 141", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "run", "scenarios", "--verbose", "--no-color"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let first = "";
    child.stdout.once("data", (d: Buffer) => {
      first = d.toString();
      child.stdout.destroy();
    });
    const status = await new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    expect(first).toContain("scenarios/01-clusterip.svcspec");
    expect(stderr).not.toMatch(/Error|at .*\(.*:\d+:\d+\)/);
    expect(status).toBe(141);
  }, 60000);
});
