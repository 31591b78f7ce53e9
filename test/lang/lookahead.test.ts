// The parser's lookahead functions are built from recorded paths by lookahead.ts, not by
// chevrotain. Property: for every decision of the grammar, on random next tokens (and, for
// alternatives with GATEs, random gate verdicts), each function chooses what chevrotain's own
// function for that decision chooses.
import fc from "fast-check";
import { EOF, Lexer, LLkLookaheadStrategy, type IOrAlt, type IToken, type TokenType } from "chevrotain";
import { describe, expect, it } from "vitest";
import { allTokens } from "../../src/lang/lexer.js";
import { parserDecisions } from "../../src/lang/parser.js";

/** Every type a token in the input can have (categories are never a token's own type), and EOF. */
const CONCRETE: TokenType[] = [...allTokens.filter((t) => t.PATTERN !== Lexer.NA), EOF];
const token = (t: TokenType): IToken => ({ image: "", startOffset: 0, tokenType: t, tokenTypeIdx: t.tokenTypeIdx! }) as IToken;

/** What a lookahead function reads: LA and LA_FAST over the next tokens, then EOF (as chevrotain pads). */
function lookingAt(next: TokenType[]): { LA(k: number): IToken; LA_FAST(k: number): IToken } {
  const tokens = [...next, EOF, EOF, EOF, EOF].map(token);
  return { LA: (k) => tokens[k - 1]!, LA_FAST: (k) => tokens[k - 1]! };
}

describe("the recorded lookahead", () => {
  const reference = new LLkLookaheadStrategy({ maxLookahead: 3 });
  const decisions = parserDecisions();
  const nextTokens = fc.array(fc.constantFrom(...CONCRETE), { minLength: 1, maxLength: 3 });

  it("covers the grammar's decisions", () => {
    expect(decisions.length).toBeGreaterThan(50);
    expect(CONCRETE.length).toBeGreaterThan(100);
  });

  it("chooses as chevrotain's lookahead does, for every decision", () => {
    for (const d of decisions) {
      if (d.kind === "alternation") {
        const ours = d.built() as unknown as (this: unknown, alts: IOrAlt<unknown>[]) => number | undefined;
        const theirs = reference.buildLookaheadForAlternation(d.options) as unknown as (this: unknown, alts: IOrAlt<unknown>[]) => number | undefined;
        fc.assert(
          // More GATE slots than any OR has alternatives: each reads only its own.
          fc.property(nextTokens, fc.array(fc.option(fc.boolean()), { minLength: 12, maxLength: 12 }), (next, gates) => {
            const orAlts: IOrAlt<unknown>[] = gates.map((g) => (g === null ? { ALT: () => 0 } : { ALT: () => 0, GATE: () => g }));
            const p = lookingAt(next);
            expect(ours.call(p, orAlts), d.key).toBe(theirs.call(p, orAlts));
          }),
          { numRuns: 150 },
        );
      } else {
        const ours = d.built() as unknown as (this: unknown) => boolean;
        const theirs = reference.buildLookaheadForOptional(d.options) as unknown as (this: unknown) => boolean;
        fc.assert(
          fc.property(nextTokens, (next) => {
            const p = lookingAt(next);
            expect(ours.call(p), d.key).toBe(theirs.call(p));
          }),
          { numRuns: 150 },
        );
      }
    }
  });

  it("chooses as chevrotain's for every single next token", () => {
    for (const d of decisions) {
      for (const t of CONCRETE) {
        const p = lookingAt([t]);
        if (d.kind === "alternation") {
          const orAlts: IOrAlt<unknown>[] = Array.from({ length: 12 }, () => ({ ALT: () => 0 }));
          const ours = d.built() as unknown as (this: unknown, alts: IOrAlt<unknown>[]) => number | undefined;
          const theirs = reference.buildLookaheadForAlternation(d.options) as unknown as (this: unknown, alts: IOrAlt<unknown>[]) => number | undefined;
          expect(ours.call(p, orAlts), `${d.key} ${t.name}`).toBe(theirs.call(p, orAlts));
        } else {
          const ours = d.built() as unknown as (this: unknown) => boolean;
          const theirs = reference.buildLookaheadForOptional(d.options) as unknown as (this: unknown) => boolean;
          expect(ours.call(p), `${d.key} ${t.name}`).toBe(theirs.call(p));
        }
      }
    }
  });
});
