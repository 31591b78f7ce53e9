// Bundles the CLI with esbuild: importing chevrotain unbundled costs ~0.5 s at start-up,
// the bundle loads in a fraction of that. mocha and its JUnit reporter stay external: they
// are loaded only when a JUnit report is asked for.
//
// Start-up is part of every run (cold_start_ratio in bench/). Node 20 has no compile cache for
// modules, so the CLI itself is one CommonJS bundle (dist/svcspec.cjs) that the launcher
// dist/svcspec.js compiles through vm.Script with V8's code cache (see scripts/launcher.cjs).
// Everything in dist/ is CommonJS (dist/package.json says so): an ES-module entry alone costs
// node its ESM loader at start-up.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

// import.meta in the sources (the worker and lab agent are found next to the running bundle; the
// tsx-only import.meta.resolve) as the CommonJS bundle's own URL and resolution.
const importMetaBanner =
  "var __svcspecImportMeta = { url: require('node:url').pathToFileURL(__filename).href, resolve: (s) => require('node:url').pathToFileURL(require.resolve(s)).href };";

// `node scripts/build.mjs --outdir DIR` builds elsewhere than dist/ (to compare builds).
const outdirFlag = process.argv.indexOf("--outdir");
const outdir = outdirFlag >= 0 ? process.argv[outdirFlag + 1] : "dist";

const common = {
  metafile: true,
  outdir,
  bundle: true,
  // No keepNames: it wraps every closure creation in a call (the rule compiler makes closures
  // per rule), and nothing reads function or class names.
  minify: true,
  platform: "node",
  target: "node20",
  sourcemap: true,
  external: ["mocha", "mocha-junit-reporter"],
  logLevel: "warning",
  format: "cjs",
  define: { "import.meta": "__svcspecImportMeta" },
  banner: { js: importMetaBanner },
};

// Node built-ins that cost start-up time (each loads a tree of internal modules) but that most
// runs never use: child_process (commander's executable subcommands, the kernel engine),
// crypto, worker_threads (--jobs), readline. In the CLI bundle each is an object of getters that
// loads the real module on the first access of any of its exports.
const LAZY_BUILTINS = ["child_process", "crypto", "worker_threads", "readline"];
const lazyBuiltins = {
  name: "lazy-builtins",
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join("|")})$`);
    b.onResolve({ filter }, (args) =>
      // The getter module's own require() is of the real built-in.
      args.namespace === "lazy-builtin"
        ? { path: args.path, external: true }
        : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
      // Export names as this node has them; an export the build's node lacks reads as undefined.
      const names = Object.keys(createRequire(import.meta.url)(`node:${args.path}`));
      const contents = [
        `let real;`,
        `const load = () => (real ??= require(${JSON.stringify(`node:${args.path}`)}));`,
        `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
      ].join("\n");
      return { contents, loader: "js" };
    });
  },
};

// chevrotain's imports of lodash-es get scripts/fast-lodash.mjs's functions in place of lodash's
// own (the rest of lodash-es as it is): its pickBy was most of the grammar recording that every
// run pays at start-up (see that file). Other importers, fast-lodash.mjs itself included, get
// lodash-es unchanged.
const fastLodashFile = fileURLToPath(new URL("./fast-lodash.mjs", import.meta.url));
const fastLodash = {
  name: "fast-lodash",
  setup(b) {
    b.onResolve({ filter: /^lodash-es$/ }, (args) => {
      if (args.namespace === "fast-lodash" || !/[\\/]node_modules[\\/](@chevrotain[\\/][^\\/]+|chevrotain)[\\/]/.test(args.importer)) return undefined;
      return { path: "lodash-es", namespace: "fast-lodash", pluginData: { resolveDir: args.resolveDir } };
    });
    b.onLoad({ filter: /.*/, namespace: "fast-lodash" }, (args) => ({
      contents: `export * from "lodash-es";\nexport { has, pickBy } from ${JSON.stringify(fastLodashFile)};\n`,
      resolveDir: args.pluginData.resolveDir,
      loader: "js",
    }));
  },
};

// One file per entry: with the code cache, code a run never calls costs little (V8 compiles
// functions lazily, and the cache holds those the warm-up run compiled).
const cli = await build({
  ...common,
  entryPoints: { svcspec: "src/cli/main.ts" },
  outExtension: { ".js": ".cjs" },
  plugins: [lazyBuiltins, fastLodash],
  // import() of mocha (JUnit reports) becomes require(): the vm.Script the launcher compiles
  // has no module loader for dynamic imports, and mocha is CommonJS anyway.
  supported: { "dynamic-import": false },
});
// The worker-thread entry (--jobs) and the kernel engine's per-namespace agent, found next to
// the running bundle. The worker keeps import() for an executor module given by path.
const workers = await build({
  ...common,
  entryPoints: {
    ...(existsSync("src/run/worker.ts") ? { worker: "src/run/worker.ts" } : {}),
    ...(existsSync("src/lab/agent.ts") ? { "lab-agent": "src/lab/agent.ts" } : {}),
  },
});
writeFileSync(`${outdir}/package.json`, JSON.stringify({ type: "commonjs" }) + "\n");

// The launcher names the cache after the bundle's content: a rebuilt bundle never meets an
// old cache. (V8 itself rejects a cache made by another node binary or other V8 flags.)
const bundleHash = createHash("sha256").update(readFileSync(`${outdir}/svcspec.cjs`)).digest("hex").slice(0, 16);
const launcher = readFileSync(fileURLToPath(new URL("./launcher.cjs", import.meta.url)), "utf8").replace("__SVCSPEC_BUNDLE_HASH__", bundleHash);
writeFileSync(`${outdir}/svcspec.js`, launcher);
chmodSync(`${outdir}/svcspec.js`, 0o755);

// Outputs of earlier builds: chunks of the former code-split build (their names carry a content
// hash) and code caches of other bundles; drop those this build did not write.
const written = new Set([...Object.keys(workers.metafile.outputs), ...Object.keys(cli.metafile.outputs)].map((p) => basename(p)));
for (const f of readdirSync(outdir)) {
  if (/-[A-Z0-9]{8}\.js(\.map)?$/.test(f) && !written.has(f)) rmSync(join(outdir, f), { force: true });
  if (/^svcspec\.cjs\..*\.cache$/.test(f)) rmSync(join(outdir, f), { force: true });
}

// Warm the code cache with one real run (the functions a run compiles go into the cache);
// a failure here only means the first user run writes it instead.
const warmSpec = fileURLToPath(new URL("./warm.svcspec", import.meta.url));
spawnSync(process.execPath, [join(outdir, "svcspec.js"), "run", warmSpec, "--no-color"], { stdio: "ignore" });
