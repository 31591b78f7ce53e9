// mocha-junit-reporter 2.2.1 ships no types. Only what src/report/junit.ts touches is declared:
// the constructor and the hooks it overrides (see node_modules/mocha-junit-reporter/index.js).
declare module "mocha-junit-reporter" {
  import type Mocha from "mocha";

  /** An XML node in the `xml` package's object notation: `{ testsuite: [{ _attr: {...} }, ...] }`. */
  export type XmlNode = Record<string, unknown>;

  class MochaJUnitReporter {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions);
    _onSuiteBegin: (suite: Mocha.Suite) => void;
    _onSuiteEnd: (suite: Mocha.Suite) => void;
    getTestsuiteData(suite: Mocha.Suite): { testsuite: Array<{ _attr: Record<string, unknown> } & XmlNode> };
    getTestcaseData(test: Mocha.Test, err?: unknown): { testcase: XmlNode[] };
    writeXmlToDisk(xml: string, filePath: string): void;
  }
  export = MochaJUnitReporter;
}
