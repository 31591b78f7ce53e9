import type { Ruleset } from "./ruleset.js";

export interface RestoreOptions {
  /** `iptables-restore --noflush`: only the chains the text declares are flushed. */
  noflush: boolean;
  /** File name for error positions. */
  file?: string;
}

export function loadRuleset(text: string, file?: string): Ruleset {
  void text; void file;
  throw new Error("netfilter: loadRuleset body lands in the next commit");
}

export function applyRestore(ruleset: Ruleset, text: string, opts: RestoreOptions): Ruleset {
  void ruleset; void text; void opts;
  throw new Error("netfilter: applyRestore body lands in the next commit");
}
