// Test-only: upstream's unit-test packet tracer (proxier_test.go tracePacket/runChain), in our
// words. The netfilter interpreter (src/net/netfilter traceDump) models the kernel, not this
// tracer; upstream's flow expectations are defined by these simpler semantics, so the rule
// writer is checked against them here.

import { splitRuleWords } from "../../src/kube/proxier/index.js";
import { cidrContains, parseCIDRSloppy, parseIPSloppy } from "../../src/kube/proxier/ip.js";

interface Value {
  value: string;
  negated: boolean;
}

interface TraceRule {
  raw: string;
  src?: Value;
  dst?: Value;
  proto?: Value;
  srcType?: Value;
  dstType?: Value;
  dport?: Value;
  jump?: string;
  toDestination?: string;
  probability?: string;
  stateful: boolean;
}

export type Tables = Map<string, Map<string, TraceRule[]>>;

export function loadRestore(text: string): Tables {
  const tables: Tables = new Map();
  let cur: Map<string, TraceRule[]> | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      cur = new Map();
      tables.set(line.slice(1), cur);
    } else if (line.startsWith(":") && cur) {
      cur.set(line.slice(1).split(" ")[0]!, []);
    } else if (line.startsWith("-A ") && cur) {
      const w = splitRuleWords(line);
      const r: TraceRule = { raw: line, stateful: false };
      let neg = false;
      for (let i = 2; i < w.length; i++) {
        const t = w[i]!;
        if (t === "!") {
          neg = true;
          continue;
        }
        const val = (): Value => ({ value: w[++i]!, negated: neg });
        switch (t) {
          case "-m":
            i++;
            break;
          case "-s": r.src = val(); break;
          case "-d": r.dst = val(); break;
          case "-p": r.proto = val(); break;
          case "--src-type": r.srcType = val(); break;
          case "--dst-type": r.dstType = val(); break;
          case "--dport": r.dport = val(); break;
          case "-j": r.jump = w[++i]; break;
          case "--to-destination": r.toDestination = w[++i]; break;
          case "--probability": r.probability = w[++i]; break;
          case "--rcheck":
          case "--mark":
          case "--ctstate":
            r.stateful = true;
            if (t !== "--rcheck") i++;
            break;
          default:
            break;
        }
        neg = false;
      }
      const chain = w[1]!;
      if (!cur.has(chain)) cur.set(chain, []);
      cur.get(chain)!.push(r);
    }
  }
  // The fake starts with the built-in chains; kube-proxy's jump rules hook KUBE-SERVICES.
  const nat = tables.get("nat");
  if (nat) nat.set("PREROUTING", [{ raw: "-A PREROUTING -j KUBE-SERVICES", jump: "KUBE-SERVICES", stateful: false }]);
  return tables;
}

function addressMatches(v: Value, ip: string): boolean {
  const addr = parseIPSloppy(ip)!;
  let m: boolean;
  if (v.value.includes("/")) m = cidrContains(parseCIDRSloppy(v.value)!, addr);
  else m = parseIPSloppy(v.value)!.bytes.join(".") === addr.bytes.join(".");
  return v.negated ? !m : m;
}

const eq = (v: Value, s: string) => (v.value === s) !== v.negated;

export function tracePacket(
  tables: Tables,
  sourceIP: string,
  protocol: string,
  destIPIn: string,
  destPort: string,
  nodeIPs: string[],
): { output: string; masq: boolean; matches: string[] } {
  const local = new Set(["127.0.0.1", "::1", ...nodeIPs]);
  const outputs: string[] = [];
  const matches: string[] = [];
  let masq = false;
  let destIP = destIPIn;
  const ruleMatches = (r: TraceRule): boolean => {
    if (r.src && !addressMatches(r.src, sourceIP)) return false;
    if (r.srcType && !eq(r.srcType, local.has(sourceIP) ? "LOCAL" : "not-matched")) return false;
    if (r.proto && !eq(r.proto, protocol)) return false;
    if (r.dst && !addressMatches(r.dst, destIP)) return false;
    if (r.dstType && !eq(r.dstType, local.has(destIP) ? "LOCAL" : "not-matched")) return false;
    if (r.dport && !eq(r.dport, destPort)) return false;
    return !r.stateful;
  };
  const runChain = (table: string, chain: string): boolean => {
    const rules = tables.get(table)?.get(chain);
    if (!rules) return false;
    for (const r of rules) {
      if (!r.jump || !ruleMatches(r)) continue;
      matches.push(r.raw);
      if (r.jump === "KUBE-MARK-MASQ") {
        masq = true;
        continue;
      }
      if (r.jump === "ACCEPT" || r.jump === "REJECT" || r.jump === "DROP") {
        outputs.push(r.jump);
        return true;
      }
      if (r.jump === "DNAT") {
        outputs.push(r.toDestination!);
        return true;
      }
      const terminated = runChain(table, r.jump);
      if (terminated && r.probability === undefined) return true;
    }
    return false;
  };
  runChain("nat", "PREROUTING");
  if (outputs.length > 0) destIP = outputs[0]!.split(":")[0]!;
  for (const c of ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"]) runChain("filter", c);
  return { output: outputs.join(", "), masq, matches };
}
