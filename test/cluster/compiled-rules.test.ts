// The simulator runs each node's kube-proxy rules compiled from the very lines its iptables-save
// text was printed from (loadSavedTables), not parsed back from the text. That must be exactly
// what loading the shown text gives: the same tables, chains, policies and rules (text, target,
// dispatch keys, hook checks, matchers), over the upstream fixtures and every lesson's worlds.
// Chains whose lines were compiled before are shared between loads: still equal to a fresh load,
// but for the source positions of their rules, which a failing load gets right by loading again.

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { ClusterNodeTables, nodeTables, printSaved, type SavedTable } from "../../src/kube/proxier/index.js";
import { RulesetParseError, loadRuleset, loadSavedTables, runTable, type Ruleset } from "../../src/net/netfilter/index.js";
import { parse } from "../../src/lang/parse.js";
import type * as ast from "../../src/lang/ast.js";
import { buildWorld } from "../../src/world/build.js";
import { freshRuntime } from "../../src/kube/runtime.js";
import { ControlPlane } from "../../src/cluster/control-plane.js";
import { simEngine, type EngineFactory } from "../../src/run/engine.js";
import { runScenario, type ScenarioContext } from "../../src/run/scenario.js";
import { hostRuleset } from "../../src/net/sim/index.js";
import { ctx, describeLoad, pkt } from "../net/netfilter/helpers.js";
import { upstreamFixtures } from "../kube/upstream-fixtures.js";

/** loadSavedTables by a fresh copy of the module: nothing compiled before, nothing shared. */
async function freshSavedLoad(tables: readonly SavedTable[], file: string): Promise<Ruleset> {
  vi.resetModules();
  const fresh = await import("../../src/net/netfilter/restore.js");
  return fresh.loadSavedTables(tables, file);
}

const fixtures = upstreamFixtures();

describe("a node's rules compiled from the lines of its text", () => {
  it("over the upstream fixtures: the text is nodeTables, and its load is the compiled tables", async () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    for (const f of fixtures) {
      for (const cfg of [f.proxier, { ...f.proxier, nodeName: "node-without-endpoints" }, { ...f.proxier, masqueradeAll: !f.proxier.masqueradeAll }]) {
        const saved = new ClusterNodeTables(f.services, f.slices).savedForNode(cfg);
        expect(saved.text).toBe(nodeTables(f.services, f.slices, cfg));
        expect(printSaved(saved.tables)).toBe(saved.text);
        const loaded = describeLoad(loadRuleset(saved.text, "n iptables"), true);
        // Nothing shared: positions and all.
        expect(describeLoad(await freshSavedLoad(saved.tables, "n iptables"), true), f.name).toEqual(loaded);
        // Compiled twice in one module (the second time from shared chains): equal but for positions.
        loadSavedTables(saved.tables, "first iptables");
        expect(describeLoad(loadSavedTables(saved.tables, "n iptables"), false), f.name).toEqual(describeLoad(loadRuleset(saved.text, "n iptables"), false));
      }
    }
  });

  it("over the lessons, every scenario's topology: what the simulator runs is the load of the shown text", async () => {
    const files = [...readdirSync("scenarios").map((f) => `scenarios/${f}`), ...readdirSync("examples/failing").map((f) => `examples/failing/${f}`)].filter((f) => f.endsWith(".svcspec"));
    let compared = 0;
    let provided = 0;
    const checking: EngineFactory = async (topology, opts) => {
      for (const spec of topology.hosts) {
        if (spec.iptables === null) continue;
        expect(describeLoad(hostRuleset(spec)!, false), spec.name).toEqual(describeLoad(loadRuleset(spec.iptables, `${spec.name} iptables`), false));
        compared++;
        // A copy of the spec has no ruleset provided: its text is loaded (and remembered) apart.
        if (hostRuleset(spec) !== hostRuleset({ ...spec })) provided++;
      }
      return simEngine(topology, opts);
    };
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const { ast: spec } = parse(text, file);
      const built = buildWorld(spec, { file, readFile: (f) => readFileSync(f, "utf8") });
      if (!built.world) continue;
      const lines = text.split("\n");
      const sctx: ScenarioContext = {
        base: built.world,
        runtime: freshRuntime(),
        lines,
        engine: "sim",
        engines: { sim: checking },
        verbose: false,
        change: { file, readFile: (f) => readFileSync(f, "utf8"), lines },
      };
      sctx.baseControlPlane = new ControlPlane(sctx.base, sctx.runtime);
      sctx.derived = new Map();
      for (const item of spec.items) if (item.kind === "scenario") await runScenario(item as ast.ScenarioBlock, sctx);
    }
    expect(compared).toBeGreaterThan(50);
    expect(provided).toBeGreaterThan(50);
  });
});

describe("chains shared between loads of saved lines", () => {
  const table = (name: "filter" | "nat", chains: Array<[string, string[]]>): SavedTable => ({
    name,
    chains: [
      ...(name === "nat" ? ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] : ["INPUT", "FORWARD", "OUTPUT"]).map((b) => ({
        name: b,
        decl: `:${b} ACCEPT [0:0]`,
        rules: chains.find(([c]) => c === b)?.[1] ?? [],
      })),
      ...chains
        .filter(([c]) => c === c.toUpperCase() && c.startsWith("KUBE-"))
        .map(([c, rules]) => ({ name: c, decl: `:${c} - [0:0]`, rules })),
    ],
  });
  const failure = (load: () => unknown): unknown => {
    try {
      load();
    } catch (e) {
      if (e instanceof RulesetParseError) return { message: e.message, pos: e.pos };
      throw e;
    }
    throw new Error("expected the load to fail");
  };

  it("a chain with the same lines is the same chain, evaluator caches and all; a changed one is not", () => {
    const svc = ["-A KUBE-SHR-SVC -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j KUBE-SHR-SEP"];
    const a = [table("nat", [["PREROUTING", ["-A PREROUTING -j KUBE-SHR-SVC"]], ["KUBE-SHR-SVC", svc], ["KUBE-SHR-SEP", ["-A KUBE-SHR-SEP -p tcp -j DNAT --to-destination 10.244.1.5:8080"]]])];
    const b = [table("nat", [["PREROUTING", ["-A PREROUTING -j KUBE-SHR-SVC"]], ["KUBE-SHR-SVC", [...svc]], ["KUBE-SHR-SEP", ["-A KUBE-SHR-SEP -p tcp -j DNAT --to-destination 10.244.2.5:8080"]]])];
    const ra = loadSavedTables(a, "a");
    const walk = (rs: Ruleset) => JSON.stringify(runTable(rs, "nat", "PREROUTING", pkt({ dst: "10.96.0.1", dport: 80 }), ctx()).map((x) => JSON.stringify(x)));
    const before = walk(ra);
    const rb = loadSavedTables(b, "b");
    const nat = (rs: Ruleset) => rs.tables.get("nat")!.chains;
    expect(nat(rb).get("KUBE-SHR-SVC")).toBe(nat(ra).get("KUBE-SHR-SVC"));
    expect(nat(rb).get("PREROUTING")).toBe(nat(ra).get("PREROUTING"));
    expect(nat(rb).get("KUBE-SHR-SEP")).not.toBe(nat(ra).get("KUBE-SHR-SEP"));
    expect(walk(rb)).not.toBe(before);
    expect(walk(rb)).toBe(walk(loadRuleset(printSaved(b), "b")));
    expect(walk(loadSavedTables(a, "a2"))).toBe(before);
  });

  it("a table with every line the same is the same table; one with a changed chain shares the rest", () => {
    const sep = (ip: string) => [`-A KUBE-SHT-SEP -p tcp -j DNAT --to-destination ${ip}:8080`];
    const make = (ip: string) => [
      table("filter", [["INPUT", ["-A INPUT -j KUBE-SHT-F"]], ["KUBE-SHT-F", ["-A KUBE-SHT-F -d 10.96.0.9/32 -j REJECT --reject-with icmp-port-unreachable"]]]),
      table("nat", [["PREROUTING", ["-A PREROUTING -j KUBE-SHT-SVC"]], ["KUBE-SHT-SVC", ["-A KUBE-SHT-SVC -j KUBE-SHT-SEP"]], ["KUBE-SHT-SEP", sep(ip)]]),
    ];
    const a = loadSavedTables(make("10.244.1.5"), "a");
    const b = loadSavedTables(make("10.244.2.5"), "b");
    expect(b.tables.get("filter")).toBe(a.tables.get("filter"));
    expect(b.tables.get("nat")).not.toBe(a.tables.get("nat"));
    expect(b.tables.get("nat")!.chains.get("KUBE-SHT-SVC")).toBe(a.tables.get("nat")!.chains.get("KUBE-SHT-SVC"));
    expect(b.tables.get("nat")!.chains.get("KUBE-SHT-SEP")).not.toBe(a.tables.get("nat")!.chains.get("KUBE-SHT-SEP"));
    for (const [rs, tables] of [[a, make("10.244.1.5")], [b, make("10.244.2.5")]] as const) {
      expect(describeLoad(rs, false)).toEqual(describeLoad(loadRuleset(printSaved(tables), "x"), false));
    }
    // Back to the first: its tables again.
    expect(loadSavedTables(make("10.244.1.5"), "c").tables.get("nat")).toBe(a.tables.get("nat"));
  });

  it("a table with other lines than -A lines of its own chains is not shared: its chain lines do not say which chains exist", () => {
    const outcome = (load: () => Ruleset): unknown => {
      try {
        return describeLoad(load(), false);
      } catch (e) {
        if (e instanceof RulesetParseError) return { message: e.message, pos: e.pos };
        throw e;
      }
    };
    // A restore may make a chain with -N among the rules; a later text with the same chain lines
    // but without that -N line has no such chain.
    const one = [table("filter", [["KUBE-SHN-A", ["-A KUBE-SHN-A -j ACCEPT"]], ["KUBE-SHN-B", ["-N KUBE-SHN-NEW"]]])];
    expect(outcome(() => loadSavedTables(one, "one"))).toEqual(outcome(() => loadRuleset(printSaved(one), "one")));
    const two = [table("filter", [["KUBE-SHN-A", ["-A KUBE-SHN-A -j KUBE-SHN-NEW"]], ["KUBE-SHN-B", []]])];
    expect(outcome(() => loadSavedTables(two, "two"))).toEqual(outcome(() => loadRuleset(printSaved(two), "two")));
  });

  it("a line whose target has become a user chain is compiled again", () => {
    // `-j KUBE-SHR-MARK` is an unknown target while no such chain exists: declaring it makes the
    // same line a jump, so the chain is not shared.
    const line = "-A KUBE-SHR-A -j KUBE-SHR-X";
    const one = [table("filter", [["KUBE-SHR-A", [line]], ["KUBE-SHR-X", []]])];
    loadSavedTables(one, "one");
    const two = [table("filter", [["KUBE-SHR-A", [line]], ["KUBE-SHR-X", ["-A KUBE-SHR-X -j ACCEPT"]]])];
    const rs = loadSavedTables(two, "two");
    expect(describeLoad(rs, false)).toEqual(describeLoad(loadRuleset(printSaved(two), "two"), false));
    const notChain = [table("filter", [["KUBE-SHR-B", ["-A KUBE-SHR-B -j MARK --set-xmark 0x1/0x1"]]])];
    const withChain: SavedTable[] = [{ ...notChain[0]!, chains: [...notChain[0]!.chains, { name: "MARK", decl: ":MARK - [0:0]", rules: [] }] }];
    loadSavedTables(notChain, "n");
    expect(failure(() => loadSavedTables(withChain, "w"))).toEqual(failure(() => loadRuleset(printSaved(withChain), "w")));
  });

  it("a load that fails reports the position in its own text, shared chains or not", () => {
    const x = ["-A KUBE-SHR-LX -j KUBE-SHR-LY"];
    const good = [table("nat", [["PREROUTING", ["-A PREROUTING -j KUBE-SHR-LX"]], ["KUBE-SHR-LX", x], ["KUBE-SHR-LY", ["-A KUBE-SHR-LY -j RETURN"]]])];
    loadSavedTables(good, "good");
    // The same KUBE-SHR-LX, one line further down, now in a loop.
    const bad = [
      table("nat", [
        ["PREROUTING", ["-A PREROUTING -j KUBE-SHR-LX", "-A PREROUTING -j RETURN"]],
        ["KUBE-SHR-LX", x],
        ["KUBE-SHR-LY", ["-A KUBE-SHR-LY -j KUBE-SHR-LX"]],
      ]),
    ];
    expect(failure(() => loadSavedTables(bad, "bad"))).toEqual(failure(() => loadRuleset(printSaved(bad), "bad")));
    // And a hook-restricted target reached from a hook that refuses it, through a shared chain.
    const dnat = ["-A KUBE-SHR-D -p tcp -j DNAT --to-destination 10.0.0.1:80"];
    loadSavedTables([table("nat", [["PREROUTING", ["-A PREROUTING -j KUBE-SHR-D"]], ["KUBE-SHR-D", dnat]])], "ok");
    const refused = [table("nat", [["POSTROUTING", ["-A POSTROUTING -j KUBE-SHR-D"]], ["KUBE-SHR-D", dnat]])];
    expect(failure(() => loadSavedTables(refused, "refused"))).toEqual(failure(() => loadRuleset(printSaved(refused), "refused")));
  });
});
