// Reading a .svcspec file from disk and parsing it: the entry point the CLI and the world use.

import { readFile } from "node:fs/promises";
import type { SpecFile } from "./ast.js";
import type { Diagnostic } from "./diagnostic.js";
import { parse } from "./parse.js";

export interface LoadedSpec {
  /** The file's text ("" when it could not be read). */
  text: string;
  ast: SpecFile;
  diagnostics: Diagnostic[];
}

/** Never throws: an unreadable file is a diagnostic at 1:1. */
export async function loadSpecFile(path: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String((err as Error).message);
    const pos = { file: path, line: 1, column: 1, endLine: 1, endColumn: 1 };
    return {
      text: "",
      ast: { file: path, title: null, items: [], pos },
      diagnostics: [{ severity: "error", code: "io", message: `cannot read ${path}: ${why}`, pos }],
    };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM is not part of the first line
  const { ast, diagnostics } = parse(text, path);
  return { text, ast, diagnostics };
}
