// Behaviour 11 — hairpin, every row of kernel-lab's hairpin table through a .svcspec cluster:
// a pod reaching itself through its Service's ClusterIP, DNATed to itself.
//   hairpin-veth (hairpin_mode=1)           → connected, pod sees 10.244.1.1 (cni0)
//   promiscuous-bridge (promisc, hairpin 0) → timeout: the copy reaches FORWARD as INVALID, dropped
//   none (hairpin 0, promisc off)           → timeout: the bridge will not send it back out its port
//   br-netfilter off, any mode              → connected, routed at L3, pod sees 10.244.1.1

import { describe, expect, it } from "vitest";
import { runSpec } from "./helpers.js";

const spec = (settings: string): string => `
cluster {
  ${settings}
  node node1 192.168.1.11
  pod web-1 on node1 ip 10.244.1.5 labels app=web listen tcp/8080
  pod other on node1 ip 10.244.1.6
}

service web {
  selector app=web
  port tcp 80 -> 8080
}

scenario "self" {
  send tcp from web-1 to web:80
  send tcp from other to web:80
  show hairpin node1
  show bridge node1
}
`;

describe("hairpin", () => {
  it("hairpin-veth: connected, masqueraded to cni0's address by the SEP's -s <pod IP> KUBE-MARK-MASQ rule", async () => {
    const run = await runSpec(spec("hairpin-mode hairpin-veth"));
    const [b] = run.branches("self", 0);
    expect(b!.result).toBe("connected");
    expect(b!.deliveredTo?.host).toBe("pod:default/web-1");
    expect(b!.sourceSeen?.ip).toBe("10.244.1.1");
    expect(b!.masqueraded).toBe(true);
    expect(b!.trace.some((e) => e.chain?.startsWith("KUBE-SEP-") && /-s 10\.244\.1\.5\/32 .*-j KUBE-MARK-MASQ/.test(e.rule ?? ""))).toBe(true);
    expect(run.probe("self", 2).output).toContain("hairpin_mode: 1");
  });

  it("promiscuous-bridge: timeout, dropped by KUBE-FORWARD's ctstate INVALID rule; other pods unaffected", async () => {
    const run = await runSpec(spec("hairpin-mode promiscuous-bridge"));
    const [b] = run.branches("self", 0);
    expect(b!.result).toBe("timeout");
    expect(b!.deliveredTo).toBeNull();
    expect(b!.explanation).toContain("hairpin_mode is off on that port");
    expect(b!.explanation).toContain("cni0 is promiscuous, but the copy passed up has its conntrack reset, reached FORWARD as INVALID and was dropped by KUBE-FORWARD");
    const drop = b!.trace.find((e) => e.kind === "drop");
    // (iptables-save prints two spaces after --nfacct-name: checked against the kernel's.)
    expect(drop?.rule).toMatch(/^-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name +ct_state_invalid_dropped_pkts -j DROP$/);
    expect(run.branches("self", 1)[0]!.result).toBe("connected");
    expect(run.probe("self", 2).output).toContain("hairpin_mode: 0");
    expect(run.probe("self", 3).output).toContain("PROMISC");
  });

  it("none: timeout, the bridge refuses to send the frame back out the port it came in on", async () => {
    const run = await runSpec(spec("hairpin-mode none"));
    const [b] = run.branches("self", 0);
    expect(b!.result).toBe("timeout");
    expect(b!.explanation).toBe(
      "node1's bridge cni0 would have to send the packet to 10.244.1.5 back out veth" +
        b!.explanation.match(/back out veth(\w+)/)![1] +
        ", the port it came in on, and hairpin_mode is off on that port (with br_netfilter the DNATed packet is bridged, not routed)",
    );
    expect(run.branches("self", 1)[0]!.result).toBe("connected");
    expect(run.probe("self", 3).output).not.toContain("PROMISC");
  });

  it.each(["none", "promiscuous-bridge", "hairpin-veth"])("br-netfilter off, hairpin-mode %s: connected, routed back out of cni0, pod sees 10.244.1.1", async (mode) => {
    const run = await runSpec(spec(`hairpin-mode ${mode}\n  br-netfilter off`));
    const [b] = run.branches("self", 0);
    expect(b!.result).toBe("connected");
    expect(b!.sourceSeen?.ip).toBe("10.244.1.1");
    // Without br_netfilter iptables never sees the frame while it is bridged.
    expect(b!.trace.some((e) => e.kind === "bridge" && /br_netfilter/.test(e.text))).toBe(false);
  });

  it("without the SEP's hairpin masquerade rule the SYN comes back with the pod's own source: a martian, dropped", async () => {
    // masquerade off removes only KUBE-POSTROUTING's MASQUERADE: the mark is set, nothing rewrites the source.
    const run = await runSpec(spec("hairpin-mode hairpin-veth\n  masquerade off"));
    const [b] = run.branches("self", 0);
    expect(b!.result).toBe("timeout");
    expect(b!.explanation).toMatch(/web-1 dropped the SYN as a martian: its source 10\.244\.1\.5 is web-1's own address/);
  });
});
