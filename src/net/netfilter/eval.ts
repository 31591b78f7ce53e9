import type { EvalBranch, HookName, MatchContext, PacketView, TableName } from "./api.js";
import type { Ruleset } from "./ruleset.js";

export function runTable(ruleset: Ruleset, table: TableName, hook: HookName, pkt: PacketView, ctx: MatchContext): EvalBranch[] {
  void ruleset; void table; void hook; void pkt; void ctx;
  throw new Error("netfilter: runTable body lands in the next commit");
}
