// Fixture trees of fake spec files (see fake-executor.ts) in a temporary directory.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileResult, RunResult } from "../../src/run/result.js";

export const FAKE_EXECUTOR = fileURLToPath(new URL("./fake-executor.ts", import.meta.url));

export function makeTree(files: Record<string, string>): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "svcspec-run-"));
  for (const [name, text] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The mixed suite most tests use: passes, failures, skips (by --grep), input errors, an exception. */
export const MIXED: Record<string, string> = {
  "a-pass.svcspec": 'title "all good"\nscenario "nodeport answers" tags smoke pass\nscenario "clusterip answers" pass\n',
  "b-fail.svcspec":
    'title "SNAT story"\ndelay 15\nscenario "reply comes from node2" tags smoke fail\nscenario "local policy keeps source" pass\n',
  "c-input.svcspec": 'title "typo"\nsend tcp from laptop to nod2:8080\ninput-error 2:26 unknown host `nod2` | did you mean `node2`?\nscenario "never runs" pass\n',
  "d-throw.svcspec": 'throw engine exploded\nscenario "x" pass\n',
  "sub/e-more.svcspec": 'delay 5\nscenario "udp & <dns> \"quoted\"" tags dns pass\nscenario "hairpin # not a comment" fail\n',
};

/** A run without its clock readings, for comparing two runs. */
export function verdictsOf(run: RunResult): unknown {
  return run.files.map((f: FileResult) => ({
    file: f.file,
    status: f.status,
    diagnostics: f.diagnostics.map((d) => `${d.severity} ${d.code} ${d.message}`),
    scenarios: f.scenarios.map((s) => `${s.status} ${s.title}`),
  }));
}
