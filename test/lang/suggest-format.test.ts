import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/lang/format.js";
import { parse } from "../../src/lang/parse.js";
import { editDistance, suggest } from "../../src/lang/suggest.js";

describe("suggest", () => {
  it("edit distance counts a transposition as one edit", () => {
    expect(editDistance("ngnix", "nginx")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
  it("finds the closest candidate, case-insensitive first", () => {
    expect(suggest("ngnix-1", ["nginx-1", "nginx-2", "web-1"])).toBe("nginx-1");
    expect(suggest("nodeport", ["ClusterIP", "NodePort"])).toBe("NodePort");
    expect(suggest("replyfrom", ["reply-from", "source-seen"])).toBe("reply-from");
  });
  it("offers nothing when nothing is close", () => {
    expect(suggest("zz", ["node", "pod"])).toBeUndefined();
    expect(suggest("banana", ["node", "pod"])).toBeUndefined();
    expect(suggest("x", [])).toBeUndefined();
  });
});

describe("formatDiagnostic", () => {
  it("file:line:col, the source line, a caret under the span, the help line", () => {
    const { diagnostics } = parse('scenario "s" {\n  sned tcp from a to b:80\n}\n', "a.svcspec");
    expect(formatDiagnostic(diagnostics[0]!, { color: false })).toBe(
      [
        "a.svcspec:2:3: error: unknown statement `sned` in a scenario",
        "  |",
        "2 |   sned tcp from a to b:80",
        "  |   ^^^^",
        "  = help: did you mean `send`?",
      ].join("\n"),
    );
  });
  it("a caret under a port, and color only when asked", () => {
    const { diagnostics } = parse('scenario "s" {\n  send tcp from a to b:http\n}\n', "a.svcspec");
    const plain = formatDiagnostic(diagnostics[0]!, { color: false });
    expect(plain.split("\n")[3]).toBe("  |                        ^^^^");
    expect(plain).not.toContain("\u001b[");
    expect(formatDiagnostic(diagnostics[0]!, { color: true })).toContain("\u001b[");
  });
  it("works without a source line", () => {
    const d = { severity: "warning" as const, code: "x", message: "m", pos: { file: "f", line: 1, column: 1, endLine: 1, endColumn: 1 }, suggestion: "did you mean `y`?" };
    expect(formatDiagnostic(d, { color: false })).toBe("f:1:1: warning: m\n  = help: did you mean `y`?");
  });
});
