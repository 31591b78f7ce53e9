// Nothing a lab creates may outlive it: active labs are destroyed on normal exit, on SIGINT /
// SIGTERM (then the signal is raised again so the process ends as it would have), and
// `svcspec lab clean` removes what a killed run (SIGKILL, power loss) left behind — only
// namespaces named with svcspec's prefix, after killing the processes inside them.

import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { LAB_NAMESPACE_PATTERN } from "./names.js";

export interface SyncDestroyable {
  destroySync(): void;
}

const active = new Set<SyncDestroyable>();
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  destroyAllSync();
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
  installed = false;
  process.kill(process.pid, signal);
}

function destroyAllSync(): void {
  for (const lab of [...active]) {
    try {
      lab.destroySync();
    } catch {
      // Keep going: the other labs must still go, and `svcspec lab clean` mops up.
    }
  }
  active.clear();
}

export function registerLab(lab: SyncDestroyable): void {
  active.add(lab);
  if (!installed) {
    installed = true;
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", destroyAllSync);
  }
}

export function unregisterLab(lab: SyncDestroyable): void {
  active.delete(lab);
}

/** Deletes namespaces by name; `-force` keeps going past one that is already gone. */
export function deleteNamespacesSync(names: string[]): void {
  if (names.length === 0) return;
  try {
    execFileSync("ip", ["-force", "-batch", "-"], { input: names.map((n) => `netns del ${n}`).join("\n") + "\n", stdio: ["pipe", "ignore", "ignore"] });
  } catch {
    // -force reports failures through its exit status; what remains is listed by `lab clean`.
  }
}

export function listLabNamespaces(): string[] {
  const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => LAB_NAMESPACE_PATTERN.test(n));
}

export interface CleanReport {
  namespaces: string[];
  killed: number[];
  /** Namespaces left alone because a live svcspec process still owns them (see `force`). */
  active: string[];
}

function pidsIn(ns: string): number[] {
  try {
    return execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
      .split(/\s+/)
      .filter((p) => /^\d+$/.test(p))
      .map(Number);
  } catch {
    return [];
  }
}

function parentOf(pid: number): number | null {
  try {
    const m = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Removes svcspec lab namespaces on this machine, killing processes still inside them. A lab's
 * agents are children of the svcspec process that built it, and exit when it dies: a namespace
 * whose agents still have their parent belongs to a running svcspec and is kept unless `force`.
 * `prefix` limits the sweep to one lab (tests use it so parallel labs are left alone).
 */
export function cleanStaleLabs(options: { prefix?: string; force?: boolean } = {}): CleanReport {
  const all = listLabNamespaces().filter((n) => !options.prefix || n.startsWith(`${options.prefix}-`));
  const labOf = (ns: string): string => ns.slice(0, ns.indexOf("-"));
  const pids = new Map(all.map((ns) => [ns, pidsIn(ns)]));
  // A lab is owned when any of its agents still has its parent: its switch, router and client
  // namespaces hold no process at all, and belong to the lab all the same.
  const ownedLabs = new Set(
    all
      .filter((ns) =>
        pids.get(ns)!.some((pid) => {
          const parent = parentOf(pid);
          return parent !== null && parent > 1 && existsSync(`/proc/${parent}`);
        }),
      )
      .map(labOf),
  );
  const killed: number[] = [];
  const active: string[] = [];
  const namespaces: string[] = [];
  for (const ns of all) {
    if (ownedLabs.has(labOf(ns)) && !options.force) {
      active.push(ns);
      continue;
    }
    namespaces.push(ns);
    for (const pid of pids.get(ns)!) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
      } catch {
        // already gone
      }
    }
  }
  deleteNamespacesSync(namespaces);
  return { namespaces, killed, active };
}
