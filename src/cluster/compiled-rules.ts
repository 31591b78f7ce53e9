// A node's kube-proxy rules as the simulator runs them, compiled from the very lines its
// iptables-save text was printed from (printSaved) rather than by parsing that text again: the
// same lines through the same restore (loadSavedTables), so what `show iptables` prints is what
// the packets walk (test/cluster/compiled-rules.test.ts loads both ways and compares).

import type { NodeSaved } from "../kube/proxier/index.js";
import { loadSavedTables, type Ruleset } from "../net/netfilter/index.js";

// One Ruleset per written sync: the nodes that share a sync's text share its rules too.
const compiled = new WeakMap<NodeSaved, Ruleset>();

/** The loaded form of `saved.text`; a failing load reports positions in `file`. */
export function compiledRuleset(saved: NodeSaved, file: string): Ruleset {
  let rs = compiled.get(saved);
  if (rs === undefined) {
    rs = loadSavedTables(saved.tables, file);
    compiled.set(saved, rs);
  }
  return rs;
}
