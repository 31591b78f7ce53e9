// `--engine both`'s comparison: the kernel samples, so it must reach exactly the endpoints the
// simulator predicts — or only some of them when session affinity pins the client.
import { describe, expect, it } from "vitest";
import type { ProbeBranch, ProbeOutcome, TraceEvent } from "../../src/net/outcome.js";
import { compareOutcomes } from "../../src/run/compare.js";
import type { Directory } from "../../src/run/directory.js";

const dir = { displayName: (h: string) => h.replace(/^pod:default\//, "") } as unknown as Directory;
const req = { protocol: "tcp" as const, from: "pod:default/client", dst: "10.96.0.70", dport: 80 };

const AFFINITY: TraceEvent = {
  phase: "request",
  host: "node1",
  kind: "rule",
  text: "node1 nat PREROUTING KUBE-SVC-X #2: jump",
  table: "nat",
  chain: "KUBE-SVC-X",
  hook: "PREROUTING",
  rule: "-A KUBE-SVC-X -m comment --comment \"default/web:http -> 10.244.1.2:8080\" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A",
};

const branch = (pod: string, trace: TraceEvent[] = []): ProbeBranch => ({
  probability: 0.5,
  choices: [],
  result: "connected",
  signal: "syn-ack",
  replyFrom: { ip: "10.96.0.70", port: 80 },
  deliveredTo: { host: `pod:default/${pod}`, ip: "10.244.1.2", port: 8080 },
  sourceSeen: { ip: "10.244.1.3", port: 40000 },
  via: [],
  masqueraded: false,
  explanation: "",
  trace,
});
const outcome = (engine: "sim" | "kernel", branches: ProbeBranch[]): ProbeOutcome => ({ request: req, engine, branches });

describe("comparing the simulator with the kernel", () => {
  it("wants every predicted endpoint reached without session affinity", () => {
    const sim = outcome("sim", [branch("web-1"), branch("web-2")]);
    expect(compareOutcomes(sim, outcome("kernel", [branch("web-2")]), dir)).toEqual(["endpoints reached: simulator web-1,web-2, kernel web-2"]);
    expect(compareOutcomes(sim, outcome("kernel", [branch("web-2"), branch("web-1")]), dir)).toEqual([]);
  });

  it("accepts some of them when session affinity pinned the client, never another one", () => {
    const sim = outcome("sim", [branch("web-1", [AFFINITY]), branch("web-2")]);
    expect(compareOutcomes(sim, outcome("kernel", [branch("web-2")]), dir)).toEqual([]);
    expect(compareOutcomes(sim, outcome("kernel", [branch("web-3")]), dir)).toContain("endpoints reached: simulator web-1,web-2, kernel web-3");
    expect(compareOutcomes(sim, outcome("kernel", [{ ...branch("web-1"), result: "timeout", deliveredTo: null, sourceSeen: null, replyFrom: null }]), dir)[0]).toMatch(/^outcome: /);
  });
});
