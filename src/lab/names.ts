// Names the kernel engine gives to what it creates, and how `svcspec lab clean` recognises
// them later. Every network namespace of one lab shares a per-run prefix `svs<6 hex>`, so labs
// of concurrent runs never collide and a crashed run's leftovers can be found by name alone.

import { createHash, randomBytes } from "node:crypto";

/** Namespaces svcspec created: `svs` + 6 hex digits + "-" + host (or "-seg_" + segment). */
export const LAB_NAMESPACE_PATTERN = /^svs[0-9a-f]{6}-/;

/** Kernel limit for interface names (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;

/**
 * Namespace names are files under /run/netns; keep them short enough to read in `ip netns list`
 * and far below NAME_MAX. Longer host names keep a readable head and a hash tail.
 */
const MAX_NS_NAME = 60;

export function newLabPrefix(): string {
  return `svs${randomBytes(3).toString("hex")}`;
}

function fit(name: string): string {
  if (name.length <= MAX_NS_NAME) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, MAX_NS_NAME - 9)}~${hash}`;
}

function safe(part: string): string {
  // ip(8) refuses "/" and the names "." and ".."; keep namespace names to a plain alphabet.
  return part.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** The namespace that plays a host ("pod:default/web-1" becomes "svs…-pod_default_web-1"). */
export function hostNamespace(prefix: string, host: string): string {
  return fit(`${prefix}-${safe(host)}`);
}

/** The namespace that holds a switch segment's bridge. */
export function segmentNamespace(prefix: string, segment: string): string {
  return fit(`${prefix}-seg_${safe(segment)}`);
}
