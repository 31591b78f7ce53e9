// Bundles the CLI with esbuild: importing chevrotain unbundled costs ~0.5 s at start-up,
// the bundle loads in a fraction of that. mocha and its JUnit reporter stay external: they
// are loaded only when a JUnit report is asked for.
import { build } from "esbuild";
import { chmodSync, existsSync, readdirSync, rmSync } from "node:fs";

const banner = [
  "#!/usr/bin/env node",
  "import { createRequire as __svcspecCreateRequire } from 'node:module';",
  "const require = __svcspecCreateRequire(import.meta.url);",
].join("\n");

const result = await build({
  metafile: true,
  entryPoints: {
    svcspec: "src/cli/main.ts",
    ...(existsSync("src/run/worker.ts") ? { worker: "src/run/worker.ts" } : {}),
    // The kernel engine's per-namespace agent, found next to the running bundle.
    ...(existsSync("src/lab/agent.ts") ? { "lab-agent": "src/lab/agent.ts" } : {}),
  },
  outdir: "dist",
  bundle: true,
  // Start-up is part of every run (cold_start_ratio in bench/): code only some runs need (the
  // kernel engine, the simulator before the first probe, YAML, reports) goes to chunks loaded by
  // the dynamic imports that already guard it, and a minified bundle is quicker to compile.
  // Chunks sit next to the entries (import.meta.url-relative paths keep working).
  splitting: true,
  chunkNames: "[name]-[hash]",
  // No keepNames: it wraps every closure creation in a call (the rule compiler makes closures
  // per rule), and nothing reads function or class names.
  minify: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  external: ["mocha", "mocha-junit-reporter"],
  banner: { js: banner },
  logLevel: "warning",
});
chmodSync("dist/svcspec.js", 0o755);
// Chunks of earlier builds (their names carry a content hash): drop those this build did not write.
const written = new Set(Object.keys(result.metafile.outputs).map((p) => p.replace(/^dist\//, "")));
for (const f of readdirSync("dist")) {
  if (/-[A-Z0-9]{8}\.js(\.map)?$/.test(f) && !written.has(f)) rmSync(`dist/${f}`, { force: true });
}
