// The JUnit XML report, written by mocha-junit-reporter 2.2.1 in Ant mode — the only output of
// it that validates against both Jenkins' junit-10.xsd and the Ant JUnit schema. Mocha 11 is
// driven programmatically: one suite per spec file, one test per scenario whose body just
// replays the precomputed verdict. mocha and the reporter are loaded lazily (they stay outside
// the bundle and cost start-up time), only when a JUnit report is asked for.
//
// What the reporter cannot express on its own is patched in a subclass:
//   - <error> (input errors, internal errors, steps that could not run) next to <failure>,
//     with the suite's errors count — the reporter only knows failures;
//   - times from the results, not from replaying them, and the run's start as timestamp;
//   - testcase name = scenario title, classname = the file path (dotted, without extension),
//     both stable across runs;
//   - the XML comes back as a string instead of being written where MOCHA_FILE points.

import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type MochaType from "mocha";
import type { FileResult, RunResult, ScenarioResult } from "../run/result.js";
import { diagnosticsText, inputErrorCaseTitle, inputErrorDiagnostics, scenarioFailureLines, scenarioFailureMessage } from "./failure.js";

/** The error a replayed test throws: `kind` decides <failure> or <error>. */
class ReplayedVerdict extends Error {
  constructor(
    message: string,
    details: string,
    readonly kind: "failure" | "error",
    type: string,
  ) {
    super(message);
    this.name = type;
    // mocha-junit-reporter writes err.stack as the element's text: the whole failure block.
    this.stack = `${message}\n\n${details}`;
  }
}

/** Jenkins splits classname at the last dot into package and class: scenarios/a/b.svcspec → scenarios.a.b */
export function junitClassname(file: string): string {
  return file
    .replace(/\\/g, "/")
    .replace(/^(\.\/)+/, "")
    .replace(/^\/+/, "")
    .replace(/\.svcspec$/, "")
    .replace(/\//g, ".");
}

/** Environment variables mocha-junit-reporter reads in preference to its options. */
const REPORTER_ENV = ["MOCHA_FILE", "ATTACHMENTS", "ANT_MODE", "JENKINS_MODE", "PROPERTIES", "ANT_HOSTNAME"];

interface SuiteInfo {
  file: FileResult;
  data?: { testsuite: Array<{ _attr: Record<string, unknown> }> };
}

interface TestInfo {
  durationMs: number;
}

export async function renderJUnitReport(run: RunResult): Promise<string> {
  const { default: Mocha } = (await import("mocha")) as unknown as { default: typeof MochaType };
  const { default: JUnitReporter } = (await import("mocha-junit-reporter")) as unknown as {
    default: typeof import("mocha-junit-reporter");
  };

  const suites = new Map<MochaType.Suite, SuiteInfo>();
  const tests = new Map<MochaType.Test, TestInfo>();
  const startedMs = Date.parse(run.startedAt);
  let xml = "";

  class SvcspecJUnitReporter extends JUnitReporter {
    constructor(runner: MochaType.Runner, options?: MochaType.MochaOptions) {
      super(runner, options);
      // Mocha's root suite holds the file suites; the reporter would print it as one more,
      // empty, <testsuite> and give it the ids and times of the real ones.
      const baseSuiteBegin = this._onSuiteBegin;
      this._onSuiteBegin = (suite) => {
        if (!suite.root) baseSuiteBegin.call(this, suite);
      };
      const baseSuiteEnd = this._onSuiteEnd;
      this._onSuiteEnd = (suite) => {
        if (suite.root) return;
        baseSuiteEnd.call(this, suite);
        const info = suites.get(suite);
        const attr = info?.data?.testsuite[0]?._attr;
        if (info && attr) attr.time = info.file.durationMs; // milliseconds; the reporter formats seconds
      };
    }

    override getTestsuiteData(suite: MochaType.Suite) {
      const data = super.getTestsuiteData(suite);
      const info = suites.get(suite);
      if (info) {
        info.data = data;
        data.testsuite[0]!._attr.timestamp = startedMs;
      }
      return data;
    }

    override getTestcaseData(test: MochaType.Test, err?: unknown) {
      const data = super.getTestcaseData(test, err);
      const head = data.testcase[0] as { _attr: Record<string, unknown> };
      const suiteInfo = test.parent ? suites.get(test.parent) : undefined;
      head._attr.name = test.title;
      head._attr.classname = suiteInfo ? junitClassname(suiteInfo.file.file) : test.parent?.title ?? "";
      head._attr.time = (tests.get(test)?.durationMs ?? 0) / 1000;
      if (err instanceof ReplayedVerdict && err.kind === "error") {
        for (const node of data.testcase) {
          if ("failure" in node) {
            node.error = node.failure;
            delete node.failure;
          }
        }
        const attr = suiteInfo?.data?.testsuite[0]?._attr;
        if (attr) attr.errors = Number(attr.errors ?? 0) + 1;
      }
      return data;
    }

    override writeXmlToDisk(text: string): void {
      xml = text;
    }
  }

  const mocha = new Mocha({
    reporter: SvcspecJUnitReporter as unknown as string,
    reporterOptions: {
      mochaFile: "",
      antMode: true,
      antHostname: hostname() || "localhost",
      includePending: true,
      testsuitesTitle: "svcspec",
      rootSuiteTitle: "svcspec",
    },
    fullTrace: true, // keep our failure text as is: mocha's stack filter would rewrite paths in it
    diff: false,
    color: false,
  });

  for (const f of run.files) {
    const suite = Mocha.Suite.create(mocha.suite, f.file);
    suites.set(suite, { file: f });
    const add = (title: string, durationMs: number, verdict: ReplayedVerdict | null | "skip") => {
      const test =
        verdict === "skip"
          ? new Mocha.Test(title)
          : new Mocha.Test(title, () => {
              if (verdict) throw verdict;
            });
      tests.set(test, { durationMs });
      suite.addTest(test);
    };
    const errs = inputErrorDiagnostics(f);
    if (errs.length > 0) {
      const internal = inputErrorCaseTitle(f) === "internal error";
      const message = `${errs.length} ${internal ? "internal error" : `input error${errs.length === 1 ? "" : "s"}`}: ${errs[0]!.message}`;
      add(inputErrorCaseTitle(f), 0, new ReplayedVerdict(message, diagnosticsText(f), "error", internal ? "InternalError" : "InputError"));
    }
    for (const s of f.scenarios) add(s.title, s.durationMs, verdictOf(s));
  }

  const saved = new Map<string, string | undefined>();
  for (const k of REPORTER_ENV) {
    saved.set(k, process.env[k]);
    delete process.env[k];
  }
  try {
    await new Promise<void>((resolve) => {
      // The reporter reads its settings (and the environment) while mocha.run constructs it.
      mocha.run(() => resolve());
      for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
    });
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
    mocha.dispose();
  }
  return xml;
}

function verdictOf(s: ScenarioResult): ReplayedVerdict | null | "skip" {
  if (s.status === "passed") return null;
  if (s.status === "skipped") return "skip";
  const details = scenarioFailureLines(s, { traces: true }).join("\n");
  if (s.status === "error") return new ReplayedVerdict(scenarioFailureMessage(s), details, "error", "StepError");
  return new ReplayedVerdict(scenarioFailureMessage(s), details, "failure", "ExpectationFailed");
}

export async function writeJUnitReport(run: RunResult, path: string): Promise<void> {
  const xml = await renderJUnitReport(run);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, xml);
}
