// What a match or target extension looks like to the rule parser, mirroring the xtables split:
// each extension owns its options, parses them into its own state, then compiles to closures
// (matches) or a Target, and prints itself back the way iptables-save does.

import type { HookName, TableName } from "./api.js";
import type { Token } from "./lex.js";
import type { Matcher, Target } from "./ruleset.js";

/** Facts about the whole rule an extension may need to validate itself (`-m tcp` needs `-p tcp`). */
export interface RuleFacts {
  table: TableName;
  chain: string;
  /** `-p` protocol number, null when absent (or `all`). */
  proto: number | null;
  protoNegated: boolean;
}

/** The parser's view given to an extension while it reads its options. */
export interface OptionCursor {
  /** Consume the next word as this option's argument; an error names `what` when it is missing. */
  arg(opt: Token, what: string): Token;
  /** Does the next word exist and not look like an option? (for optional arguments) */
  peekValue(): Token | null;
  fail(message: string, at: Token, suggestion?: string): never;
}

export interface CompiledMatch {
  matchers: Matcher[];
  /** " -m NAME --opt ..." exactly as iptables-save prints it (leading space). */
  save: string;
  /** tcp/udp/sctp: a single, non-negated destination port (for dispatch indexing). */
  singleDport?: number;
}

export interface MatchInstance {
  takes(opt: string): boolean;
  parse(opt: Token, negated: boolean, cur: OptionCursor): void;
  finish(facts: RuleFacts, at: Token, cur: OptionCursor): CompiledMatch;
}

export interface MatchModule {
  name: string;
  create(): MatchInstance;
}

export interface CompiledTarget {
  target: Target;
  /** " -j NAME --opt ..." as iptables-save prints it (leading space). */
  save: string;
}

export interface TargetInstance {
  takes(opt: string): boolean;
  parse(opt: Token, negated: boolean, cur: OptionCursor): void;
  finish(facts: RuleFacts, at: Token, cur: OptionCursor): CompiledTarget;
}

export interface TargetModule {
  name: string;
  /** Tables the kernel accepts this target in (undefined: any). */
  tables?: readonly TableName[];
  /** Hooks the kernel accepts this target from (undefined: any). */
  hooks?: readonly HookName[];
  create(): TargetInstance;
}

/** strtoul(s, 0): 0x.. hex, 0.. octal, otherwise decimal. null when not a uint32. */
export function parseUint(s: string): number | null {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) v = parseInt(s.slice(1), 8);
  else if (/^[0-9]+$/.test(s)) v = parseInt(s, 10);
  else return null;
  return v <= 0xffffffff ? v : null;
}

/** `V` or `V/M` (marks): mask defaults to 0xffffffff. */
export function parseValueMask(s: string): { value: number; mask: number } | null {
  const slash = s.indexOf("/");
  if (slash < 0) {
    const v = parseUint(s);
    return v === null ? null : { value: v, mask: 0xffffffff };
  }
  const v = parseUint(s.slice(0, slash));
  const m = parseUint(s.slice(slash + 1));
  return v === null || m === null ? null : { value: v, mask: m };
}

export function hex(v: number): string {
  return "0x" + (v >>> 0).toString(16);
}

/**
 * xtables_save_string as iptables 1.8.9 prints it: always double-quoted, with `"`, `\` and `'`
 * escaped (checked against real iptables-save output on nf_tables and legacy).
 */
export function saveString(s: string): string {
  return '"' + s.replace(/["\\']/g, (c) => "\\" + c) + '"';
}

export function neg(negated: boolean): string {
  return negated ? " !" : "";
}

/** Options a module does not know: reject with the module's known options as a hint. */
export function unknownOption(cur: OptionCursor, module: string, opt: Token, known: readonly string[]): never {
  return cur.fail(`option ${opt.text} is not an option of the ${module} module`, opt, known.length ? `${module} takes ${known.join(", ")}` : undefined);
}

export function noNegation(cur: OptionCursor, negated: boolean, opt: Token): void {
  if (negated) cur.fail(`${opt.text} cannot be negated with !`, opt);
}
