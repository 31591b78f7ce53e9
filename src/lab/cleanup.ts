// Nothing a lab creates may outlive it: active labs are destroyed on normal exit, on SIGINT /
// SIGTERM (then the signal is raised again so the process ends as it would have), and
// `svcspec lab clean` removes what a killed run (SIGKILL, power loss) left behind — only
// namespaces named with svcspec's prefix, after killing the processes inside them.

import { execFileSync } from "node:child_process";
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
}

/** Removes every svcspec lab namespace on this machine, killing processes still inside them. */
export function cleanStaleLabs(): CleanReport {
  const namespaces = listLabNamespaces();
  const killed: number[] = [];
  for (const ns of namespaces) {
    let pids: number[] = [];
    try {
      pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" })
        .split(/\s+/)
        .filter((p) => /^\d+$/.test(p))
        .map(Number);
    } catch {
      pids = [];
    }
    for (const pid of pids) {
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
  return { namespaces, killed };
}
