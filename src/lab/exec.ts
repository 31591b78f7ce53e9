// Running ip(8), iptables and shell scripts for the kernel engine, plus the prerequisite check.
// Commands that act inside a lab always go through `ip netns exec NS ...`: nothing here ever
// touches the root namespace's interfaces, routes, sysctls or rules.

import { execFileSync, spawn } from "node:child_process";

export class LabCommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`${command} failed${code === null ? "" : ` (exit ${code})`}: ${stderr.trim() || "no error output"}`);
    this.name = "LabCommandError";
  }
}

/** Something the kernel engine needs is missing; the CLI turns this into exit 2. */
export class LabPrerequisiteError extends Error {
  constructor(readonly missing: string[]) {
    super(`the kernel engine needs ${missing.join("; ")}`);
    this.name = "LabPrerequisiteError";
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new LabCommandError(`${file} ${args.slice(0, 4).join(" ")}`, e.message, null)));
    child.on("close", (code) => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve({ stdout, stderr });
      else reject(new LabCommandError(describe(file, args), stderr || stdout, code));
    });
    child.stdin.on("error", () => {
      // The command exited before reading its input; its exit status tells what happened.
    });
    child.stdin.end(input ?? "");
  });
}

function describe(file: string, args: string[]): string {
  if (file === "ip" && args[0] === "netns" && args[1] === "exec") {
    const cmd = args[3] === "sh" ? "shell script" : args.slice(3, 5).join(" ");
    return `${cmd} in ${args[2]}`;
  }
  return `${file} ${args.slice(0, 3).join(" ")}`;
}

/** Runs a command inside a namespace. */
export function runIn(ns: string, args: string[], input?: string): Promise<RunResult> {
  return run("ip", ["netns", "exec", ns, ...args], input);
}

/** Runs a shell script inside a namespace. */
export function shIn(ns: string, script: string, input?: string): Promise<RunResult> {
  return run("ip", ["netns", "exec", ns, "sh", "-c", script], input);
}

function works(file: string, args: string[]): string | null {
  try {
    return execFileSync(file, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch {
    return null;
  }
}

export type IptablesBackend = "nf_tables" | "legacy";

export interface LabPrerequisites {
  backend: IptablesBackend;
  iptablesVersion: string;
}

/**
 * Checks what the kernel engine needs: Linux, root, iproute2 with netns support, iptables
 * (iptables, iptables-restore, iptables-save) and a shell. On Debian: the packages `iproute2`
 * and `iptables`. Throws LabPrerequisiteError naming every missing piece.
 */
export function checkPrerequisites(): LabPrerequisites {
  const missing: string[] = [];
  if (process.platform !== "linux") {
    throw new LabPrerequisiteError([`Linux (this is ${process.platform})`]);
  }
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    missing.push("root privileges to create network namespaces (run as root)");
  }
  if (works("ip", ["-V"]) === null || works("ip", ["netns", "list"]) === null) {
    missing.push("the `ip` command with netns support (Debian package iproute2)");
  }
  const version = works("iptables", ["--version"]);
  for (const tool of ["iptables-restore", "iptables-save"]) {
    if (works(tool, ["--version"]) === null) missing.push(`\`${tool}\` (Debian package iptables)`);
  }
  if (version === null) missing.push("`iptables` (Debian package iptables)");
  // kube-proxy's rules count packets with -m nfacct; the counters are created with `nfacct`.
  if (works("nfacct", ["version"]) === null) missing.push("`nfacct` (Debian package nfacct)");
  if (works("sh", ["-c", "true"]) === null) missing.push("a POSIX shell `sh`");
  if (missing.length > 0) throw new LabPrerequisiteError(missing);
  const v = version!.trim();
  return { backend: /legacy/.test(v) ? "legacy" : "nf_tables", iptablesVersion: v };
}
