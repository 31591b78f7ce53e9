// The parser reads its grammar from recorded-grammar.ts instead of recording it at start-up, and
// its lookahead paths instead of computing them. The tables must be what recording the rules
// gives (the same productions, classes and fields) and the paths chevrotain computes from them.
// After changing a grammar rule, write the table again with
//   SVCSPEC_WRITE_GRAMMAR_TABLE=1 npx vitest run test/lang/gast-table.test.ts
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allTokens } from "../../src/lang/lexer.js";
import { decodeGrammar, encodeGrammar } from "../../src/lang/gast-table.js";
import { encodeLookahead } from "../../src/lang/lookahead.js";
import { parserDecisions, parserProductions, recordedDecisions, recordedProductions } from "../../src/lang/parser.js";
import { RECORDED_GRAMMAR, RECORDED_LOOKAHEAD } from "../../src/lang/recorded-grammar.js";
import { getLookaheadPaths } from "chevrotain";

const TABLE = "src/lang/recorded-grammar.ts";

describe("the recorded grammar table", () => {
  const recorded = recordedProductions();
  // Every decision of a parser that computes its paths, with chevrotain's paths for it.
  const lookahead = encodeLookahead(
    recordedDecisions().map((d) => {
      const o = d.options;
      const prodType = d.kind === "alternation" ? "Alternation" : d.options.prodType;
      const paths = getLookaheadPaths({ occurrence: o.prodOccurrence, rule: o.rule, prodType, maxLookahead: o.maxLookahead });
      return [d.key, d.kind === "alternation" ? paths : [paths[0]!]];
    }),
  );

  it("is the grammar the rules record, with chevrotain's lookahead paths", () => {
    const text = encodeGrammar(recorded);
    if (process.env.SVCSPEC_WRITE_GRAMMAR_TABLE) {
      writeFileSync(
        TABLE,
        "// Written by test/lang/gast-table.test.ts (SVCSPEC_WRITE_GRAMMAR_TABLE=1): the parser's recorded grammar\n" +
          "// (see gast-table.ts) and each decision's lookahead paths (see lookahead.ts).\n" +
          `export const RECORDED_GRAMMAR = ${JSON.stringify(text)};\n` +
          `export const RECORDED_LOOKAHEAD = ${JSON.stringify(lookahead)};\n`,
      );
      return;
    }
    expect(RECORDED_GRAMMAR, `the grammar changed: write ${TABLE} again (see this test's header)`).toBe(text);
    expect(RECORDED_LOOKAHEAD, `the lookahead changed: write ${TABLE} again (see this test's header)`).toBe(lookahead);
    // The one parser asks for the same decisions the table holds.
    expect(parserDecisions().map((d) => d.key)).toEqual(recordedDecisions().map((d) => d.key));
  });

  it("reads back as the very productions recording makes, before and after the parser resolves them", () => {
    const decoded = decodeGrammar(encodeGrammar(recorded), allTokens);
    expect([...decoded.keys()]).toEqual(Object.keys(recorded));
    // The one parser's productions (from the table, then resolved) equal the recorded and resolved ones.
    const used = parserProductions();
    expect(Object.keys(used)).toEqual(Object.keys(recorded));
    for (const name of Object.keys(recorded)) {
      expect(used[name]).toStrictEqual(recorded[name]);
      expect(Object.getPrototypeOf(used[name])).toBe(Object.getPrototypeOf(recorded[name]));
    }
  });
});
