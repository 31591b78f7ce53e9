// Bad inputs at the parse level: each asserts the exact position, message and suggestion of
// every diagnostic, so a regression in recovery or wording shows up as a diff.
import { describe, expect, it } from "vitest";
import { parse } from "../../src/lang/parse.js";

type Expected = [line: number, column: number, message: string, suggestion: string | null];

const cases: [name: string, text: string, expected: Expected[]][] = [
  ["misspelt cluster statement", "cluster {\n  nod node1 10.0.0.1\n}\n", [[2, 3, "unknown statement `nod` in a cluster block", "node"]]],
  ["misspelt probe", "scenario \"s\" {\n  sned tcp from a to b:80\n}\n", [[2, 3, "unknown statement `sned` in a scenario", "send"]]],
  ["misspelt expectation", "scenario \"s\" {\n  send tcp from a to b:80 expect conected\n}\n", [[2, 34, "expected an expectation (`connected`, `dropped`, `reply-from`, `answer`, `contains`, ...) after `expect`, got `conected`", "connected"]]],
  ["misspelt expectation below", "scenario \"s\" {\n  send tcp from a to b:80\n    expect replyfrom x\n}\n", [[3, 12, "expected an expectation (`connected`, `dropped`, `reply-from`, `answer`, `contains`, ...) after `expect`, got `replyfrom`", "reply-from"]]],
  ["misspelt service field", "service web {\n  selector app=web\n  typo Local\n}\n", [[3, 3, "unknown statement `typo` in a service block", "type"]]],
  ["policy case", "service web {\n  external-traffic-policy local\n}\n", [[2, 27, "expected `Cluster` or `Local` after `external-traffic-policy`, got `local`", "Local"]]],
  ["bad octet", "cluster {\n  node node1 10.0.0.300\n}\n", [[2, 14, "`10.0.0.300` is not an IPv4 address: octet 300 is above 255", null]]],
  ["three octets", "cluster {\n  client laptop 203.0.113\n}\n", [[2, 17, "`203.0.113` is not an IPv4 address: it has 3 parts, an address has 4 (a.b.c.d)", null]]],
  ["leading zero", "cluster {\n  node node1 10.0.0.01\n}\n", [[2, 14, "`10.0.0.01` is not an IPv4 address: octet `01` has a leading zero", null]]],
  ["bad prefix", "cluster {\n  pod-cidr 10.244.0.0/33\n}\n", [[2, 12, "`10.244.0.0/33` is not a CIDR: prefix length 33 is not between 0 and 32", null]]],
  ["cidr without prefix", "cluster {\n  service-cidr 10.96.0.0\n}\n", [[2, 16, "expected a CIDR (address/prefix, e.g. `10.0.0.0/16`) after `service-cidr`, got the address `10.96.0.0` without a prefix length", null]]],
  ["empty prefix", "cluster {\n  pod-cidr 10.244.0.0/\n}\n", [[2, 12, "`10.244.0.0/` is missing its prefix length after `/` (e.g. `10.244.0.0/16`)", null]]],
  ["port name", "scenario \"s\" {\n  send tcp from a to b:http\n}\n", [[2, 24, "expected a port number after `:`, got `http`", null]]],
  ["port range", "scenario \"s\" {\n  send tcp from a to b:70000\n}\n", [[2, 24, "port 70000 is out of range: ports are 1-65535", null]]],
  ["port zero", "service web {\n  port 0\n}\n", [[2, 8, "port 0 is out of range: ports are 1-65535", null]]],
  ["node port range empty", "cluster {\n  node-port-range 30000-20000\n}\n", [[2, 19, "node port range `30000-20000` is empty: 30000 is above 20000", null]]],
  ["switch", "cluster {\n  masquerade-all yes\n}\n", [[2, 18, "expected `on` or `off` after `masquerade-all`, got `yes`", null]]],
  ["orphan expect", "scenario \"s\" {\n  expect connected\n}\n", [[2, 3, "`expect` must follow a probe: put it on the line of a `send`, `trace`, `resolve`, `nslookup` or `show`, or on the lines right below it", null]]],
  ["expect kind", "scenario \"s\" {\n  show iptables node1 nat expect connected\n}\n", [[2, 34, "`connected` is not an expectation of `show`; `show` takes `contains`, `lines` or a text block", null]]],
  ["dns expectation on send", "scenario \"s\" {\n  send tcp from a to b:80 expect nxdomain\n}\n", [[2, 34, "`nxdomain` is not an expectation of `send`; `send` takes `connected`, `dropped`, `rejected`, `refused`, `unreachable`, `masqueraded`, `reply-from`, `delivered-to`, `source-seen`, `via`", null]]],
  ["missing to", "scenario \"s\" {\n  send tcp from a node2:80\n}\n", [[2, 19, "expected `to` after `a`, got `node2`", null]]],
  ["missing brace eof", "cluster {\n  node a 1.1.1.1\n", [[1, 9, "this `{` of the cluster block is never closed: add `}` before the end of the file", null]]],
  ["missing brace before scenario", "cluster {\n  node a 1.1.1.1\nscenario \"x\" {\n  send tcp from a to b:80\n}\n", [[1, 9, "this `{` of the cluster block is never closed: add `}` before `scenario` on line 3", null]]],
  ["stray brace", "}\nspec \"x\"\n", [[1, 1, "unexpected `}`: no block is open here", null]]],
  ["unterminated string", "spec \"abc\ncluster {\n}\n", [[1, 6, "this string is not closed: add `\"` at its end (strings cannot span lines)", null]]],
  ["unterminated heredoc", "apply <<YAML\nfoo: 1\n", [[1, 7, "the heredoc `<<YAML` is never closed: end it with a line holding only `YAML`", null]]],
  ["unexpected char", "cluster {\n  node a 1.1.1.1 @\n}\n", [[2, 18, "unexpected character `@`", null]]],
  ["trailing comma", "scenario \"s\" {\n  send tcp from a to b:80 expect connected,\n}\n", [[2, 44, "expected an expectation (`connected`, `dropped`, `reply-from`, `answer`, `contains`, ...) after `,`, got end of line", null]]],
  ["two statements", "scenario \"s\" {\n  send tcp from a to b:80 connected\n}\n", [[2, 27, "expected the end of the line after `80`, got `connected` (one statement per line)", null]]],
  ["missing protocol", "scenario \"s\" {\n  send from a to b:80\n}\n", [[2, 8, "expected `tcp` or `udp` after `send`, got `from`", null]]],
  ["apply nothing", "apply\n", [[1, 6, "expected a quoted string or a heredoc (`<<TAG`) after `apply`, got end of line", null]]],
  ["heredoc without tag", "apply << \n", [[1, 7, "a heredoc is `<<TAG` alone at the end of its line (e.g. `apply <<YAML`), its body on the lines below, ended by a line holding only TAG", null]]],
  ["listen without port", "cluster {\n  pod p on n listen tcp/http\n}\n", [[2, 25, "expected a port number after `/`, got `http`", null]]],
  ["label without value", "cluster {\n  pod p on n labels app\n}\n", [[2, 24, "expected `=` after `app`, got end of line", null]]],
  ["route without via", "cluster {\n  route 10.0.0.0/8 node1\n}\n", [[2, 20, "expected `via` after `10.0.0.0/8`, got `node1`", null]]],
  ["scenario without title", "scenario {\n}\n", [[1, 10, "expected a quoted string after `scenario`, got `{`", null]]],
  ["lb missing service", "scenario \"s\" {\n  send tcp from a to lb::80\n}\n", [[2, 25, "expected a name after `:`, got `:`", null]]],
  ["unknown top", "clutser {\n}\n", [[1, 1, "unknown statement `clutser` at the top level", "cluster"], [2, 1, "unexpected `}`: no block is open here", null]]],
  ["timeout without ClientIP", "service web {\n  session-affinity None timeout 30\n}\n", [[2, 33, "a `timeout` only applies to `session-affinity ClientIP`", null]]],
  ["replicas zero", "cluster {\n  deployment web replicas 0\n}\n", [[2, 27, "a deployment needs at least 1 replica", null]]],
  ["show unknown", "scenario \"s\" {\n  show iptable node1\n}\n", [[2, 8, "expected what to show (`iptables`, `endpoints`, `services`, `routes`, `conntrack`, `hairpin`, `bridge`, `pods`) after `show`, got `iptable`", "iptables"]]],
  ["quantifier orphan", "scenario \"s\" {\n  set pod a ready\n  never dropped\n}\n", [[3, 3, "`never` must follow a probe: put it on the line of a `send`, `trace`, `resolve`, `nslookup` or `show`, or on the lines right below it", null]]],
];

describe("parse errors", () => {
  it("has at least 25 cases", () => expect(cases.length).toBeGreaterThanOrEqual(25));
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const { diagnostics } = parse(text, "t.svcspec");
      // A suggestion is the whole help sentence, as every layer writes it (Diagnostic.suggestion).
      const withHelp = expected.map(([l, c, m, s]) => [l, c, m, s === null ? null : `did you mean \`${s}\`?`]);
      expect(diagnostics.map((d) => [d.pos.line, d.pos.column, d.message, d.suggestion ?? null])).toEqual(withHelp);
      for (const d of diagnostics) {
        expect(d.severity).toBe("error");
        expect(d.pos.file).toBe("t.svcspec");
        expect(d.sourceLine).toBe(text.split("\n")[d.pos.line - 1]);
      }
    });
  }

  it("reports every bad line of a file, at most one error per line, and keeps the good statements", () => {
    const text = [
      "cluster {",
      "  nod node1 10.0.0.1",
      "  node node2 10.0.0.2",
      "  client laptop 10.0.0.999 extra",
      "}",
      'scenario "s" {',
      "  send tcp from laptop to node2:http expect conected",
      "  send tcp from laptop to node2:80 expect connected",
      "  expect dropped",
      "}",
      "",
    ].join("\n");
    const { ast, diagnostics } = parse(text, "f.svcspec");
    expect(diagnostics.map((d) => d.pos.line)).toEqual([2, 4, 7]);
    const cluster = ast.items.find((i) => i.kind === "cluster");
    expect(cluster?.kind === "cluster" && cluster.statements.map((s) => s.kind)).toEqual(["node"]);
    const scenario = ast.items.find((i) => i.kind === "scenario");
    // The second send keeps the `expect dropped` line below it; only the broken first send is dropped.
    expect(scenario?.kind === "scenario" && scenario.statements.map((s) => s.kind)).toEqual(["send"]);
    const send = scenario?.kind === "scenario" ? scenario.statements[0] : undefined;
    expect(send?.kind === "send" && send.expects.map((e) => e.check.kind)).toEqual(["connected", "dropped"]);
  });
});
