// The language front end's public surface.
export type * from "./ast.js";
export type { Diagnostic, Position } from "./diagnostic.js";
export { parse, type ParseResult } from "./parse.js";
export { loadSpecFile, type LoadedSpec } from "./load.js";
export { formatDiagnostic, type FormatOptions } from "./format.js";
export { suggest, editDistance } from "./suggest.js";
export { checkIpv4, checkCidr, formatIpv4 } from "./literals.js";
