// The one exception type the netfilter loader throws: a rule text it cannot execute faithfully.
// It carries the position of the offending token so the CLI can render a Diagnostic with a
// caret instead of a stack trace.

import type { Diagnostic } from "../../lang/diagnostic.js";

export interface RulesetErrorPosition {
  file: string;
  /** 1-based line of the restore/save text. */
  line: number;
  /** 1-based column of the offending token (1 when the whole line is at fault). */
  column: number;
  /** The token that was not understood ("" when none applies, e.g. a missing COMMIT). */
  token: string;
  /** The whole source line, for the caret display. */
  sourceLine: string;
}

export class RulesetParseError extends Error {
  readonly pos: RulesetErrorPosition;
  readonly suggestion: string | undefined;

  constructor(message: string, pos: RulesetErrorPosition, suggestion?: string) {
    super(`${pos.file}:${pos.line}:${pos.column}: ${message}${pos.token ? ` (at \`${pos.token}\`)` : ""}`);
    this.name = "RulesetParseError";
    this.pos = pos;
    this.suggestion = suggestion;
    // The bare message, without the position prefix, for Diagnostic rendering.
    this.reason = message;
  }

  readonly reason: string;

  toDiagnostic(): Diagnostic {
    const width = Math.max(1, this.pos.token.length);
    return {
      severity: "error",
      code: "iptables",
      message: this.reason,
      pos: {
        file: this.pos.file,
        line: this.pos.line,
        column: this.pos.column,
        endLine: this.pos.line,
        endColumn: this.pos.column + width - 1,
      },
      sourceLine: this.pos.sourceLine,
      ...(this.suggestion ? { suggestion: this.suggestion } : {}),
    };
  }
}
