// Extension targets by `-j` name. ACCEPT, DROP, RETURN and chain names are standard targets
// handled by the rule parser itself.

import type { TargetModule } from "../ext.js";
import { ctTarget, notrackTarget } from "./ct.js";
import { logTarget, nflogTarget } from "./log.js";
import { markTarget } from "./mark.js";
import { dnatTarget, masqueradeTarget, snatTarget } from "./nat.js";
import { rejectTarget } from "./reject.js";

export const TARGETS: ReadonlyMap<string, TargetModule> = new Map(
  [rejectTarget, dnatTarget, snatTarget, masqueradeTarget, markTarget, logTarget, nflogTarget, notrackTarget, ctTarget].map((t) => [t.name, t]),
);

export const UNSUPPORTED_TARGETS: ReadonlyMap<string, string> = new Map([
  ["REDIRECT", "REDIRECT is not supported by svcspec (it needs the incoming interface's primary address)"],
  ["QUEUE", "QUEUE hands packets to userspace; svcspec cannot follow them"],
  ["NFQUEUE", "NFQUEUE hands packets to userspace; svcspec cannot follow them"],
  ["CONNMARK", "CONNMARK is not supported: svcspec's conntrack does not carry a connection mark"],
  ["TPROXY", "TPROXY is not supported"],
  ["TCPMSS", "TCPMSS is not supported: packets are modelled without TCP options"],
  ["SET", "SET (ipset) is not supported"],
  ["TRACE", "TRACE is not supported"],
]);
