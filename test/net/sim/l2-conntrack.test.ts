import { describe, expect, it } from "vitest";
import { ip } from "../../../src/net/sim/addr.js";
import { type CtHit, CtTable, Dir, formatEntry, newEntry, tupleHash } from "../../../src/net/sim/conntrack.js";
import { SimHost } from "../../../src/net/sim/host.js";
import { Path } from "../../../src/net/sim/path.js";
import { Segments } from "../../../src/net/sim/l2.js";
import type { HostSpec } from "../../../src/net/topology.js";
import { PROTO_TCP, PROTO_UDP } from "../../../src/net/netfilter/api.js";

const sys = { ipForward: false, routeLocalnet: false, bridgeNfCallIptables: false, rpFilter: 0 as const };
const spec = (name: string, over: Partial<HostSpec>): HostSpec => ({ name, kind: "pod", interfaces: [], bridges: [], routes: [], sysctls: sys, iptables: null, listeners: [], up: true, ...over });

describe("L2 segments and the bridge", () => {
  const node = new SimHost(
    spec("node", {
      kind: "node",
      interfaces: [
        { name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.11", prefix: 24 }] },
        { name: "vethA", segment: "va", addrs: [], bridge: "cni0" },
        { name: "vethB", segment: "vb", addrs: [], bridge: "cni0" },
      ],
      bridges: [{ name: "cni0", addrs: [{ ip: "10.244.1.1", prefix: 24 }], promisc: false }],
    }),
  );
  const a = new SimHost(spec("a", { interfaces: [{ name: "eth0", segment: "va", addrs: [{ ip: "10.244.1.5", prefix: 24 }] }] }));
  const b = new SimHost(spec("b", { interfaces: [{ name: "eth0", segment: "vb", addrs: [{ ip: "10.244.1.6", prefix: 24 }] }] }));
  const down = new SimHost(spec("down", { up: false, interfaces: [{ name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.12", prefix: 24 }] }] }));
  const other = new SimHost(spec("other", { interfaces: [{ name: "eth0", segment: "lan", addrs: [{ ip: "192.168.1.13", prefix: 24 }] }] }));
  const segs = new Segments();
  for (const h of [node, a, b, down, other]) for (const i of h.ifaces.values()) segs.add(i);

  it("a pod's ARP for its gateway is answered by the bridge device behind the veth", () => {
    const t = segs.resolve(a.ifaces.get("eth0")!, ip("10.244.1.1"))!;
    expect(t.rx.name).toBe("vethA");
    expect(t.owner).toBe(node.ifaces.get("cni0"));
  });

  it("a pod reaches its neighbour pod through the bridge", () => {
    const t = segs.resolve(a.ifaces.get("eth0")!, ip("10.244.1.6"))!;
    expect(t.rx.name).toBe("vethA");
    expect(t.owner).toBe(b.ifaces.get("eth0"));
    expect(segs.fdb(node.bridges.get("cni0")!, t.owner)!.name).toBe("vethB");
  });

  it("out of the bridge device, the FDB finds the port", () => {
    const t = segs.resolve(node.ifaces.get("cni0")!, ip("10.244.1.5"))!;
    expect(t.rx.name).toBe("vethA");
    expect(t.owner.host.name).toBe("a");
  });

  it("a host that is down answers no ARP", () => {
    expect(segs.resolve(node.ifaces.get("eth0")!, ip("192.168.1.12"))).toBeNull();
    expect(segs.resolve(node.ifaces.get("eth0")!, ip("192.168.1.13"))!.owner.host.name).toBe("other");
  });
});

describe("conntrack tables", () => {
  it("indexes both directions once confirmed", () => {
    const t = new CtTable(null);
    const e = newEntry(PROTO_TCP, ip("203.0.113.7"), 40000, ip("192.168.1.12"), 30080);
    e.reply.src = ip("10.244.1.5");
    e.reply.sport = 80;
    e.reply.dst = ip("192.168.1.12");
    e.reply.dport = 40000;
    e.dnat = e.snat = true;
    expect(t.lookup(PROTO_TCP, ip("203.0.113.7"), 40000, ip("192.168.1.12"), 30080)).toBeUndefined();
    t.confirm(e);
    expect(t.lookup(PROTO_TCP, ip("203.0.113.7"), 40000, ip("192.168.1.12"), 30080)?.dir).toBe(Dir.Orig);
    const r = t.lookup(PROTO_TCP, ip("10.244.1.5"), 80, ip("192.168.1.12"), 40000);
    expect(r?.dir).toBe(Dir.Reply);
    expect(formatEntry(e)).toBe(
      "tcp      6 120 SYN_SENT src=203.0.113.7 dst=192.168.1.12 sport=40000 dport=30080 [UNREPLIED] src=10.244.1.5 dst=192.168.1.12 sport=80 dport=40000 mark=0 use=1",
    );
  });

  it("keeps sibling branches apart and merges what they left", () => {
    const base = new CtTable(null);
    const e = newEntry(PROTO_TCP, 1, 1000, 2, 80);
    base.confirm(e);
    const left = new CtTable(base);
    const right = new CtTable(base);
    const w = left.writable(e);
    w.seenReply = true;
    expect(w).not.toBe(e);
    expect(right.lookup(PROTO_TCP, 1, 1000, 2, 80)!.entry.seenReply).toBe(false);
    expect(left.lookup(PROTO_TCP, 1, 1000, 2, 80)!.entry.seenReply).toBe(true);
    right.confirm(newEntry(PROTO_TCP, 1, 1001, 2, 80));
    CtTable.mergeInto(base, left);
    CtTable.mergeInto(base, right);
    expect(base.all().length).toBe(2);
    expect(base.lookup(PROTO_TCP, 1, 1000, 2, 80)!.entry.seenReply).toBe(true);
  });
});

describe("a branch's conntrack across a fork", () => {
  it("sees what came before the fork; after it, each branch writes only where the other cannot see", () => {
    const base = new CtTable(null);
    const parent = new Path(1, new Map([["n", base]]), new Map());
    const before = newEntry(PROTO_TCP, 1, 1000, 2, 80);
    parent.ct("n").confirm(before);
    const child = parent.fork(0.5);
    const mine = newEntry(PROTO_TCP, 1, 1001, 2, 80);
    const theirs = newEntry(PROTO_TCP, 1, 1002, 2, 80);
    child.ct("n").confirm(mine);
    parent.ct("n").confirm(theirs);
    for (const p of [parent, child]) expect(p.ct("n").lookup(PROTO_TCP, 1, 1000, 2, 80)?.entry).toBe(before);
    expect(child.ct("n").lookup(PROTO_TCP, 1, 1002, 2, 80)).toBeUndefined();
    expect(parent.ct("n").lookup(PROTO_TCP, 1, 1001, 2, 80)).toBeUndefined();
    // A change to an entry from before the fork is the changing branch's own copy.
    const w = child.ct("n").writable(before);
    w.seenReply = true;
    expect(parent.ct("n").lookup(PROTO_TCP, 1, 1000, 2, 80)!.entry.seenReply).toBe(false);
    expect(child.ct("n").lookup(PROTO_TCP, 1, 1000, 2, 80)!.entry.seenReply).toBe(true);
    // A host neither branch touched since the fork stays one shared, frozen layer.
    parent.ct("m").confirm(newEntry(PROTO_UDP, 3, 53, 4, 53));
    const again = parent.fork(0.25);
    expect(again.ctLayers().get("m")).toBe(parent.ctLayers().get("m"));
    expect(again.ctLayers().get("m")!.frozen).toBe(true);
  });
});

describe("conntrack lookups", () => {
  it("find every entry by either tuple, including tuples whose hashes collide, and nothing else", () => {
    // Find two different tuples with the same 32-bit hash (a birthday search).
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 0);
    const seen = new Map<number, number[]>();
    let pair: number[][] | null = null;
    for (let i = 0; i < 400_000 && !pair; i++) {
      const t = [rnd(), rnd() & 0xffff, rnd(), 80];
      const h = tupleHash(PROTO_TCP, t[0]!, t[1]!, t[2]!, t[3]!);
      const prev = seen.get(h);
      if (prev && prev.join() !== t.join()) pair = [prev, t];
      else seen.set(h, t);
    }
    expect(pair).not.toBeNull();
    // A small layer keeps a list; one with many connections (here 20 before the pair) a hash map.
    for (const filler of [0, 20]) {
      const table = new CtTable(null);
      for (let i = 0; i < filler; i++) table.confirm(newEntry(PROTO_UDP, ip("10.244.9.9"), 50000 + i, ip("10.96.0.10"), 53));
      const entries = [...pair!, [ip("10.244.1.5"), 40000, ip("10.96.0.10"), 53]].map(([src, sport, dst, dport]) => {
        const e = newEntry(PROTO_TCP, src!, sport!, dst!, dport!);
        table.confirm(e);
        return e;
      });
      const child = new CtTable(table);
      for (const e of entries) {
        for (const t of [table, child]) {
          // A hit is its entry and direction (the index slot itself: only those two are read).
          const hitOf = (h: CtHit | undefined) => h && { entry: h.entry, dir: h.dir };
          expect(hitOf(t.lookup(PROTO_TCP, e.orig.src, e.orig.sport, e.orig.dst, e.orig.dport))).toEqual({ entry: e, dir: Dir.Orig });
          expect(hitOf(t.lookup(PROTO_TCP, e.reply.src, e.reply.sport, e.reply.dst, e.reply.dport))).toEqual({ entry: e, dir: Dir.Reply });
          // Another protocol or port is another connection.
          expect(t.lookup(17, e.orig.src, e.orig.sport, e.orig.dst, e.orig.dport)).toBeUndefined();
          expect(t.lookup(PROTO_TCP, e.orig.src, e.orig.sport + 1, e.orig.dst, e.orig.dport)).toBeUndefined();
        }
      }
      for (let i = 0; i < filler; i++) expect(table.lookup(PROTO_UDP, ip("10.244.9.9"), 50000 + i, ip("10.96.0.10"), 53)?.dir).toBe(Dir.Orig);
      expect(table.all()).toHaveLength(filler + 3);
    }
  });

  it("files a tuple filed again over its earlier slot, in a small layer and in a large one", () => {
    for (const filler of [0, 20]) {
      const table = new CtTable(null);
      for (let i = 0; i < filler; i++) table.confirm(newEntry(PROTO_UDP, ip("10.244.9.9"), 50000 + i, ip("10.96.0.10"), 53));
      const a = newEntry(PROTO_TCP, ip("10.244.1.5"), 40000, ip("10.96.0.1"), 443);
      const b = newEntry(PROTO_TCP, ip("10.244.1.5"), 40000, ip("10.96.0.1"), 443);
      table.confirm(a);
      table.confirm(b);
      expect(table.lookup(PROTO_TCP, ip("10.244.1.5"), 40000, ip("10.96.0.1"), 443)!.entry).toBe(b);
    }
  });
});
