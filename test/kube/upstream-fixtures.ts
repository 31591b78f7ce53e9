// kube-proxy's upstream proxier test cases (transcribed to test/fixtures/upstream/flows): each
// case's Services and EndpointSlices and the proxier configuration it ran with, for tests that
// write rules from them.

import { readFileSync, readdirSync } from "node:fs";
import type { ProxierConfig } from "../../src/kube/proxier/index.js";
import type { EndpointSlice, Service } from "../../src/world/k8s.js";

const DIR = new URL("../fixtures/upstream/flows/", import.meta.url).pathname;

export interface UpstreamFixture {
  name: string;
  services: Service[];
  slices: EndpointSlice[];
  proxier: ProxierConfig;
}

/** Every case, in file-name order. */
export function upstreamFixtures(): UpstreamFixture[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith(".json") && !f.endsWith(".manifests.json"))
    .sort()
    .map((f) => {
      const ff = JSON.parse(readFileSync(DIR + f, "utf8")) as { manifests: string; proxier: ProxierConfig };
      const objs = JSON.parse(readFileSync(DIR + ff.manifests, "utf8")) as Array<Service | EndpointSlice>;
      return {
        name: f,
        services: objs.filter((o): o is Service => o.kind === "Service"),
        slices: objs.filter((o): o is EndpointSlice => o.kind === "EndpointSlice"),
        proxier: ff.proxier,
      };
    });
}
