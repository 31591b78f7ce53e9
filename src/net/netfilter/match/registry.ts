// The match extensions svcspec executes, by `-m` name. A name not here is an error, never a
// skipped match: skipping it would change verdicts.

import type { MatchModule } from "../ext.js";
import { addrtypeMatch } from "./addrtype.js";
import { commentMatch, nfacctMatch } from "./comment.js";
import { conntrackMatch, stateMatch } from "./conntrack.js";
import { markMatch } from "./mark.js";
import { physdevMatch } from "./physdev.js";
import { multiportMatch, sctpMatch, tcpMatch, udpMatch } from "./ports.js";
import { recentMatch } from "./recent.js";
import { statisticMatch } from "./statistic.js";

export const MATCHES: ReadonlyMap<string, MatchModule> = new Map(
  [tcpMatch, udpMatch, sctpMatch, multiportMatch, addrtypeMatch, markMatch, commentMatch, nfacctMatch, conntrackMatch, stateMatch, statisticMatch, recentMatch, physdevMatch].map((m) => [m.name, m]),
);

/** Known extensions svcspec deliberately refuses, with the reason. */
export const UNSUPPORTED_MATCHES: ReadonlyMap<string, string> = new Map([
  ["set", "ipset (-m set) is not supported: svcspec has no ipset state, so the rule cannot be evaluated faithfully"],
  ["icmp", "-m icmp is not supported: packets are modelled without ICMP types"],
  ["connmark", "-m connmark is not supported: svcspec's conntrack does not carry a connection mark"],
  ["limit", "-m limit is not supported: its verdict depends on packet rates svcspec does not model"],
  ["hashlimit", "-m hashlimit is not supported: its verdict depends on packet rates svcspec does not model"],
  ["string", "-m string is not supported: packets are modelled without payload"],
  ["u32", "-m u32 is not supported: packets are modelled without raw header bytes"],
  ["owner", "-m owner is not supported: svcspec's packets have no owning socket"],
  ["socket", "-m socket is not supported"],
  ["policy", "-m policy (IPsec) is not supported"],
  ["bpf", "-m bpf is not supported"],
  ["iprange", "-m iprange is not supported"],
  ["length", "-m length is not supported: packets are modelled without length"],
  ["ttl", "-m ttl is not supported: packets are modelled without TTL"],
  ["pkttype", "-m pkttype is not supported"],
  ["mac", "-m mac is not supported"],
]);
