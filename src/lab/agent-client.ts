// The parent side of a lab agent (src/lab/agent.ts): starts `ip netns exec NS node AGENT HOST`
// and exchanges JSON lines with it. The agent is found next to the running bundle
// (dist/lab-agent.js, built by scripts/build.mjs) or, when svcspec runs from source (tests,
// tsx), as src/lab/agent.ts run through tsx's loader.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, renameSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AgentProbeReply, ServerReport } from "./agent.js";
import type { DnsZone } from "./dns-wire.js";
import { LabCommandError } from "./exec.js";

export type { AgentProbeReply, ServerReport };

export interface SeenEvent extends ServerReport {
  event: "seen";
  app: "dns";
  protocol: "tcp" | "udp";
  qid: number;
}

let cachedCommand: string[] | null = null;

/** How to start an agent: the node arguments before the host name. */
export function agentCommand(): string[] {
  if (cachedCommand) return cachedCommand;
  const here = dirname(fileURLToPath(import.meta.url));
  // Bundled: dist/svcspec.js and dist/lab-agent.js side by side.
  const bundled = join(here, "lab-agent.js");
  if (existsSync(bundled)) return (cachedCommand = [bundled]);
  const source = join(here, "agent.ts");
  if (!existsSync(source)) {
    throw new Error(`the lab agent is missing: neither ${bundled} nor ${source} exists (run \`npm run build\`)`);
  }
  const require = createRequire(import.meta.url);
  // From source: bundle the agent once per process with esbuild (a dev dependency) — a
  // plain-JS agent starts in a fraction of the time tsx's loader needs, and a lab starts
  // several. Without esbuild, run the source through tsx.
  try {
    const esbuildName = "esbuild";
    const esbuild = require(esbuildName) as typeof import("esbuild");
    const stamp = createHash("sha256").update(source).update(String(statSync(source).mtimeMs)).update(String(statSync(join(here, "dns-wire.ts")).mtimeMs)).digest("hex").slice(0, 12);
    const out = join(tmpdir(), `svcspec-lab-agent-${stamp}.mjs`);
    if (!existsSync(out)) {
      const tmp = `${out}.${process.pid}.tmp`;
      esbuild.buildSync({ entryPoints: [source], bundle: true, platform: "node", format: "esm", target: "node20", outfile: tmp, logLevel: "silent" });
      renameSync(tmp, out);
    }
    return (cachedCommand = [out]);
  } catch {
    const loader = join(dirname(require.resolve("tsx/package.json")), "dist", "loader.mjs");
    return (cachedCommand = ["--import", pathToFileURL(loader).href, source]);
  }
}

export class Agent {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly seenListeners = new Set<(e: SeenEvent) => void>();
  private exited = false;
  private stderr = "";
  readonly exitPromise: Promise<void>;

  constructor(
    readonly ns: string,
    readonly host: string,
  ) {
    this.child = spawn("ip", ["netns", "exec", ns, process.execPath, ...agentCommand(), host], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.exitPromise = new Promise((resolve) => {
      this.child.on("exit", () => {
        this.exited = true;
        for (const p of this.pending.values()) p.reject(new Error(`lab agent in ${ns} exited: ${this.stderr.trim().slice(0, 500)}`));
        this.pending.clear();
        resolve();
      });
    });
    this.child.on("error", (e) => {
      this.stderr += e.message;
    });
    this.child.stdin!.on("error", () => {
      // The agent died; pending requests are rejected by the exit handler.
    });
    this.child.stderr!.on("data", (b: Buffer) => {
      this.stderr = (this.stderr + b.toString("utf8")).slice(-4000);
    });
    const lines = createInterface({ input: this.child.stdout! });
    lines.on("line", (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg.event === "seen") {
        for (const l of this.seenListeners) l(msg as unknown as SeenEvent);
        return;
      }
      const p = this.pending.get(msg.id as number);
      if (!p) return;
      this.pending.delete(msg.id as number);
      if (typeof msg.error === "string") p.reject(new Error(`lab agent in ${ns}: ${msg.error}`));
      else p.resolve(msg);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(`lab agent in ${this.ns} is not running: ${this.stderr.trim().slice(0, 500)}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(JSON.stringify({ id, ...body }) + "\n");
    });
  }

  async hello(): Promise<void> {
    await this.request({ cmd: "hello" });
  }

  async listen(protocol: "TCP" | "UDP", port: number, app: "echo" | "dns", zone?: DnsZone): Promise<void> {
    await this.request({ cmd: "listen", protocol, port, app, zone });
  }

  async probe(body: {
    cmd: "connect" | "udp" | "dns";
    dst: string;
    dport: number;
    sport?: number;
    timeoutMs: number;
    protocol?: "tcp" | "udp";
    name?: string;
    qtype?: string;
    qid?: number;
  }): Promise<AgentProbeReply> {
    return (await this.request(body)) as unknown as AgentProbeReply;
  }

  /** Reads a file inside the agent's namespace. */
  async read(path: string): Promise<string> {
    return (await this.request({ cmd: "read", path })).text as string;
  }

  /** Runs a program inside the agent's namespace; rejects when it exits non-zero. */
  async exec(argv: string[], input?: string): Promise<string> {
    const r = await this.request({ cmd: "exec", argv, input });
    if (r.code !== 0) throw new LabCommandError(`${argv.slice(0, 3).join(" ")} in ${this.ns}`, String(r.stderr ?? ""), r.code as number);
    return r.stdout as string;
  }

  onSeen(listener: (e: SeenEvent) => void): () => void {
    this.seenListeners.add(listener);
    return () => this.seenListeners.delete(listener);
  }

  /** Stops the agent and waits for it to be gone. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGKILL");
    await this.exitPromise;
  }

  /** For exit handlers that cannot wait. */
  killNow(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}
