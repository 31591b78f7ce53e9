// A repeated load of one text (its lines come from iptables-restore's compiled-line cache) must
// be what a fresh load of that text gives — same chains, rules, targets and keys, each rule at
// its own position in *its* file — and must share nothing mutable with the earlier load.

import { describe, expect, it, vi } from "vitest";
import { RulesetParseError, applyRestore, loadRuleset, printSave, runTable, type Ruleset } from "../../../src/net/netfilter/index.js";
import { ctx, describeLoad, pkt } from "./helpers.js";

const TEXT = [
  "*filter",
  ":INPUT ACCEPT [0:0]",
  ":FORWARD DROP [3:180]",
  ":OUTPUT ACCEPT [0:0]",
  ":KUBE-LDC-SERVICES - [0:0]",
  "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-LDC-SERVICES",
  "-A KUBE-LDC-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment \"default/web:http has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable",
  "COMMIT",
  "*nat",
  ":PREROUTING ACCEPT [0:0]",
  ":INPUT ACCEPT [0:0]",
  ":OUTPUT ACCEPT [0:0]",
  ":POSTROUTING ACCEPT [0:0]",
  ":KUBE-LDC-SVC - [0:0]",
  ":KUBE-LDC-SEP - [0:0]",
  "-A PREROUTING -j KUBE-LDC-SVC",
  "-A OUTPUT -j KUBE-LDC-SVC",
  // One line, two rules (an address list expands): they share one source position.
  "-A KUBE-LDC-SVC -s 10.1.0.1/32,10.1.0.2/32 -d 10.96.0.11/32 -p tcp -m tcp --dport 80 -j KUBE-LDC-SEP",
  "-A KUBE-LDC-SEP -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080",
  "COMMIT",
  "",
].join("\n");

/** A load by a fresh copy of the module: nothing remembered from earlier loads. */
async function freshLoad(text: string, file: string): Promise<Ruleset> {
  vi.resetModules();
  const fresh = await import("../../../src/net/netfilter/restore.js");
  return fresh.loadRuleset(text, file);
}

describe("repeated loads of one text", () => {
  it("a repeat equals a fresh load of the same text in its own file", async () => {
    const first = loadRuleset(TEXT, "node-a iptables");
    const again = loadRuleset(TEXT, "node-b iptables");
    expect(describeLoad(again)).toEqual(describeLoad(await freshLoad(TEXT, "node-b iptables")));
    expect(describeLoad(first)).toEqual(describeLoad(await freshLoad(TEXT, "node-a iptables")));
    expect(printSave(again)).toBe(printSave(first));
    const svc = again.tables.get("nat")!.chains.get("KUBE-LDC-SVC")!.rules;
    expect(svc.map((r) => r.src.line)).toEqual([18, 18]);
    expect(svc[0]!.src).toBe(svc[1]!.src);
    expect(svc[0]!.src.file).toBe("node-b iptables");
  });

  it("a repeat without a file name is at <rules>, like a fresh one", () => {
    loadRuleset(TEXT, "named");
    const unnamed = loadRuleset(TEXT);
    for (const t of unnamed.tables.values()) for (const c of t.chains.values()) for (const r of c.rules) expect(r.src.file).toBe("<rules>");
  });

  it("a repeat shares no chain, rule list or rule with the earlier load", () => {
    const a = loadRuleset(TEXT, "a");
    const b = loadRuleset(TEXT, "b");
    for (const [tname, ta] of a.tables) {
      const tb = b.tables.get(tname)!;
      expect(tb).not.toBe(ta);
      for (const [cname, ca] of ta.chains) {
        const cb = tb.chains.get(cname)!;
        expect(cb).not.toBe(ca);
        expect(cb.rules).not.toBe(ca.rules);
        ca.rules.forEach((r, i) => expect(cb.rules[i]).not.toBe(r));
      }
    }
  });

  it("what is done to one load (a restore on top, the evaluator's caches) does not reach another", () => {
    const a = loadRuleset(TEXT, "a");
    const before = describeLoad(a);
    // The evaluator caches its dispatch index and steps on the chains it walks.
    const walk = (rs: Ruleset) => runTable(rs, "filter", "INPUT", pkt({ dst: "10.96.0.10", dport: 80 }), ctx()).map((x) => x.verdict);
    expect(walk(a)).toEqual(walk(loadRuleset(TEXT, "probe")));
    const changed = applyRestore(a, "*filter\n-A KUBE-LDC-SERVICES -j ACCEPT\n-P FORWARD ACCEPT\nCOMMIT\n", { noflush: true });
    expect(changed.tables.get("filter")!.chains.get("KUBE-LDC-SERVICES")!.rules).toHaveLength(2);
    const b = loadRuleset(TEXT, "a");
    expect(describeLoad(a)).toEqual(before);
    expect(describeLoad(b)).toEqual(before);
    expect(b.tables.get("filter")!.chains.get("FORWARD")!.policy).toBe("DROP");
    for (const t of b.tables.values()) for (const c of t.chains.values()) expect(c.index ?? null).toBeNull();
  });

  it("a text that fails is never remembered: every load reports it, in its own file", () => {
    const bad = "*nat\n:KUBE-LDC-LOOP - [0:0]\n-A KUBE-LDC-LOOP -j KUBE-LDC-LOOP\nCOMMIT\n";
    for (const file of ["x.rules", "y.rules"]) {
      let err: unknown;
      try {
        loadRuleset(bad, file);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RulesetParseError);
      expect((err as RulesetParseError).pos.file).toBe(file);
      expect((err as RulesetParseError).pos.line).toBe(3);
    }
  });
});

describe("`:NAME - [0:0]` declarations taken without splitting the line", () => {
  const failure = (text: string): { message: string; line: number; column: number; token: string } => {
    try {
      loadRuleset(text, "d.rules");
    } catch (e) {
      if (e instanceof RulesetParseError) return { message: e.message, line: e.pos.line, column: e.pos.column, token: e.pos.token };
      throw e;
    }
    throw new Error("expected the load to fail");
  };
  // The same declaration spaced differently goes the general way (split into words).
  const generalWay = (decl: string) => decl.replace(" - [0:0]", " -  [0:0]");

  it.each([
    [":ACCEPT - [0:0]"],
    [":-bad - [0:0]"],
    [":!bad - [0:0]"],
    [`:${"C".repeat(29)} - [0:0]`],
  ])("%s fails as it does the general way", (decl) => {
    expect(failure(`*filter\n${decl}\nCOMMIT\n`)).toEqual(failure(`*filter\n${generalWay(decl)}\nCOMMIT\n`));
  });

  it("a chain declared twice fails the same way; without a table too", () => {
    const twice = "*filter\n:KUBE-LDC-TWICE - [0:0]\n:KUBE-LDC-TWICE - [0:0]\nCOMMIT\n";
    expect(failure(twice)).toEqual(failure(generalWay(generalWay(twice))));
    expect(failure(twice).line).toBe(3);
    expect(failure(":KUBE-LDC-NOTABLE - [0:0]\n")).toEqual(failure(generalWay(":KUBE-LDC-NOTABLE - [0:0]\n")));
  });

  it("declares, flushes (with --noflush) and keeps a built-in chain's rules like the general way", () => {
    const base = loadRuleset("*filter\n:KUBE-LDC-F - [0:0]\n-A KUBE-LDC-F -j ACCEPT\n-A INPUT -j KUBE-LDC-F\nCOMMIT\n");
    for (const decl of [":KUBE-LDC-F - [0:0]", ":KUBE-LDC-F -  [0:0]"]) {
      const after = applyRestore(base, `*filter\n${decl}\n:INPUT - [0:0]\nCOMMIT\n`, { noflush: true });
      expect(after.tables.get("filter")!.chains.get("KUBE-LDC-F")!.rules).toHaveLength(0);
      expect(after.tables.get("filter")!.chains.get("INPUT")!.rules).toHaveLength(1);
    }
  });
});
