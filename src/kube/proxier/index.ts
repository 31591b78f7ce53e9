// kube-proxy (iptables mode) rule writer: what one node's kube-proxy writes, byte for byte.
export type { ProxierConfig } from "./config.js";
export type { NodeReads } from "./writer.js";
export { writeRestore, proxierFamily, LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from "./writer.js";
export { sortRestoreCanonical, parseRestoreDump, commentOf } from "./sort.js";
export { ClusterNodeTables, jumpRules, nodeTables, normalizeRule, kernelProbability, printSaved, splitRuleWords } from "./save-format.js";
export type { NodeSaved, SavedChain, SavedTable } from "./save-format.js";
export type { JumpRule } from "./save-format.js";
export { hash16, serviceChainNames, endpointChainName, goProbability, probability, isServiceChainName } from "./names.js";
export { readManifests } from "./manifests.js";
export type { ManifestObjects } from "./manifests.js";
