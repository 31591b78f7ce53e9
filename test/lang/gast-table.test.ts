// The parser reads its grammar from recorded-grammar.ts instead of recording it at start-up.
// The table must be what recording the rules gives: the same productions, classes and fields.
// After changing a grammar rule, write the table again with
//   SVCSPEC_WRITE_GRAMMAR_TABLE=1 npx vitest run test/lang/gast-table.test.ts
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allTokens } from "../../src/lang/lexer.js";
import { decodeGrammar, encodeGrammar } from "../../src/lang/gast-table.js";
import { parserProductions, recordedProductions } from "../../src/lang/parser.js";
import { RECORDED_GRAMMAR } from "../../src/lang/recorded-grammar.js";

const TABLE = "src/lang/recorded-grammar.ts";

describe("the recorded grammar table", () => {
  const recorded = recordedProductions();

  it("is the grammar the rules record", () => {
    const text = encodeGrammar(recorded);
    if (process.env.SVCSPEC_WRITE_GRAMMAR_TABLE) {
      writeFileSync(
        TABLE,
        "// Written by test/lang/gast-table.test.ts (SVCSPEC_WRITE_GRAMMAR_TABLE=1): the parser's recorded grammar, see gast-table.ts.\n" +
          `export const RECORDED_GRAMMAR = ${JSON.stringify(text)};\n`,
      );
      return;
    }
    expect(RECORDED_GRAMMAR, `the grammar changed: write ${TABLE} again (see this test's header)`).toBe(text);
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
