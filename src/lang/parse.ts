// parse(text, file): the front end's one entry point. Never throws, for any input: lexer,
// parser and literal errors all come back as Diagnostics, at most one per line (the first on
// that line: later ones on the same line are nearly always consequences of it).

import { EOF, type IToken } from "chevrotain";
import type { SpecFile, TopItem } from "./ast.js";
import type { Diagnostic, Position } from "./diagnostic.js";
import * as L from "./lexer.js";
import { svcspecParser } from "./parser.js";

export interface ParseResult {
  ast: SpecFile;
  diagnostics: Diagnostic[];
}

/** The line without a final carriage return (`.replace(/\r$/, "")` without a regular expression). */
export const withoutCR = (line: string): string => (line.endsWith("\r") ? line.slice(0, -1) : line);

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** sourceLineAt(text, line) from the text's line starts, without splitting the whole text. */
function lineAt(text: string, starts: number[], line: number): string {
  const start = starts[line - 1];
  if (start === undefined) return "";
  const next = starts[line];
  return withoutCR(text.slice(start, next === undefined ? text.length : next - 1));
}

export function sourceLineAt(text: string, line: number): string {
  const lines = text.split("\n");
  return withoutCR(lines[line - 1] ?? "");
}

/**
 * The token objects every parse reuses (see tokenize): nothing built by a parse keeps a token
 * (the AST holds images and positions, the diagnostics positions and messages), and parses do
 * not nest.
 */
const tokenPool: IToken[] = [];

export function parse(text: string, file: string): ParseResult {
  try {
    return parseUnsafe(text, file);
  } catch (err) {
    // A bug in the front end must not become a stack trace for the user's file.
    const msg = err instanceof Error ? err.message : String(err);
    const pos: Position = { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
    return {
      ast: { file, title: null, items: [], pos },
      diagnostics: [{ severity: "error", code: "internal", message: `internal error in the svcspec parser: ${msg}`, pos }],
    };
  }
}

function parseUnsafe(text: string, file: string): ParseResult {
  // A final newline ends the last statement; positions are unaffected.
  const source = text.endsWith("\n") ? text : text + "\n";
  const starts = lineStarts(text);
  const lastLine = text.endsWith("\n") ? Math.max(1, starts.length - 1) : starts.length;
  const endOfFile = (): Position => {
    const lineText = lineAt(text, starts, lastLine);
    return { file, line: lastLine, column: lineText.length + 1, endLine: lastLine, endColumn: lineText.length + 1 };
  };
  const diagnostics: Diagnostic[] = [];

  const lexed = L.tokenize(source, tokenPool);
  for (const e of lexed.errors) {
    const line = e.line ?? 1;
    const column = e.column ?? 1;
    const bad = source.slice(e.offset, e.offset + e.length);
    const ch = bad.slice(0, 1);
    const message =
      ch === "<"
        ? "a heredoc is `<<TAG` alone at the end of its line (e.g. `apply <<YAML`), its body on the lines below, ended by a line holding only TAG"
        : `unexpected character \`${ch}\``;
    const end = bad.includes("\n") ? column : column + Math.max(0, bad.trimEnd().length - 1);
    diagnostics.push({ severity: "error", code: "parse", message, pos: { file, line, column, endLine: line, endColumn: end } });
  }
  // A string missing its closing quote: say so once, then parse on as if it were closed.
  // An index loop: the token list is long, and until the JIT compiles this a for-of made an
  // iterator result per token.
  const tokens = lexed.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.tokenType === L.UnterminatedString) {
      diagnostics.push({
        severity: "error",
        code: "parse",
        message: "this string is not closed: add `\"` at its end (strings cannot span lines)",
        pos: { file, line: t.startLine!, column: t.startColumn!, endLine: t.endLine!, endColumn: t.endColumn! },
      });
      t.tokenType = L.StringLiteral;
      t.tokenTypeIdx = L.StringLiteral.tokenTypeIdx!;
    }
  }

  const parser = svcspecParser;
  parser.file = file;
  parser.semantic = [];
  parser.state.blocks = [];
  parser.state.suggestions = new Map();
  parser.input = lexed.tokens;
  const items: TopItem[] = parser.specFile() ?? [];

  for (const e of parser.errors) {
    const t: IToken = e.token;
    let pos: Position;
    if (t.tokenType === EOF || Number.isNaN(t.startOffset) || t.startLine === undefined || Number.isNaN(t.startLine)) pos = endOfFile();
    else if (t.tokenType === L.Newline || t.tokenType === L.Heredoc) {
      pos = { file, line: t.startLine, column: t.startColumn!, endLine: t.startLine, endColumn: t.startColumn! };
    } else pos = { file, line: t.startLine, column: t.startColumn!, endLine: t.endLine!, endColumn: t.endColumn! };
    const suggestion = parser.state.suggestions.get(t);
    diagnostics.push({ severity: "error", code: "parse", message: e.message, pos, ...(suggestion ? { suggestion: `did you mean \`${suggestion}\`?` } : {}) });
  }
  // Positions built from tokens put in by recovery are NaN; such a report belongs at the end.
  for (const d of parser.semantic) diagnostics.push(Number.isNaN(d.pos.line) || Number.isNaN(d.pos.column) ? { ...d, pos: endOfFile() } : d);

  // At most one diagnostic per line: the leftmost, and the first reported among equals.
  const ordered = diagnostics
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.pos.line - b.d.pos.line || a.d.pos.column - b.d.pos.column || a.i - b.i);
  const seen = new Set<number>();
  const kept: Diagnostic[] = [];
  for (const { d } of ordered) {
    if (seen.has(d.pos.line)) continue;
    seen.add(d.pos.line);
    kept.push({ ...d, sourceLine: lineAt(text, starts, d.pos.line) });
  }

  const titleItem = items.find((i) => i.kind === "spec");
  const ast: SpecFile = {
    file,
    title: titleItem && titleItem.kind === "spec" ? titleItem.title : null,
    items,
    pos: { file, line: 1, column: 1, endLine: lastLine, endColumn: Math.max(1, lineAt(text, starts, lastLine).length) },
  };
  return { ast, diagnostics: kept };
}
