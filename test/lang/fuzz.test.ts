// Property: parse never throws and never hangs, whatever the text — random strings, and a
// realistic file mutated by deleting, inserting and swapping characters and tokens. Every
// diagnostic it returns points inside the file, at most one per line.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse, sourceLineAt } from "../../src/lang/parse.js";

const REALISTIC = `spec "NodePort and SNAT"
cluster {
  pod-cidr 10.244.0.0/16
  service-cidr 10.96.0.0/12
  node-port-range 1-65535
  node node1 192.168.1.11
  node node2 192.168.1.12 pod-cidr 10.244.9.0/24
  pod nginx-1 on node1 labels run=my-nginx listen tcp/80 http=tcp/8080 not-ready
  deployment web replicas 2 on node1,node2 labels app=web listen tcp/80
  client laptop 203.0.113.7
  route 198.51.100.0/24 via node1,node2
}
service my-nginx NodePort {
  selector run=my-nginx
  port http tcp 8080 -> 80 node-port 8080
  session-affinity ClientIP timeout 30
}
apply <<YAML
kind: Service
YAML
scenario "through node2" tags a,b {
  send tcp from laptop to node2:8080 expect connected
    expect reply-from node2:8080, sometimes delivered-to any-of nginx-1, web-1
    never source-seen laptop
  resolve my-nginx.default from nginx-1 expect answer 10.96.0.10
  show iptables node1 nat KUBE-SERVICES expect contains "KUBE-SVC"
  show pods expect <<TXT
nginx-1 Running
TXT
  set service my-nginx external-traffic-policy Local
  stop kube-proxy on node1
}
`;

const TOKENS = ["{", "}", "\n", '"', "<<YAML", "YAML", ":", ",", "=", "/", "->", "expect", "send", "node", "10.0.0.1", "10.0.0.0/8", "#", " ", "lb:", "1-2", "999.1.1.1"];

type Mutation = { kind: "delete" | "insert" | "swap" | "token"; at: number; len: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("delete", "insert", "swap", "token"),
  at: fc.nat({ max: REALISTIC.length }),
  len: fc.integer({ min: 1, max: 12 }),
  text: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...TOKENS)),
});

function apply(text: string, m: Mutation): string {
  const at = Math.min(m.at, text.length);
  switch (m.kind) {
    case "delete":
      return text.slice(0, at) + text.slice(at + m.len);
    case "insert":
      return text.slice(0, at) + m.text + text.slice(at);
    case "swap": {
      const b = Math.min(text.length - 1, at + m.len);
      if (at >= b) return text;
      const chars = [...text];
      [chars[at], chars[b]] = [chars[b]!, chars[at]!];
      return chars.join("");
    }
    case "token": {
      // Replace the word at `at` with a token of the language.
      const start = text.lastIndexOf(" ", at) + 1;
      const end = text.indexOf(" ", at);
      return text.slice(0, start) + m.text + (end < 0 ? "" : text.slice(end));
    }
  }
}

function checkResult(text: string): void {
  const { ast, diagnostics } = parse(text, "fuzz.svcspec");
  expect(ast.file).toBe("fuzz.svcspec");
  const lineCount = text.split("\n").length;
  const lines = new Set<number>();
  for (const d of diagnostics) {
    expect(d.code).not.toBe("internal");
    expect(d.pos.line).toBeGreaterThanOrEqual(1);
    expect(d.pos.line).toBeLessThanOrEqual(lineCount);
    expect(d.pos.column).toBeGreaterThanOrEqual(1);
    expect(lines.has(d.pos.line)).toBe(false);
    lines.add(d.pos.line);
    expect(d.message.length).toBeGreaterThan(0);
    expect(d.sourceLine).toBe(sourceLineAt(text, d.pos.line));
  }
  expect(ast.pos.endColumn).toBe(Math.max(1, sourceLineAt(text, ast.pos.endLine).length));
}

describe("parse never throws", () => {
  it("the realistic file is clean", () => {
    expect(parse(REALISTIC, "r.svcspec").diagnostics).toEqual([]);
  });

  it("random text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), checkResult), { numRuns: 300 });
  });

  it("random text over the language's own alphabet", () => {
    const piece = fc.constantFrom(...TOKENS, "cluster", "scenario", "service", "pod", "tcp/80", "x", "expect connected", "\n  ");
    fc.assert(fc.property(fc.array(piece, { maxLength: 120 }).map((a) => a.join(" ")), checkResult), { numRuns: 300 });
  });

  it("a realistic file, mutated", () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 8 }), (ms) => checkResult(ms.reduce(apply, REALISTIC))),
      { numRuns: 400 },
    );
  });
});
