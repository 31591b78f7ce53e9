// Where things were written: a Locator maps a field path inside one object (["spec", "ports",
// 0, "nodePort"]) to a source position, so a validation error points at the very field, whether
// the object came from a YAML manifest or from an inline `service { }` block.

import type { Diagnostic, Position } from "../lang/diagnostic.js";

export type FieldPath = ReadonlyArray<string | number>;

export interface Locator {
  /** Position of the field (key through value), or of its nearest written ancestor. */
  at(path: FieldPath): Position;
  /** The text of the source line a position is on, for the caret display. */
  sourceLine(pos: Position): string | undefined;
}

/** "spec.ports[0].nodePort", the apiserver's field path notation. */
export function fieldPathText(path: FieldPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

export function diagAt(
  loc: Locator,
  path: FieldPath,
  severity: Diagnostic["severity"],
  code: string,
  message: string,
  extra: { suggestion?: string; notes?: string[] } = {},
): Diagnostic {
  const pos = loc.at(path);
  const d: Diagnostic = { severity, code, message, pos };
  const line = loc.sourceLine(pos);
  if (line !== undefined) d.sourceLine = line;
  if (extra.suggestion) d.suggestion = extra.suggestion;
  if (extra.notes && extra.notes.length > 0) d.notes = extra.notes;
  return d;
}

/**
 * A Locator that knows only one position (objects made by svcspec itself, e.g. kube-dns); its
 * caret line is looked up only when a diagnostic asks for it.
 */
export function fixedLocator(pos: Position, line: () => string | undefined): Locator {
  return { at: () => pos, sourceLine: () => line() };
}
