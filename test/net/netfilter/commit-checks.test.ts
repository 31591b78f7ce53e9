// The checks at COMMIT that need the whole table: no jump loops, and hook-restricted targets
// (DNAT, SNAT, MASQUERADE) reached only from their hooks. The loader finds the hooks each chain
// is reached from in one pass over a topological order; here random tables are checked against
// the plain definition: a chain is reached from a hook when a path of jumps leads to it from
// that hook's built-in chain.

import { describe, expect, it } from "vitest";
import { RulesetParseError, loadRuleset } from "../../../src/net/netfilter/index.js";

const HOOKS = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"] as const;
const ALLOWED: Record<string, readonly string[]> = {
  "DNAT --to-destination 10.0.0.1": ["PREROUTING", "OUTPUT"],
  "SNAT --to-source 10.0.0.2": ["POSTROUTING", "INPUT"],
  MASQUERADE: ["POSTROUTING"],
  RETURN: [...HOOKS],
};

/** Seeded xorshift: the same tables on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Line {
  chain: string;
  jump?: string;
  target?: string;
}

function randomTable(r: () => number, loops: boolean): Line[] {
  const users = Array.from({ length: 2 + Math.floor(r() * 8) }, (_, i) => `C${i}`);
  const lines: Line[] = [];
  const from = [...HOOKS, ...users];
  const count = 3 + Math.floor(r() * 20);
  for (let k = 0; k < count; k++) {
    const chain = from[Math.floor(r() * from.length)]!;
    if (r() < 0.6) {
      // Jumps go to a later user chain (no loops), unless loops are asked for.
      const after = users.filter((u) => loops || !users.includes(chain) || u > chain);
      if (after.length > 0) {
        lines.push({ chain, jump: after[Math.floor(r() * after.length)]! });
        continue;
      }
    }
    const targets = Object.keys(ALLOWED);
    lines.push({ chain, target: targets[Math.floor(r() * targets.length)]! });
  }
  return lines;
}

function text(lines: Line[]): string {
  const users = [...new Set(lines.flatMap((l) => [l.chain, l.jump ?? ""]).filter((c) => c.startsWith("C")))].sort();
  const decl = users.map((u) => `:${u} - [0:0]`);
  const rules = lines.map((l) => `-A ${l.chain} ${l.jump ? `-j ${l.jump}` : `-p tcp -j ${l.target}`}`);
  return ["*nat", ...decl, ...rules, "COMMIT", ""].join("\n");
}

/** What the kernel refuses, by definition: a loop, else the first rule (in iptables-save order) reached from a hook its target is not valid in. */
function expected(lines: Line[]): "loop" | { line: number; from: string[] } | null {
  const edges = new Map<string, string[]>();
  for (const l of lines) if (l.jump) edges.set(l.chain, [...(edges.get(l.chain) ?? []), l.jump]);
  const reaches = (a: string, b: string, seen = new Set<string>()): boolean =>
    (edges.get(a) ?? []).some((n) => n === b || (!seen.has(n) && (seen.add(n), reaches(n, b, seen))));
  for (const c of edges.keys()) if (reaches(c, c)) return "loop";
  const hooksOf = (c: string) => HOOKS.filter((h) => h === c || reaches(h, c));
  // iptables-save order: built-in chains, then user chains by name; rules in order within each.
  const users = [...new Set(lines.flatMap((l) => [l.chain, l.jump ?? ""]).filter((c) => c.startsWith("C")))].sort();
  const lineNo = new Map(lines.map((l, i) => [l, 2 + users.length + i]));
  for (const chain of [...HOOKS, ...users]) {
    for (const l of lines) {
      if (l.chain !== chain || !l.target) continue;
      const bad = hooksOf(chain).filter((h) => !ALLOWED[l.target!]!.includes(h));
      if (bad.length > 0) return { line: lineNo.get(l)!, from: bad };
    }
  }
  return null;
}

function load(t: string): RulesetParseError | null {
  try {
    loadRuleset(t);
    return null;
  } catch (e) {
    if (e instanceof RulesetParseError) return e;
    throw e;
  }
}

describe("COMMIT checks over whole tables", () => {
  it("refuse exactly the targets reached from a hook they are not valid in, at the first such rule", () => {
    const r = rng(20261126);
    let refused = 0;
    let accepted = 0;
    for (let n = 0; n < 3000; n++) {
      const lines = randomTable(r, false);
      const t = text(lines);
      const want = expected(lines);
      const got = load(t);
      if (want === null) {
        expect(got, t).toBeNull();
        accepted++;
      } else {
        expect(want).not.toBe("loop");
        expect(got?.pos.line, t).toBe((want as { line: number }).line);
        expect(got?.message, t).toContain(`reached from ${(want as { from: string[] }).from.join("/")}`);
        refused++;
      }
    }
    // Both outcomes are well represented.
    expect(refused).toBeGreaterThan(300);
    expect(accepted).toBeGreaterThan(300);
  });

  it("refuse every table with a jump loop", () => {
    const r = rng(7);
    let loops = 0;
    for (let n = 0; n < 2000; n++) {
      const lines = randomTable(r, true);
      const t = text(lines);
      if (expected(lines) === "loop") {
        expect(load(t)?.message, t).toMatch(/chain loop: /);
        loops++;
      } else {
        expect(load(t)?.message ?? "", t).not.toMatch(/chain loop/);
      }
    }
    expect(loops).toBeGreaterThan(200);
  });
});
