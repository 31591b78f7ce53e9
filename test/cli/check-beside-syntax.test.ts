// A file with a syntax error still gets the world's own checks in the same pass when they cannot
// be misled by it: a broken statement inside a scenario leaves the declarations whole. A broken
// declaration may have dropped a name everything else uses, so then only the syntax is reported.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkFile } from "../../src/cli/check.js";
import { executeFile } from "../../src/run/executor.js";

const dir = mkdtempSync(join(tmpdir(), "svcspec-check-beside-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const CLUSTER = `cluster {
  node node1 192.168.1.11
  pod web-1 on node1 labels app=web listen tcp/8080
  client laptop 10.244.9.9
}
service web {
  selector app=web
  port http tcp 80 -> 8080
}
`;

const codes = (ds: Array<{ code: string; pos: { line: number }; message: string }>) => ds.map((d) => `${d.pos.line} ${d.code}`);

describe("world checks beside syntax errors", () => {
  const inScenario = write(
    "in-scenario.svcspec",
    `${CLUSTER}scenario "broken" {
  send tcp from laptop to web-1:8080 expext connected
}
scenario "names" {
  send tcp from laptop to web-3:8080 expect connected
}
`,
  );

  it("reports a scenario's syntax error, an unknown name elsewhere and a validation error together", () => {
    const { diagnostics } = checkFile(inScenario);
    expect(codes(diagnostics)).toEqual(["11 parse", "4 validation", "14 unknown-name"]);
    expect(diagnostics[2]!.message).toContain("`web-3`");
  });

  it("says the same in a run, where the file is an input error", async () => {
    const r = await executeFile(inScenario, { engine: "sim", verbose: false });
    expect(r.status).toBe("error");
    expect(codes(r.diagnostics)).toEqual(["11 parse", "4 validation", "14 unknown-name"]);
    expect(r.diagnostics[2]!.sourceLine).toBe("  send tcp from laptop to web-3:8080 expect connected");
  });

  it("reports only the syntax when a declaration is broken (its names may be what the rest uses)", async () => {
    const broken = write(
      "in-cluster.svcspec",
      `${CLUSTER.replace("pod web-1 on node1 labels", "pod web-1 on node1 labelz")}scenario "names" {
  send tcp from laptop to web-3:8080 expect connected
}
`,
    );
    expect(codes(checkFile(broken).diagnostics)).toEqual(["3 parse"]);
    expect(codes((await executeFile(broken, { engine: "sim", verbose: false })).diagnostics)).toEqual(["3 parse"]);
  });
});
