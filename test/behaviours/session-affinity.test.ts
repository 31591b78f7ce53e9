// Session affinity (ClientIP): kube-proxy's `-m recent` rules send a client back to the endpoint it
// reached first. The first probe splits over the endpoints; each branch leaves its own recent list,
// so the simulator keeps one "world" per list and a later probe from that client runs in each
// world: it goes where that world's first connection went, and its branches say so ("earlier: …").

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod web-1 on node1 labels app=web listen tcp/8080
  pod web-2 on node2 labels app=web listen tcp/8080
  pod client on node1
  pod other on node2
}

service web {
  selector app=web
  port http tcp 80 -> 8080
  cluster-ip 10.96.0.70
  session-affinity ClientIP
}

scenario "sticky" {
  send tcp from client to 10.96.0.70:80 expect connected
  send tcp from client to 10.96.0.70:80 expect connected
  send tcp from other to 10.96.0.70:80 expect connected
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("session affinity ClientIP", () => {
  it("splits the first connection over the endpoints", () => {
    expect(run.failures()).toBe("");
    const first = run.branches("sticky", 0);
    expect(first.map((b) => [b.deliveredTo?.host, b.probability]).sort()).toEqual([
      ["pod:default/web-1", 0.5],
      ["pod:default/web-2", 0.5],
    ]);
  });

  it("sends the same client back where its first connection went, in each world", () => {
    const first = run.branches("sticky", 0);
    const second = run.branches("sticky", 1);
    expect(second).toHaveLength(2);
    for (const b of second) {
      expect(b.probability).toBe(0.5);
      // The world is named by the first probe's choice, and the endpoint is that choice's.
      expect(b.choices).toHaveLength(1);
      const before = first.find((x) => `earlier: ${x.choices[0]}` === b.choices[0]);
      expect(before, b.choices[0]).toBeDefined();
      expect(b.deliveredTo!.host).toBe(before!.deliveredTo!.host);
    }
    expect(new Set(second.map((b) => b.deliveredTo!.host))).toEqual(new Set(["pod:default/web-1", "pod:default/web-2"]));
  });

  it("does not stick another client: it splits again in each world, and each branch names its world", () => {
    const third = run.branches("sticky", 2);
    // Two worlds × two endpoints for the new client.
    expect(third).toHaveLength(4);
    for (const b of third) expect(b.probability).toBe(0.25);
    expect(new Set(third.map((b) => b.choices.join(" / "))).size).toBe(4);
    for (const b of third) expect(b.choices[0]).toMatch(/^earlier: KUBE-SEP-\w+ 10\.244\.\d\.2:8080$/);
    expect(new Set(third.map((b) => b.deliveredTo!.host))).toEqual(new Set(["pod:default/web-1", "pod:default/web-2"]));
  });
});
