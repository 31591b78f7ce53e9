import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CT, type EvalBranch, loadRuleset, runTable } from "../../../src/net/netfilter/index.js";
import { runTableLinear } from "../../../src/net/netfilter/eval.js";
import { ctx, ip, pkt, table } from "./helpers.js";

const filter = (body: string) => loadRuleset(table("filter", body));
const verdict = (bs: EvalBranch[]) => bs.map((b) => b.verdict);

describe("matches", () => {
  it("-s/-d with prefix and !", () => {
    const rs = filter("-A INPUT ! -s 10.0.0.0/8 -j DROP\n-A INPUT -d 10.96.0.10 -j REJECT");
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ src: "11.0.0.1" }), ctx()))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ src: "10.1.2.3" }), ctx()))).toEqual(["REJECT"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ src: "10.1.2.3", dst: "10.96.0.11" }), ctx()))).toEqual(["ACCEPT"]);
  });
  it("-p, --dport ranges and !, multiport", () => {
    const rs = filter("-A INPUT -p udp -j DROP\n-A INPUT -p tcp -m tcp --dport 1000:2000 -j REJECT\n-A INPUT -p tcp -m multiport --dports 22,80:81 -j DROP\n-A INPUT -p tcp ! --dport 9 -j ACCEPT\n-P INPUT DROP");
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ proto: 17 }), ctx()))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ dport: 1500 }), ctx()))).toEqual(["REJECT"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ dport: 81 }), ctx()))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ dport: 8 }), ctx()))).toEqual(["ACCEPT"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ dport: 9 }), ctx()))).toEqual(["DROP"]); // policy
  });
  it("-i/-o with + wildcard and !", () => {
    const rs = filter("-A FORWARD -i cni+ -o eth0 -j DROP\n-A FORWARD ! -i lo -j REJECT");
    expect(verdict(runTable(rs, "filter", "FORWARD", pkt({ inIface: "cni0", outIface: "eth0" }), ctx()))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "FORWARD", pkt({ inIface: "cni0", outIface: "eth1" }), ctx()))).toEqual(["REJECT"]);
    expect(verdict(runTable(rs, "filter", "FORWARD", pkt({ inIface: "lo", outIface: "eth1" }), ctx()))).toEqual(["ACCEPT"]);
  });
  it("addrtype LOCAL and !", () => {
    const rs = filter("-A INPUT -m addrtype --dst-type LOCAL -j DROP\n-A INPUT -m addrtype ! --src-type LOCAL -j REJECT");
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ dst: "192.168.0.2" }), ctx()))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ dst: "127.0.0.5" }), ctx()))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ src: "1.1.1.1" }), ctx()))).toEqual(["REJECT"]);
  });
  it("mark with mask, conntrack and state", () => {
    const rs = filter("-A INPUT -m mark --mark 0x4000/0x4000 -j ACCEPT\n-A INPUT -m conntrack ! --ctstate NEW,DNAT -j DROP\n-A INPUT -m state --state NEW -j REJECT");
    expect(verdict(runTable(rs, "filter", "INPUT", pkt({ mark: 0x4001 }), ctx()))).toEqual(["ACCEPT"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt(), ctx({ ctstate: CT.ESTABLISHED })))).toEqual(["DROP"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt(), ctx({ ctstate: CT.NEW })))).toEqual(["REJECT"]);
    expect(verdict(runTable(rs, "filter", "INPUT", pkt(), ctx({ ctstate: CT.ESTABLISHED | CT.DNAT })))).toEqual(["ACCEPT"]);
  });
  it("recent: --rcheck --seconds reads the lists, --set is an effect of the branch", () => {
    const rs = loadRuleset(
      table("nat", ":SEP - [0:0]\n-A PREROUTING -m recent --name SEP --rcheck --seconds 10 --reap -j SEP\n-A PREROUTING -p tcp -m recent --name OTHER --set -j DNAT --to-destination 1.1.1.1\n-A SEP -p tcp -j DNAT --to-destination 2.2.2.2"),
    );
    const fresh = new Map([["SEP", new Map([[ip("10.0.0.2"), [995]]])]]);
    const stale = new Map([["SEP", new Map([[ip("10.0.0.2"), [900]]])]]);
    expect(runTable(rs, "nat", "PREROUTING", pkt(), ctx({ recent: fresh }))[0]!.nat).toEqual({ kind: "DNAT", ip: ip("2.2.2.2"), port: null });
    const b = runTable(rs, "nat", "PREROUTING", pkt(), ctx({ recent: stale }))[0]!;
    expect(b.nat).toEqual({ kind: "DNAT", ip: ip("1.1.1.1"), port: null });
    expect(b.recentUpdates).toEqual([{ name: "OTHER", op: "set", ip: ip("10.0.0.2") }]);
  });
  it("statistic: every branch enumerated with the kernel's probabilities, summing to 1", () => {
    const rs = loadRuleset(
      table(
        "nat",
        `:SVC - [0:0]
-A PREROUTING -j SVC
-A SVC -m statistic --mode random --probability 0.3333333333 -p tcp -j DNAT --to-destination 10.0.1.1:80
-A SVC -m statistic --mode random --probability 0.5000000000 -p tcp -j DNAT --to-destination 10.0.1.2:80
-A SVC -p tcp -j DNAT --to-destination 10.0.1.3:80`,
      ),
    );
    const bs = runTable(rs, "nat", "PREROUTING", pkt(), ctx());
    expect(bs.map((b) => (b.nat as { ip: number }).ip)).toEqual([ip("10.0.1.1"), ip("10.0.1.2"), ip("10.0.1.3")]);
    expect(bs[0]!.probability).toBe(715827883 / 2 ** 31);
    expect(bs.reduce((s, b) => s + b.probability, 0)).toBeCloseTo(1, 12);
    for (const b of bs) expect(b.probability).toBeCloseTo(1 / 3, 9);
    expect(bs[2]!.choices).toEqual(["SVC rule 1 (p=0.3333333335) not taken", "SVC rule 2 (p=0.5000000000) not taken"]);
  });
});

describe("targets and traversal", () => {
  it("jump/return, end of user chain returns, goto does not come back", () => {
    const rs = filter(":A - [0:0]\n:B - [0:0]\n:C - [0:0]\n-A INPUT -j A\n-A INPUT -j DROP\n-A A -j B\n-A A -j RETURN\n-A A -j ACCEPT\n-A B -g C\n-A B -j ACCEPT\n-A C -p udp -j ACCEPT");
    const b = runTable(rs, "filter", "INPUT", pkt(), ctx())[0]!;
    // B goes to C; C ends → back to A (B's caller, not B); A RETURNs → INPUT rule 2 DROP.
    expect(b.verdict).toBe("DROP");
    expect(b.steps.map((s) => `${s.chain}#${s.index}:${s.action}`)).toEqual(["INPUT#1:jump", "A#1:jump", "B#1:goto", "A#2:return", "INPUT#2:drop"]);
  });
  it("RETURN and goto in a built-in chain lead to its policy", () => {
    const rs = filter(":C - [0:0]\n-P INPUT DROP\n-A INPUT -p udp -j RETURN\n-A INPUT -g C\n-A INPUT -j ACCEPT");
    expect(runTable(rs, "filter", "INPUT", pkt({ proto: 17 }), ctx())[0]!.steps.at(-1)).toMatchObject({ index: 0, text: ":INPUT DROP", action: "policy" });
    expect(verdict(runTable(rs, "filter", "INPUT", pkt(), ctx()))).toEqual(["DROP"]);
  });
  it("MARK continues and later matches see it; a rule without target only counts", () => {
    const rs = loadRuleset(table("mangle", "-A PREROUTING -j MARK --or-mark 0x4000\n-A PREROUTING -m comment --comment marker\n-A PREROUTING -m mark --mark 0x4000/0x4000 -j MARK --xor-mark 0x4001"));
    const b = runTable(rs, "mangle", "PREROUTING", pkt({ mark: 0x10 }), ctx())[0]!;
    expect(b.mark).toBe(0x0011);
    expect(b.steps.map((s) => s.action)).toEqual(["mark", "count", "mark", "policy"]);
  });
  it("REJECT carries --reject-with; nat ACCEPT means no NAT; MASQUERADE in POSTROUTING", () => {
    expect(runTable(filter("-A INPUT -p tcp -j REJECT --reject-with tcp-reset"), "filter", "INPUT", pkt(), ctx())[0]!.rejectWith).toBe("tcp-reset");
    const nat = loadRuleset(table("nat", "-A PREROUTING -j ACCEPT\n-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3.4:8080\n-A POSTROUTING -j MASQUERADE --random-fully"));
    expect(runTable(nat, "nat", "PREROUTING", pkt(), ctx())[0]).toMatchObject({ verdict: "ACCEPT", nat: null });
    expect(runTable(nat, "nat", "POSTROUTING", pkt(), ctx())[0]!.nat).toEqual({ kind: "MASQUERADE", randomFully: true });
  });
  it("an absent table or chain is ACCEPT with no steps; an empty ruleset is valid", () => {
    const empty = loadRuleset("");
    expect(runTable(empty, "nat", "PREROUTING", pkt(), ctx())).toEqual([{ probability: 1, verdict: "ACCEPT", mark: 0, nat: null, recentUpdates: [], choices: [], steps: [] }]);
    expect(runTable(filter("-A INPUT -j DROP"), "filter", "PREROUTING", pkt(), ctx())[0]!.steps).toEqual([]);
  });
});

describe("dispatch index ≡ linear scan", () => {
  // Random KUBE-SERVICES-like chains: indexed rules (-d/-p/--dport), rules pinning only some of
  // those fields, negations and unindexable rules mixed in any order; random packets mostly aimed
  // at the addresses and ports the rules use.
  const addrs = ["10.96.0.1", "10.96.0.2", "10.96.0.3", "192.168.0.2"];
  const ports = [53, 80, 443];
  const ruleArb = fc.record({
    d: fc.option(fc.record({ a: fc.constantFrom(...addrs), neg: fc.boolean(), len: fc.constantFrom(32, 24) }), { nil: undefined }),
    p: fc.option(fc.record({ proto: fc.constantFrom("tcp", "udp"), neg: fc.boolean() }), { nil: undefined }),
    dport: fc.option(fc.record({ port: fc.constantFrom(...ports), neg: fc.boolean(), range: fc.boolean() }), { nil: undefined }),
    s: fc.option(fc.constantFrom("10.0.0.0/8", "11.0.0.0/8"), { nil: undefined }),
    local: fc.boolean(),
    stat: fc.boolean(),
    target: fc.constantFrom("ACCEPT", "DROP", "REJECT", "SUB", "RETURN", ""),
  });
  type RuleSpec = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;
  const toRule = (r: RuleSpec): string => {
    let s = "-A INPUT";
    if (r.d) s += `${r.d.neg ? " !" : ""} -d ${r.d.a}/${r.d.len}`;
    if (r.s) s += ` -s ${r.s}`;
    const proto = r.p ?? (r.dport ? { proto: "tcp", neg: false } : undefined);
    if (proto) s += `${proto.neg && !r.dport ? " !" : ""} -p ${proto.proto}`;
    if (r.dport) s += ` -m ${proto!.proto}${r.dport.neg ? " !" : ""} --dport ${r.dport.range ? `${r.dport.port}:${r.dport.port + 1}` : r.dport.port}`;
    if (r.local) s += " -m addrtype --dst-type LOCAL";
    if (r.stat) s += " -m statistic --mode random --probability 0.25";
    if (r.target) s += ` -j ${r.target}`;
    return s;
  };
  it("gives the same branches for random chains and packets", () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 16, maxLength: 60 }),
        fc.record({ dst: fc.constantFrom(...addrs, "10.96.0.9"), dport: fc.constantFrom(...ports, 54, 81), proto: fc.constantFrom(6, 17), src: fc.constantFrom("10.0.0.5", "11.0.0.5") }),
        (rules, p) => {
          const rs = filter(`:SUB - [0:0]\n-A SUB -p udp -j DROP\n${rules.map(toRule).join("\n")}`);
          const packet = pkt({ dst: p.dst, dport: p.dport, proto: p.proto, src: p.src });
          expect(runTable(rs, "filter", "INPUT", packet, ctx())).toEqual(runTableLinear(rs, "filter", "INPUT", packet, ctx()));
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});
