// Judging `expect` lines against a probe's branches. Every expectation is a predicate over one
// branch; its quantifier says over how many branches it must hold: `always` (every branch),
// `sometimes` (at least one), `never` (none). A failure names what was expected, what was got
// on the branch that broke it (with its endpoint and probability), and why, in the engine's
// own words.

import type { Expectation, PacketCheck, DnsCheck, HostRef } from "../lang/ast.js";
import type { ProbeBranch } from "../net/outcome.js";
import type { ExpectationResult } from "./result.js";
import type { Directory } from "./directory.js";
import { branchPhrase } from "./branch-name.js";


export function describeResult(b: ProbeBranch, dir: Directory): string {
  switch (b.result) {
    case "connected":
      return b.deliveredTo ? `connected to ${dir.displayName(b.deliveredTo.host)}` : "connected";
    case "refused":
      return b.signal === "rst" ? "refused (TCP RST)" : `refused (${b.signal.replace(/-/g, " ")})`;
    case "timeout":
      // A reply from the wrong address is the classic missing-SNAT symptom: say what came back.
      if (b.replyFrom && (b.signal === "syn-ack" || b.signal === "udp-reply"))
        return `no answer (timeout: the ${b.signal === "syn-ack" ? "SYN-ACK" : "reply"} came from ${dir.describe(b.replyFrom.ip, b.replyFrom.port)})`;
      return "no answer (timeout)";
    case "net-unreachable":
      return b.replyFrom ? `network unreachable (ICMP from ${dir.describe(b.replyFrom.ip)})` : "network unreachable";
    case "host-unreachable":
      return b.replyFrom ? `host unreachable (ICMP ${b.signal === "icmp-time-exceeded" ? "time exceeded" : "host unreachable"} from ${dir.describe(b.replyFrom.ip)})` : "host unreachable";
    default:
      return b.result;
  }
}

function hostMatches(ref: HostRef, ip: string | undefined, dir: Directory): boolean {
  if (!ip) return false;
  if (ref.kind === "ip") return ref.ip.text === ip;
  const h = dir.host(ref.name.text);
  if (h) return h.addrs.some((a) => a.ip === ip);
  const svc = dir.service(ref.name.text);
  if (svc) {
    if (svc.spec.clusterIP === ip) return true;
    if ((svc.spec.externalIPs ?? []).includes(ip)) return true;
    return (svc.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === ip);
  }
  return false;
}

const refText = (ref: HostRef): string => (ref.kind === "ip" ? ref.ip.text : ref.name.text);

export function checkText(c: PacketCheck | DnsCheck): string {
  switch (c.kind) {
    case "reply-from":
      return `reply-from ${refText(c.host)}${c.port ? `:${c.port.value}` : ""}`;
    case "delivered-to":
      return `delivered-to ${c.anyOf ? "any-of " : ""}${c.pods.map((p) => p.text).join(",")}`;
    case "source-seen":
      return `source-seen ${refText(c.host)}`;
    case "via":
      return `via ${c.node.text}`;
    case "answer":
      return `answer ${c.ips.map((i) => i.text).join(" ")}`;
    case "cname":
      return `cname ${c.host.text}`;
    default:
      return c.kind;
  }
}

/** Whether one branch satisfies a packet check, and what it showed instead. */
export function judgePacketBranch(c: PacketCheck, b: ProbeBranch, dir: Directory): { ok: boolean; got: string } {
  const res = describeResult(b, dir);
  switch (c.kind) {
    case "connected":
      return { ok: b.result === "connected", got: res };
    case "dropped":
      return { ok: b.result === "timeout", got: res };
    case "refused":
      return { ok: b.result === "refused", got: res };
    case "rejected":
      // An ICMP error from a REJECT rule (kube-proxy's default --reject-with), not a TCP RST.
      return { ok: b.result === "refused" && (b.signal === "icmp-port-unreachable" || b.signal === "icmp-admin-prohibited"), got: res };
    case "unreachable":
      return { ok: b.result === "net-unreachable" || b.result === "host-unreachable", got: res };
    case "masqueraded":
      return { ok: b.masqueraded, got: b.masqueraded ? "masqueraded" : "not masqueraded" };
    case "reply-from": {
      const r = b.replyFrom;
      const ok = !!r && hostMatches(c.host, r.ip, dir) && (!c.port || r.port === c.port.value);
      return { ok, got: r ? `reply-from ${dir.describe(r.ip, r.port)}` : `no reply (${res})` };
    }
    case "delivered-to": {
      const d = b.deliveredTo;
      let ok = false;
      if (d) for (const p of c.pods) if (dir.host(p.text)?.host === d.host) ok = true;
      return { ok, got: d ? `delivered to ${dir.displayName(d.host)}` : `not delivered (${res})` };
    }
    case "source-seen": {
      const s = b.sourceSeen;
      return { ok: !!s && hostMatches(c.host, s.ip, dir), got: s ? `source-seen ${dir.describe(s.ip)}` : `nothing seen (${res})` };
    }
    case "via": {
      return { ok: b.via.includes(c.node.text), got: b.via.length ? `via ${b.via.join(" → ")}` : "via no node" };
    }
  }
}

/**
 * The engine's sentence with each Service address it mentions named once ("10.96.0.50 (Service
 * web's cluster IP)"): "router has no route to 10.96.0.50" alone does not say why that matters.
 */
export function annotateServiceAddresses(text: string, dir: Directory): string {
  const done = new Set<string>();
  return text.replace(/\b(\d{1,3}(?:\.\d{1,3}){3})(:\d+)?\b(?! \()/g, (m, ip: string) => {
    if (done.has(ip)) return m;
    const d = dir.describe(ip);
    if (!/\(Service /.test(d)) return m;
    done.add(ip);
    return `${m} ${d.slice(ip.length + 1)}`;
  });
}

/** Applies a quantifier to per-branch verdicts. */
export function judge<C extends PacketCheck | DnsCheck>(
  e: Expectation<C>,
  branches: ProbeBranch[],
  perBranch: (b: ProbeBranch) => { ok: boolean; got: string },
  dir: Directory,
): ExpectationResult {
  // Loops into array literals rather than map/filter/flatMap chains: arrays from one literal
  // site keep one shape (the chains' arrays differed between empty and non-empty, and each new
  // shape deoptimised this function again). The same verdicts, indexes and text as before.
  const verdicts: Array<{ ok: boolean; got: string }> = [];
  let okCount = 0;
  for (const b of branches) {
    const v = perBranch(b);
    verdicts.push(v);
    if (v.ok) okCount++;
  }
  let pass: boolean;
  const failing: number[] = [];
  if (branches.length === 0) {
    pass = false;
  } else if (e.quantifier === "always") {
    pass = okCount === branches.length;
    for (let i = 0; i < verdicts.length; i++) if (!verdicts[i]!.ok) failing.push(i);
  } else if (e.quantifier === "sometimes") {
    pass = okCount > 0;
    if (!pass) for (let i = 0; i < branches.length; i++) failing.push(i);
  } else {
    pass = okCount === 0;
    for (let i = 0; i < verdicts.length; i++) if (verdicts[i]!.ok) failing.push(i);
  }
  const text = checkText(e.check);
  const expected = `${e.quantifier === "always" ? "" : e.quantifier + " "}${text}`;
  // The branches shown: the failing ones, or all of them when none failed.
  const shownCount = failing.length ? failing.length : branches.length;
  let got: string;
  if (branches.length === 0) got = "no outcome (the probe could not be sent)";
  else {
    const parts: string[] = [];
    for (let k = 0; k < shownCount && k < 4; k++) {
      const i = failing.length ? failing[k]! : k;
      parts.push(`${verdicts[i]!.got} on ${branchPhrase(branches[i]!, i)}`);
    }
    got = parts.join("; ") + (shownCount > 4 ? `; … ${shownCount - 4} more branches` : "");
  }
  const whyBranch = failing.length ? branches[failing[0]!] : undefined;
  return {
    text,
    quantifier: e.quantifier,
    status: pass ? "passed" : "failed",
    pos: e.pos,
    expected,
    got,
    why: pass || !whyBranch ? undefined : annotateServiceAddresses(whyBranch.explanation, dir),
    failingBranches: pass ? [] : failing,
  };
}
