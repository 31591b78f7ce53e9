// The simulator answers a scenario's sends, resolves and DNS queries synchronously
// (Engine.probeNow), its engine made at once once the simulator is loaded (EngineFactory.now); an
// engine without them takes the asynchronous way for every probe. Both ways must give the same
// steps, byte for byte: the synchronous one is only a shortcut.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "../../src/lang/parse.js";
import type * as ast from "../../src/lang/ast.js";
import { buildWorld } from "../../src/world/build.js";
import { freshRuntime } from "../../src/kube/runtime.js";
import { ControlPlane } from "../../src/cluster/control-plane.js";
import { simEngine, type EngineFactory } from "../../src/run/engine.js";
import { runScenario, type ScenarioContext } from "../../src/run/scenario.js";

/** A lesson with sends, and lessons with resolves, nslookups and sends to DNS names. */
const FILES = ["scenarios/01-clusterip.svcspec", "scenarios/06-externalname.svcspec", "scenarios/08-dns.svcspec", "scenarios/12-namespaces.svcspec"];

/** The simulator engine as an engine that answers only through the asynchronous probe. */
const asyncOnlySim: EngineFactory = async (topology, opts) => {
  // No `now`: every scenario makes its engine the asynchronous way.
  const { probeNow: _dropped, ...engine } = await simEngine(topology, opts);
  return engine;
};

async function runAll(FILE: string, sim: EngineFactory, verbose: boolean): Promise<string> {
  const text = readFileSync(FILE, "utf8");
  const { ast: spec, diagnostics } = parse(text, FILE);
  expect(diagnostics).toEqual([]);
  const built = buildWorld(spec, { file: FILE, readFile: (f) => readFileSync(f, "utf8") });
  const lines = text.split("\n");
  const ctx: ScenarioContext = {
    base: built.world!,
    runtime: freshRuntime(),
    lines,
    engine: "sim",
    engines: { sim },
    verbose,
    change: { file: FILE, readFile: (f) => readFileSync(f, "utf8"), lines },
  };
  ctx.baseControlPlane = new ControlPlane(ctx.base, ctx.runtime);
  ctx.derived = new Map();
  const results = [];
  for (const item of spec.items) if (item.kind === "scenario") results.push(await runScenario(item as ast.ScenarioBlock, ctx));
  return JSON.stringify(results, (k, v) => (k === "durationMs" ? 0 : v));
}

describe("synchronous sends on the simulator", () => {
  it("give the same steps as the asynchronous probe", async () => {
    for (const file of FILES)
      for (const verbose of [false, true]) {
        const now = await runAll(file, simEngine, verbose);
        expect(now).toMatch(/"kind":"(send|resolve|nslookup)"/);
        expect(now, file).toBe(await runAll(file, asyncOnlySim, verbose));
      }
    const dns = await runAll("scenarios/08-dns.svcspec", simEngine, false);
    expect(dns).toContain('"kind":"resolve"');
    expect(dns).toContain('"kind":"nslookup"');
  });
});
