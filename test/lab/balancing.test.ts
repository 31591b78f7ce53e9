// Randomness in the kernel: the statistic match picks an endpoint per connection and an ECMP
// route (hashed on ports in the lab) picks a node per flow. The engine repeats a probe until
// every expected endpoint was seen and reports each distinct outcome as a branch with its share.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelLab } from "../../src/lab/kernel-lab.js";
import { handTopology } from "./hand-topology.js";
import { labSkipReason } from "./lab-env.js";

describe.skipIf(labSkipReason !== null)("kernel engine: load balancing and ECMP", () => {
  let lab: KernelLab;
  beforeAll(async () => {
    lab = await KernelLab.create(handTopology({ rules: { secondEndpoint: true }, externalIpVia: "both" }));
  }, 60_000);
  afterAll(async () => {
    await lab?.destroy();
  });

  it("repeats until both endpoints of a Service were seen; shares sum to 1", async () => {
    const out = await lab.probe({ protocol: "tcp", from: "client", dst: "192.168.1.11", dport: 30080 }, { expectEndpoints: ["nginx-1", "b2"] });
    const hosts = new Set(out.branches.map((b) => b.deliveredTo?.host));
    expect(hosts).toEqual(new Set(["nginx-1", "b2"]));
    expect(out.branches.reduce((s, b) => s + b.probability, 0)).toBeCloseTo(1, 9);
    const toB2 = out.branches.find((b) => b.deliveredTo?.host === "b2")!;
    // Through node1, DNATed to 10.244.2.5 and masqueraded to node1's eth0 (the egress to node2).
    expect(toB2).toMatchObject({ result: "connected", via: ["node1", "node2"], masqueraded: true, sourceSeen: { ip: "192.168.1.11" } });
    const toNginx = out.branches.find((b) => b.deliveredTo?.host === "nginx-1")!;
    expect(toNginx.sourceSeen?.ip).toBe("10.244.1.1");
  }, 60_000);

  it("an ECMP route spreads flows over both nodes, each its own branch", async () => {
    const out = await lab.probe({ protocol: "tcp", from: "client", dst: "198.51.100.10", dport: 80 }, { minAttempts: 20 });
    const firstHops = new Set(out.branches.map((b) => b.via[0]));
    expect(firstHops).toEqual(new Set(["node1", "node2"]));
    for (const b of out.branches) expect(b.result).toBe("connected");
  }, 60_000);

  it("reports the bridge and hairpin settings as the kernel holds them", async () => {
    expect(await lab.hairpinText("node1")).toContain("/sys/class/net/veth-nginx-1/brport/hairpin_mode: 1");
    expect(await lab.bridgeText("node1")).toMatch(/cni0: <[^>]*UP[^>]*>/);
  }, 30_000);
});
