// Bundles the CLI with esbuild: importing chevrotain unbundled costs ~0.5 s at start-up,
// the bundle loads in a fraction of that. mocha and its JUnit reporter stay external: they
// are loaded only when a JUnit report is asked for.
import { build } from "esbuild";
import { chmodSync, existsSync } from "node:fs";

const banner = [
  "#!/usr/bin/env node",
  "import { createRequire as __svcspecCreateRequire } from 'node:module';",
  "const require = __svcspecCreateRequire(import.meta.url);",
].join("\n");

await build({
  entryPoints: {
    svcspec: "src/cli/main.ts",
    ...(existsSync("src/run/worker.ts") ? { worker: "src/run/worker.ts" } : {}),
    // The kernel engine's per-namespace agent, found next to the running bundle.
    ...(existsSync("src/lab/agent.ts") ? { "lab-agent": "src/lab/agent.ts" } : {}),
  },
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  external: ["mocha", "mocha-junit-reporter"],
  banner: { js: banner },
  logLevel: "warning",
});
chmodSync("dist/svcspec.js", 0o755);
