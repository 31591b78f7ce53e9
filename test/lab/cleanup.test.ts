// Nothing a lab creates may outlive it: no namespace (hence no veth, bridge or rule, which live
// inside them) and no agent process — after a normal run, after a failed build, after a probe
// error, after SIGINT/SIGTERM, and (via `lab clean`'s sweep) after SIGKILL.

import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cleanStaleLabs } from "../../src/lab/cleanup.js";
import { KernelLab } from "../../src/lab/kernel-lab.js";
import { newLabPrefix } from "../../src/lab/names.js";
import { handTopology } from "./hand-topology.js";
import { labSkipReason } from "./lab-env.js";

const here = dirname(fileURLToPath(import.meta.url));

function namespacesWith(prefix: string): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

interface ChildInfo {
  prefix: string;
  namespaces: string[];
  pids: number[];
}

async function startChild(): Promise<{ child: ReturnType<typeof spawn>; info: ChildInfo }> {
  const loader = join(here, "../../node_modules/tsx/dist/loader.mjs");
  const child = spawn(process.execPath, ["--import", loader, join(here, "interrupted-child.ts")], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before building its lab: ${stderr}`)));
  });
  return { child, info: JSON.parse(line) as ChildInfo };
}

describe.skipIf(labSkipReason !== null)("kernel lab cleanup", () => {
  it("leaves nothing behind after a normal run", async () => {
    const lab = await KernelLab.create(handTopology());
    const out = await lab.probe({ protocol: "tcp", from: "client", dst: "192.168.1.11", dport: 30080 });
    expect(out.branches[0]!.result).toBe("connected");
    const pids = lab.agentPids();
    expect(pids.length).toBeGreaterThanOrEqual(3); // nginx-1, node1, node2 and the client
    expect(namespacesWith(lab.prefix)).toHaveLength(lab.namespaces().length);
    await lab.destroy();
    expect(namespacesWith(lab.prefix)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);

  it("leaves nothing behind when the build fails half-way", async () => {
    const prefix = newLabPrefix();
    const topo = handTopology();
    topo.hosts.find((h) => h.name === "node2")!.iptables = "*nat\n-A NO-SUCH-CHAIN -j ACCEPT\nCOMMIT\n";
    await expect(KernelLab.create(topo, { prefix })).rejects.toThrow(/iptables-restore|shell script/);
    expect(namespacesWith(prefix)).toEqual([]);
  }, 60_000);

  it("leaves nothing behind after a probe error", async () => {
    const lab = await KernelLab.create(handTopology());
    const pids = lab.agentPids();
    await expect(lab.probe({ protocol: "tcp", from: "nobody", dst: "192.168.1.11", dport: 30080 })).rejects.toThrow(/no host "nobody"/);
    await lab.destroy();
    expect(namespacesWith(lab.prefix)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`leaves nothing behind when the run is interrupted with ${signal}`, async () => {
      const { child, info } = await startChild();
      expect(info.pids.length).toBeGreaterThanOrEqual(4);
      expect(namespacesWith(info.prefix).length).toBe(info.namespaces.length);
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_code, sig) => r(sig)));
      child.kill(signal);
      // The child re-raises the signal after cleaning up, so it dies of it.
      expect(await exited).toBe(signal);
      expect(namespacesWith(info.prefix)).toEqual([]);
      expect(await waitFor(() => info.pids.every((p) => !alive(p)), 3000)).toBe(true);
    }, 60_000);
  }

  it("after SIGKILL the agents exit on their own and the sweep removes the namespaces", async () => {
    const { child, info } = await startChild();
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGKILL");
    await exited;
    // The agents see their stdin close and exit; the namespaces stay until swept.
    expect(await waitFor(() => info.pids.every((p) => !alive(p)), 5000)).toBe(true);
    expect(namespacesWith(info.prefix).length).toBe(info.namespaces.length);
    const report = cleanStaleLabs({ prefix: info.prefix });
    expect(report.namespaces.sort()).toEqual([...info.namespaces].sort());
    expect(report.active).toEqual([]);
    expect(namespacesWith(info.prefix)).toEqual([]);
  }, 60_000);

  it("the sweep keeps a lab that a live process still owns", async () => {
    const lab = await KernelLab.create(handTopology());
    try {
      // This process owns the lab's agents: without force, it is kept.
      const report = cleanStaleLabs({ prefix: lab.prefix });
      expect(report.namespaces).toEqual([]);
      expect(report.active.length).toBeGreaterThan(0);
    } finally {
      await lab.destroy();
    }
    expect(namespacesWith(lab.prefix)).toEqual([]);
  }, 60_000);
});
