// The netfilter interpreter's public face, what the packet walker (src/net/sim) and the
// `svcspec trace --rules` command use.
//
//   loadRuleset(text, file?)            iptables-save / iptables-restore text → Ruleset
//                                       (throws RulesetParseError only)
//   applyRestore(ruleset, text, opts)   `iptables-restore [--noflush]` on top of a ruleset;
//                                       returns the new ruleset, the input stays untouched
//   runTable(ruleset, table, hook, pkt, ctx)
//                                       every branch one table takes at one hook
//   printSave(ruleset)                  the ruleset as `iptables-save` prints it
//   traceDump(text, opts)               one packet through one node's dump

export type {
  TableName,
  HookName,
  PacketView,
  MatchContext,
  RecentLists,
  Verdict,
  NatAction,
  RuleStep,
  RecentUpdate,
  EvalBranch,
} from "./api.js";
export { CT, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from "./api.js";
export { RulesetParseError } from "./errors.js";
export type { RulesetErrorPosition } from "./errors.js";
export type { Ruleset, Table, Chain, Rule, Policy } from "./ruleset.js";
export { emptyRuleset } from "./ruleset.js";
export { loadRuleset, loadSavedTables, applyRestore } from "./restore.js";
export type { SavedTableLines } from "./restore.js";
export type { RestoreOptions } from "./restore.js";
export { runTable } from "./eval.js";
export { printSave } from "./save.js";
export { traceDump } from "./trace-dump.js";
export type { TraceDumpOptions, TraceDumpResult, TraceBranch } from "./trace-dump.js";
