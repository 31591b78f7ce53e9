// The parser's grammar (chevrotain's GAST: one Rule per grammar rule) as data, so that building
// the parser need not record it. chevrotain learns a grammar by running every rule once in a
// "recording" mode that replaces the DSL methods; for this grammar that was ≈ 20 ms of every
// run's start-up. The recorded productions are written out here (recorded-grammar.ts) and read
// back as the same objects: the same classes, the same own properties in the same order.
// test/lang/gast-table.test.ts records the grammar and checks the table against it; when a rule
// changes it fails and says how to write the table again.

import {
  Alternation,
  Alternative,
  EOF,
  NonTerminal,
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Rule,
  Terminal,
  type TokenType,
} from "chevrotain";

/** The production classes by the names the table uses (not constructor.name: bundles rename classes). */
const CLASSES = {
  Rule,
  NonTerminal,
  Alternative,
  Option,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Repetition,
  Alternation,
  Terminal,
} as const;
type ClassName = keyof typeof CLASSES;

/** Properties whose value is a token type, written as the token's name. */
const TOKEN_KEYS = new Set(["terminalType", "separator"]);
/** The property holding a production's children. */
const CHILDREN = "_definition";
/** Set on NonTerminals by chevrotain's grammar resolution, after recording: not recorded. */
const RESOLVED = "referencedRule";

/** One production: its class, then its own properties in order (children and tokens encoded). */
export type TableNode = [ClassName, Array<[string, unknown]>];

function classOf(node: object): ClassName {
  // Most specific first: the repetition classes do not extend each other, but be explicit.
  for (const name of Object.keys(CLASSES) as ClassName[]) if (Object.getPrototypeOf(node) === CLASSES[name].prototype) return name;
  throw new Error(`not a grammar production: ${String(node)}`);
}

function encode(node: object): TableNode {
  const props: Array<[string, unknown]> = [];
  for (const key of Object.keys(node)) {
    const value = (node as Record<string, unknown>)[key];
    if (key === RESOLVED) continue;
    if (key === CHILDREN) props.push([key, (value as object[]).map(encode)]);
    else if (TOKEN_KEYS.has(key)) props.push([key, (value as TokenType).name]);
    else if (value === undefined || value === null || typeof value !== "object") props.push([key, value]);
    else throw new Error(`a grammar production's \`${key}\` is an object the table cannot hold`);
  }
  return [classOf(node), props];
}

/** The recorded rules as the table's text (JSON), in the parser's rule order. */
export function encodeGrammar(rules: Record<string, object>): string {
  return JSON.stringify(Object.entries(rules).map(([name, rule]) => [name, encode(rule)]));
}

// Index loops and no destructuring: this runs once, cold, at start-up, where the interpreter's
// iterators and destructuring cost more than the work itself.
function decode(node: TableNode, tokens: Map<string, TokenType>): object {
  const out = Object.create(CLASSES[node[0]].prototype) as Record<string, unknown>;
  const props = node[1];
  for (let i = 0; i < props.length; i++) {
    const prop = props[i]!;
    const key = prop[0];
    const value = prop[1];
    if (key === CHILDREN) {
      const children = value as TableNode[];
      const built: object[] = new Array(children.length);
      for (let c = 0; c < children.length; c++) built[c] = decode(children[c]!, tokens);
      out[key] = built;
    } else if (TOKEN_KEYS.has(key)) {
      const t = tokens.get(value as string);
      if (t === undefined) throw new Error(`the grammar table names an unknown token \`${String(value)}\``);
      out[key] = t;
    } else out[key] = value;
  }
  return out;
}

/** The rules of a table's text, by name, built from the given token types (and EOF). */
export function decodeGrammar(text: string, tokenTypes: readonly TokenType[]): Map<string, Rule> {
  const tokens = new Map<string, TokenType>();
  for (let i = 0; i < tokenTypes.length; i++) tokens.set(tokenTypes[i]!.name, tokenTypes[i]!);
  tokens.set(EOF.name, EOF);
  const rules = new Map<string, Rule>();
  const entries = JSON.parse(text) as Array<[string, TableNode]>;
  for (let i = 0; i < entries.length; i++) rules.set(entries[i]![0], decode(entries[i]![1], tokens) as Rule);
  return rules;
}
