// Upstream's packet-flow expectations (runPacketFlowTests), replayed against the rules svcspec
// writes for the same objects, through upstream's own tracer semantics (upstream-tracer.ts).

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { writeRestore, type ProxierConfig } from "../../src/kube/proxier/index.js";
import type { EndpointSlice, Service } from "../../src/world/k8s.js";
import { loadRestore, tracePacket } from "./upstream-tracer.js";

const DIR = new URL("../fixtures/upstream/flows/", import.meta.url).pathname;

interface Flow {
  name: string;
  sourceIP: string;
  protocol: string;
  destIP: string;
  destPort: number;
  output: string;
  masq: boolean;
}
interface FlowFile {
  test: string;
  rules: string;
  manifests: string;
  proxier: ProxierConfig;
  nodeIPs: string[];
  flows: Flow[];
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".json") && !f.endsWith(".manifests.json")).sort();

function generate(ff: FlowFile): string {
  const objs = JSON.parse(readFileSync(DIR + ff.manifests, "utf8")) as Array<Service | EndpointSlice>;
  const services = objs.filter((o): o is Service => o.kind === "Service");
  const slices = objs.filter((o): o is EndpointSlice => o.kind === "EndpointSlice");
  return writeRestore(services, slices, ff.proxier);
}

describe("upstream packet flows", () => {
  it("has at least 60 transcribed flows", () => {
    const n = files.reduce((acc, f) => acc + (JSON.parse(readFileSync(DIR + f, "utf8")) as FlowFile).flows.length, 0);
    expect(n).toBeGreaterThanOrEqual(60);
  });
  for (const f of files) {
    const ff = JSON.parse(readFileSync(DIR + f, "utf8")) as FlowFile;
    describe(ff.test, () => {
      const rules = generate(ff);
      it("stored rules file is what the writer produces", () => {
        expect(readFileSync(DIR + ff.rules, "utf8")).toBe(rules);
      });
      const tables = loadRestore(rules);
      for (const flow of ff.flows) {
        it(flow.name, () => {
          const got = tracePacket(tables, flow.sourceIP, flow.protocol.toLowerCase(), flow.destIP, String(flow.destPort), ff.nodeIPs);
          expect({ output: got.output, masq: got.masq }, got.matches.join("\n")).toEqual({ output: flow.output, masq: flow.masq });
        });
      }
    });
  }
});
