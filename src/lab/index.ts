// The kernel engine: the same probes as the simulator, on real Linux netfilter in network
// namespaces. See kernel-lab.ts.
export { KernelLab, type KernelLabOptions, type KernelLabTimings, type KernelProbeOptions } from "./kernel-lab.js";
export type { DnsZone, DnsZoneRecord } from "./dns-wire.js";
export { checkPrerequisites, LabCommandError, LabPrerequisiteError, type IptablesBackend } from "./exec.js";
export { cleanStaleLabs, type CleanReport } from "./cleanup.js";
export { LabTopologyError } from "./plan.js";
