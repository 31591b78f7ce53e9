// tokenize() lexes words as Identifier and looks keywords up by their image, instead of giving
// chevrotain one pattern per keyword. Property: it yields exactly the tokens (type, image,
// offsets, lines, columns, payload) and errors the lexer with every keyword pattern yields.
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createTokenInstance, tokenMatcher, type ILexingResult } from "chevrotain";
import { describe, expect, it } from "vitest";
import { allTokens, AnyWord, Identifier, KW, keywordOf, LineToken, referenceLexer, tokenize } from "../../src/lang/lexer.js";
import "../../src/lang/parser.js";

const reference = referenceLexer();

function shape(r: ILexingResult): unknown {
  return {
    tokens: r.tokens.map((t) => ({
      type: t.tokenType.name,
      idx: t.tokenTypeIdx,
      image: t.image,
      offsets: [t.startOffset, t.endOffset],
      lines: [t.startLine, t.endLine],
      columns: [t.startColumn, t.endColumn],
      payload: t.payload,
    })),
    errors: r.errors,
  };
}

function same(text: string): void {
  expect(shape(tokenize(text))).toEqual(shape(reference.tokenize(text)));
}

const KEYWORDS = allTokens.map((t) => keywordOf(t)).filter((w): w is string => w !== undefined);
const PIECES = [
  ...KEYWORDS,
  ...KEYWORDS.map((w) => w.toUpperCase()),
  "TCP", "UDP", "Tcp", "pods-1", "pod.x", "node1", "1abc", "10.0.0.1", "10.0.0.0/8", "10.0.0.1:80", "1-65535",
  "->", "-", ">", "{", "}", ",", ":", "=", "/", '"a b"', '"open', "<<YAML\nx\nYAML\n", "<<T", "#c", "# c\r\n",
  "\n", "\r\n", "\r", " ", "\t", "  \n", "é", "@", "lb:web",
];

describe("tokenize() matches the lexer with every keyword pattern", () => {
  it("on every lesson and example file", () => {
    const files = ["scenarios", "examples/failing"].flatMap((d) =>
      readdirSync(d).filter((f) => f.endsWith(".svcspec")).map((f) => join(d, f)),
    );
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) same(readFileSync(f, "utf8"));
  });

  it("on every keyword alone, glued to word characters, and in upper case", () => {
    for (const w of KEYWORDS) for (const text of [w, `${w}s`, `${w}-1`, `${w}.x`, `${w}->x`, w.toUpperCase(), `x${w}`]) same(text);
  });

  it("with a pool: each text's tokens as without one, whatever the pool held before", () => {
    const pool: Parameters<typeof tokenize>[1] = [];
    const piece = fc.constantFrom(...PIECES);
    const glue = fc.constantFrom("", " ", "\n");
    fc.assert(
      fc.property(fc.array(fc.tuple(piece, glue), { maxLength: 60 }), (parts) => {
        const text = parts.map(([p, g]) => p + g).join("");
        // Shapes are taken before the next call reuses the objects.
        expect(shape(tokenize(text, pool))).toEqual(shape(tokenize(text)));
      }),
      { numRuns: 300 },
    );
    expect(pool!.length).toBeGreaterThan(0);
  });

  it("on random sequences of the language's pieces", () => {
    const piece = fc.constantFrom(...PIECES);
    const glue = fc.constantFrom("", " ", "\n");
    fc.assert(
      fc.property(fc.array(fc.tuple(piece, glue), { maxLength: 60 }), (parts) => same(parts.map(([p, g]) => p + g).join(""))),
      { numRuns: 500 },
    );
  });

  it("on random text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), same), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: "binary" }), same), { numRuns: 150 });
  });

  it("on random text over the characters that matter", () => {
    const char = fc.constantFrom(..."aZ_09.-/>:<{}\"\\#=, \t\r\n\u2028éx".split(""), "<<T\n", "\nT\n", "<<T # c\r\n", "\r\n");
    fc.assert(fc.property(fc.array(char, { maxLength: 80 }).map((a) => a.join("")), same), { numRuns: 2000 });
  });
});

describe("keyword categories", () => {
  it("every keyword is a name (AnyWord) and may start an unknown line (LineToken), once the parser is built", () => {
    for (const t of [...Object.values(KW), Identifier]) {
      const token = createTokenInstance(t, "x", 0, 0, 1, 1, 1, 1);
      expect(tokenMatcher(token, AnyWord)).toBe(true);
      expect(tokenMatcher(token, LineToken)).toBe(true);
    }
    expect(AnyWord.categoryMatches!.length).toBe(Object.keys(KW).length + 1);
  });
});
