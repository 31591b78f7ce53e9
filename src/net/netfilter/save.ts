import type { Ruleset } from "./ruleset.js";

export function printSave(ruleset: Ruleset): string {
  void ruleset;
  throw new Error("netfilter: printSave body lands in the next commit");
}
