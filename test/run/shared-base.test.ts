// The scenarios of a file share the base world's derived control plane (rules, topology, loaded
// rulesets) for speed. Sharing must not leak: every scenario still starts from a fresh copy of
// the base world — no conntrack entries, ports or changes from the scenarios before it.

import { describe, expect, it } from "vitest";
import { deliveries, runSpec } from "../behaviours/helpers.js";

const SPEC = `spec "shared base"

cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod web-1 on node1 labels app=web listen tcp/8080
  pod web-2 on node2 labels app=web listen tcp/8080
  pod tester on node2
}

service web {
  selector app=web
  port http tcp 80 -> 8080
  cluster-ip 10.96.0.50
}

scenario "first: a connection, and a change" {
  send tcp from tester to web:80 expect connected
  set pod web-1 not-ready
  send tcp from tester to web:80 expect delivered-to web-2
}

scenario "second: nothing of the first is left" {
  show conntrack node2
  send tcp from tester to web:80 expect delivered-to any-of web-1,web-2
  show conntrack node2
}

scenario "third: the same change again, derived the same way" {
  set pod web-1 not-ready
  send tcp from tester to web:80 expect delivered-to web-2
}

scenario "fourth: another change alone is not the first one's" {
  set pod web-2 not-ready
  send tcp from tester to web:80 expect delivered-to web-1
}

scenario "fifth: both changes, one after the other" {
  set pod web-1 not-ready
  set pod web-2 not-ready
  send tcp from tester to web:80 expect rejected
}

scenario "sixth: a change that fails, twice" {
  set service web external-traffic-policy Local
  send tcp from tester to web:80 expect delivered-to any-of web-1,web-2
}

scenario "seventh: a change that fails, again" {
  set service web external-traffic-policy Local
}
`;

describe("scenarios sharing the base control plane", () => {
  it("start from an empty conntrack table, the first ephemeral port and the unchanged world", async () => {
    const run = await runSpec(SPEC);
    for (const s of run.result.scenarios.filter((x) => !/fails/.test(x.title))) expect(s.status, s.title).toBe("passed");
    const second = "second: nothing of the first is left";
    expect(run.probe(second, 0).output ?? "").toBe("");
    // Both endpoints again: the first scenario's `set pod web-1 not-ready` did not stay.
    expect(deliveries(run.probe(second, 1).branches).map(([pod]) => pod).sort()).toEqual(["web-1", "web-2"]);
    // The same first source port as the first scenario's first probe: a fresh network.
    expect(run.probe(second, 2).output).toContain("sport=40000");
    expect(run.probe(second, 2).output).not.toContain("sport=40001");
  });

  it("remembers a failed change's error and reports it in every scenario that makes it", async () => {
    const run = await runSpec(SPEC);
    const a = run.step("sixth: a change that fails, twice", 0);
    const b = run.step("seventh: a change that fails, again", 0);
    expect(a.status).toBe("failed");
    expect(a.error).toMatch(/externalTrafficPolicy|external-traffic-policy/i);
    expect(b.status).toBe("failed");
    expect(b.error).toBe(a.error);
    // After the failed change the world is the base one.
    expect(run.probe("sixth: a change that fails, twice", 0).status).toBe("passed");
  });
});
