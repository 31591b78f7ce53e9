// Source positions and diagnostics: the lowest layer, shared by every other one.

/** A span in a source file. Lines and columns are 1-based; end is inclusive of the last char. */
export interface Position {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export interface Diagnostic {
  severity: "error" | "warning";
  /** A stable code, e.g. "parse", "unknown-name", "validation", "yaml". */
  code: string;
  /** One line in plain words. */
  message: string;
  pos: Position;
  /** The source line the position is in (for the caret display). */
  sourceLine?: string;
  /** "did you mean `reply-from`?" */
  suggestion?: string;
  /** Extra lines (apiserver's field path, a hint). */
  notes?: string[];
}
