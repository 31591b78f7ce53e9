// Shared test helpers: parse + build a .svcspec text with fixtures readable by relative path.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "../../src/lang/parse.js";
import { buildWorld } from "../../src/world/build.js";
import type { Diagnostic } from "../../src/lang/diagnostic.js";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

export function build(src: string, file = `${FIXTURES}/t.svcspec`) {
  const parsed = parse(src, file);
  if (parsed.diagnostics.length > 0) throw new Error(`test input does not parse: ${JSON.stringify(parsed.diagnostics)}`);
  return buildWorld(parsed.ast, { file, readFile: (p) => (p === file ? src : readFileSync(p, "utf8")) });
}

export const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === "error");

export const CLUSTER = `cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod nginx-1 on node1 labels run=my-nginx listen http=tcp/80 tcp/443
  client laptop 203.0.113.7
}
`;
