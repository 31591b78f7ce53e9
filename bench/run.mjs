// `npm run bench`: every speed figure of svcspec, measured on this machine in one run, printed as
// `name: value` lines (comments start with `#`). Never part of `npm test`.
//
//   npm run bench                      everything
//   npm run bench -- cold suite        only some groups: cold, suite, rules, trace, rss, kernel
//   npm run bench -- --runs 7          more repetitions for the medians (default 5)
//
// The CLI is measured as users run it: the esbuild bundle dist/svcspec.js, rebuilt first.
// Ratios are measured side by side (alternating runs), so machine load hits both sides alike.
// Inputs come from seeded generators (bench/gen.ts, bench/suite-gen.ts): runs compare.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsx = join(root, "node_modules", ".bin", "tsx");
const cli = join(root, "dist", "svcspec.js");

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const groups = args.filter((a, i) => !a.startsWith("--") && !(runsAt >= 0 && i === runsAt + 1));
const GROUPS = ["cold", "suite", "rules", "trace", "rss", "kernel"];
for (const g of groups) if (!GROUPS.includes(g)) throw new Error(`unknown group ${g}: use ${GROUPS.join(", ")}`);
const wants = (g) => groups.length === 0 || groups.includes(g);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = () => loadavg()[0].toFixed(2);
const say = (line) => process.stdout.write(line + "\n");
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a command; returns wall seconds, output and status. Throws on a failed start. */
function timed(cmd, argv, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd: root, encoding: "utf8", maxBuffer: 1 << 28, ...opts });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.error) throw r.error;
  return { wall, status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Runs a bench script under tsx and passes its `name: value` and `#` lines through. */
function passThrough(script, extra = []) {
  const r = timed(tsx, [join("bench", script), ...extra]);
  if (r.status !== 0) {
    say(`# ${script} failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    return {};
  }
  const figures = {};
  for (const line of r.stdout.split("\n")) {
    if (!line.trim()) continue;
    const m = /^([a-z0-9_]+): (.*)$/.exec(line);
    if (m) figures[m[1]] = m[2];
    if (m || line.startsWith("#")) say(line);
  }
  return figures;
}

say(`# svcspec bench ${new Date().toISOString()}`);
say(`# machine: ${cpus().length} cpus (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);

const build = timed(process.execPath, ["scripts/build.mjs"]);
if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stderr}`);

if (wants("cold")) {
  // One small spec, as a user runs it, against node doing nothing; alternated so load is shared.
  const spec = join("scenarios", "01-clusterip.svcspec");
  const nodeRuns = [];
  const cliRuns = [];
  timed(process.execPath, [cli, "run", spec, "--quiet"]); // warm the file cache
  for (let i = 0; i < Math.max(RUNS * 2 + 1, 11); i++) {
    nodeRuns.push(timed(process.execPath, ["-e", "0"]).wall);
    const r = timed(process.execPath, [cli, "run", spec, "--quiet"]);
    if (r.status !== 0) throw new Error(`svcspec run ${spec} exited ${r.status}:\n${r.stdout}${r.stderr}`);
    cliRuns.push(r.wall);
  }
  say(`# cold start: svcspec run ${spec} median ${(median(cliRuns) * 1000).toFixed(0)} ms, node -e 0 median ${(median(nodeRuns) * 1000).toFixed(0)} ms (${cliRuns.length} runs each, load ${load()})`);
  say(`cold_start_ratio: ${(median(cliRuns) / median(nodeRuns)).toFixed(2)}`);
}

if (wants("suite")) {
  const dir = mkdtempSync(join(tmpdir(), "svcspec-bench-suite-"));
  try {
    const gen = timed(tsx, ["bench/suite-gen.ts", dir, "100", "10", "7"]);
    if (gen.status !== 0) throw new Error(`suite-gen failed:\n${gen.stderr}`);
    const walls = [];
    let summary = "";
    for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 2) + 1); i++) {
      const r = timed(process.execPath, [cli, "run", dir, "--quiet", "--no-color"]);
      // Every generated expectation holds: a failing run would time the failure path instead.
      if (r.status !== 0) throw new Error(`the generated suite did not pass (exit ${r.status}):\n${r.stdout.slice(-2000)}${r.stderr}`);
      walls.push(r.wall);
      summary = r.stdout.trim().split("\n").slice(-2).join(", ");
    }
    say(`# suite: 100 files, 1,000 scenarios, 5,000 probes: ${summary}; walls ${walls.map((w) => w.toFixed(2)).join(" ")} s (load ${load()})`);
    say(`suite_1000_wall_s: ${median(walls).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (wants("rules")) {
  say(`# rules (load ${load()}):`);
  passThrough("rules.ts");
}

if (wants("trace")) {
  say(`# trace (load ${load()}):`);
  passThrough("trace.ts");
  // The same size of ruleset as a user meets it: `svcspec trace --rules` on a node's saved dump
  // (read, load, check, trace one packet), in a fresh process.
  const dir = mkdtempSync(join(tmpdir(), "svcspec-bench-dump-"));
  try {
    const dump = join(dir, "node.rules");
    const gen = timed(tsx, ["bench/dump-gen.ts", dump]);
    if (gen.status !== 0) throw new Error(`dump-gen failed:\n${gen.stderr}`);
    const probe = JSON.parse(gen.stdout.trim().split("\n").pop());
    const walls = [];
    for (let i = 0; i < 3; i++) {
      const r = timed(process.execPath, [cli, "trace", "--rules", dump, ...probe]);
      if (r.status !== 0 || !r.stdout.includes("DNAT to")) throw new Error(`svcspec trace --rules exited ${r.status}:\n${r.stdout.slice(0, 2000)}${r.stderr}`);
      walls.push(r.wall);
    }
    const size = readFileSync(dump).length;
    say(`# svcspec trace --rules on a 10,000-Service dump (${(size / 1e6).toFixed(1)} MB): walls ${walls.map((w) => w.toFixed(2)).join(" ")} s (load ${load()})`);
    say(`trace_cli_10k_s: ${median(walls).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (wants("rss")) {
  say(`# peak memory of the 10,000-Service run (load ${load()}):`);
  passThrough("peak-rss.ts");
}

if (wants("kernel")) {
  // Seconds per scenario of the same spec on both engines, from the JSON report's durations.
  const spec = join("scenarios", "01-clusterip.svcspec");
  const perScenario = (engine) => {
    const out = join(mkdtempSync(join(tmpdir(), "svcspec-bench-")), "run.json");
    try {
      const r = timed(process.execPath, [cli, "run", spec, "--quiet", "--engine", engine, "--reporter", "spec", "--reporter", `json:${out}`]);
      // Exit 1 (a scenario failed) still timed every scenario; anything else measured nothing.
      if (r.status !== 0 && r.status !== 1) return { error: `exit ${r.status}: ${(r.stdout + r.stderr).trim().split("\n").slice(-2).join(" | ")}` };
      const report = JSON.parse(readFileSync(out, "utf8"));
      const scenarios = (report.files ?? report.run?.files ?? []).flatMap((f) => f.scenarios ?? []).filter((s) => s.status !== "skipped");
      if (scenarios.length === 0) return { error: "no scenario ran" };
      const failed = scenarios.filter((s) => s.status === "failed").length;
      return { s: scenarios.reduce((a, s) => a + s.durationMs, 0) / 1000 / scenarios.length, n: scenarios.length, failed };
    } finally {
      rmSync(join(out, ".."), { recursive: true, force: true });
    }
  };
  if (!isRoot) say("kernel_vs_sim_ratio: skipped (the kernel engine needs root)");
  else {
    const sim = perScenario("sim");
    const kernel = perScenario("kernel");
    if (sim.error || kernel.error) say(`kernel_vs_sim_ratio: skipped (${sim.error ? `sim: ${sim.error}` : `kernel: ${kernel.error}`})`);
    else {
      say(`# ${spec}: kernel ${kernel.s.toFixed(3)} s/scenario, sim ${(sim.s * 1000).toFixed(2)} ms/scenario over ${sim.n} scenarios${kernel.failed ? ` (${kernel.failed} failed on the kernel engine)` : ""} (load ${load()})`);
      say(`kernel_vs_sim_ratio: ${(kernel.s / sim.s).toFixed(0)}`);
    }
  }
}
