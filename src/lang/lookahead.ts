// The parser's LL(k) lookahead functions, built from each decision's lookahead paths as chevrotain
// builds them (chevrotain 11's buildAlternativesLookAheadFunc and
// buildSingleAlternativeLookaheadFunction, case by case: the same verdict for every input), with
// the paths read from a table (recorded-grammar.ts) rather than computed. Computing the paths and
// building with chevrotain's lodash helpers was ≈ 40 ms of parsing the first files of a run, where
// each decision's function is made when first taken (see OnDemandLookahead in parser.ts).
// test/lang/lookahead.test.ts checks the table against chevrotain's paths and every function
// against chevrotain's own on random token sequences.

import { EOF, tokenMatcher, type IOrAlt, type IToken, type TokenType } from "chevrotain";

/** One alternative's lookahead paths: each a sequence of token types. */
export type Paths = TokenType[][];

/**
 * What a lookahead function reads: the token k ahead (1 = the next). LA_FAST, as chevrotain's own
 * functions read it: no bounds check, the parser pads its input with EOF for that (onBeforeParse).
 */
interface Lookahead {
  LA_FAST(k: number): IToken;
}

/** A decision's key: its rule, production kind, occurrence index and lookahead depth. */
export function decisionKey(rule: string, kind: string, occurrence: number, maxLookahead: number): string {
  return `${rule}|${kind}|${occurrence}|${maxLookahead}`;
}

const allOneToken = (alts: Paths[]): boolean => {
  for (const alt of alts) for (const path of alt) if (path.length !== 1) return false;
  return true;
};

/** Whether some path of `alt` matches the next tokens. An empty path matches at once. */
function matchesSomePath(p: Lookahead, alt: Paths): boolean {
  nextPath: for (let j = 0; j < alt.length; j++) {
    const path = alt[j]!;
    for (let i = 0; i < path.length; i++) if (!tokenMatcher(p.LA_FAST(i + 1), path[i]!)) continue nextPath;
    return true;
  }
  return false;
}

/** The alternative an OR takes (its index), or undefined when none fits. */
export function alternationLookahead(alts: Paths[], hasPredicates: boolean): (this: Lookahead, orAlts: IOrAlt<unknown>[]) => number | undefined {
  if (hasPredicates) {
    // Each alternative's GATE is read when the alternative comes up (chevrotain copies them all
    // into a new array first, on every decision; the statement alternations all have one).
    return function (this: Lookahead, orAlts: IOrAlt<unknown>[]): number | undefined {
      for (let t = 0; t < alts.length; t++) {
        const gate = orAlts?.[t]?.GATE;
        if (gate !== undefined && gate.call(this) === false) continue;
        // matchesSomePath, inline: the statement choices take this once per line.
        const alt = alts[t]!;
        nextPath: for (let j = 0; j < alt.length; j++) {
          const path = alt[j]!;
          for (let i = 0; i < path.length; i++) if (!tokenMatcher(this.LA_FAST(i + 1), path[i]!)) continue nextPath;
          return t;
        }
      }
      return undefined;
    };
  }
  if (allOneToken(alts)) {
    // The first alternative that names a token type (or a category it belongs to) takes it.
    const choice: Array<number | undefined> = [];
    for (let idx = 0; idx < alts.length; idx++) {
      for (const path of alts[idx]!) {
        const t = path[0]!;
        if (choice[t.tokenTypeIdx!] === undefined) choice[t.tokenTypeIdx!] = idx;
        for (const member of t.categoryMatches ?? []) if (choice[member] === undefined) choice[member] = idx;
      }
    }
    return function (this: Lookahead): number | undefined {
      return choice[this.LA_FAST(1).tokenTypeIdx!];
    };
  }
  return function (this: Lookahead): number | undefined {
    for (let t = 0; t < alts.length; t++) if (matchesSomePath(this, alts[t]!)) return t;
    return undefined;
  };
}

/** Whether an OPTION, MANY ... goes in (another time): its inside paths match the next tokens. */
export function optionalLookahead(inside: Paths): (this: Lookahead) => boolean {
  if (allOneToken([inside])) {
    if (inside.length === 1 && (inside[0]![0]!.categoryMatches ?? []).length === 0) {
      const expected = inside[0]![0]!.tokenTypeIdx!;
      return function (this: Lookahead): boolean {
        return this.LA_FAST(1).tokenTypeIdx === expected;
      };
    }
    const accepted: boolean[] = [];
    for (const path of inside) {
      const t = path[0]!;
      accepted[t.tokenTypeIdx!] = true;
      for (const member of t.categoryMatches ?? []) accepted[member] = true;
    }
    return function (this: Lookahead): boolean {
      return accepted[this.LA_FAST(1).tokenTypeIdx!] === true;
    };
  }
  return function (this: Lookahead): boolean {
    return matchesSomePath(this, inside);
  };
}

/** The table's text: each decision's alternatives' paths, tokens by name. */
export function encodeLookahead(decisions: Array<[string, Paths[]]>): string {
  return JSON.stringify(decisions.map(([key, alts]) => [key, alts.map((alt) => alt.map((path) => path.map((t) => t.name)))]));
}

/** A table's decisions by key, tokens resolved among the given token types (and EOF). */
export function decodeLookahead(text: string, tokenTypes: readonly TokenType[]): Map<string, Paths[]> {
  const tokens = new Map<string, TokenType>();
  for (let i = 0; i < tokenTypes.length; i++) tokens.set(tokenTypes[i]!.name, tokenTypes[i]!);
  tokens.set(EOF.name, EOF);
  const token = (name: string): TokenType => {
    const t = tokens.get(name);
    if (t === undefined) throw new Error(`the lookahead table names an unknown token \`${name}\``);
    return t;
  };
  const out = new Map<string, Paths[]>();
  const entries = JSON.parse(text) as Array<[string, string[][][]]>;
  for (let e = 0; e < entries.length; e++) {
    const [key, alts] = entries[e]!;
    const decoded: Paths[] = new Array(alts.length);
    for (let a = 0; a < alts.length; a++) {
      const alt = alts[a]!;
      const paths: TokenType[][] = new Array(alt.length);
      for (let p = 0; p < alt.length; p++) {
        const names = alt[p]!;
        const path: TokenType[] = new Array(names.length);
        for (let i = 0; i < names.length; i++) path[i] = token(names[i]!);
        paths[p] = path;
      }
      decoded[a] = paths;
    }
    out.set(key, decoded);
  }
  return out;
}
