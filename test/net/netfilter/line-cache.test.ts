// iptables-restore remembers compiled `-A` lines across restores (a speed-up for the scenarios
// and nodes that restore the same kube-proxy lines again and again). A remembered line must
// behave exactly as a freshly parsed one: same rules, its own source position, and the same
// errors when the chains around it differ.

import { describe, expect, it } from "vitest";
import { RulesetParseError, loadRuleset, printSave } from "../../../src/net/netfilter/index.js";

const errorOf = (text: string): RulesetParseError => {
  try {
    loadRuleset(text, "t.rules");
  } catch (e) {
    if (e instanceof RulesetParseError) return e;
    throw e;
  }
  throw new Error("expected the restore to fail");
};

describe("compiled -A lines remembered across restores", () => {
  it("a jump compiled while its chain existed fails like a fresh parse when the chain is gone", () => {
    const line = "-A INPUT -j KUBE-LC-ONE";
    expect(() => loadRuleset(`*filter\n:KUBE-LC-ONE - [0:0]\n${line}\nCOMMIT\n`)).not.toThrow();
    const e = errorOf(`*filter\n${line}\nCOMMIT\n`);
    expect(e.message).toContain("no chain or target named `KUBE-LC-ONE`");
    expect(e.pos.line).toBe(2);
  });

  it("a target compiled as an extension is re-parsed when a user chain of that name appears", () => {
    const line = "-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff";
    expect(() => loadRuleset(`*mangle\n${line}\nCOMMIT\n`)).not.toThrow();
    // With a chain called MARK, `-j MARK` jumps to it and --set-xmark belongs to nobody.
    const e = errorOf(`*mangle\n:MARK - [0:0]\n${line}\nCOMMIT\n`);
    expect(e.message).toContain("--set-xmark");
  });

  it("errors found at COMMIT point at the line of the restore that has them", () => {
    const line = "-A KUBE-LC-TWO -j KUBE-LC-THREE";
    expect(() => loadRuleset(`*nat\n:KUBE-LC-TWO - [0:0]\n:KUBE-LC-THREE - [0:0]\n${line}\nCOMMIT\n`)).not.toThrow();
    // The same line, lower down, closing a loop. The check walks chains in declaration order
    // (THREE first), so the back edge it reports is the remembered line, here on line 5.
    const e = errorOf(`*nat\n:KUBE-LC-THREE - [0:0]\n:KUBE-LC-TWO - [0:0]\n-A KUBE-LC-THREE -j KUBE-LC-TWO\n${line}\nCOMMIT\n`);
    expect(e.message).toContain("chain loop");
    expect(e.pos.line).toBe(5);
    expect(e.pos.sourceLine).toBe(line);
    expect(e.pos.file).toBe("t.rules");
  });

  it("a remembered line saves and evaluates the same as the first time", () => {
    const text = `*nat\n:KUBE-LC-SVC - [0:0]\n-A OUTPUT -d 10.96.0.1/32 -p tcp -m comment --comment "default/x:http" -m tcp --dport 80 -j KUBE-LC-SVC\nCOMMIT\n`;
    const first = printSave(loadRuleset(text));
    const second = printSave(loadRuleset(text));
    expect(second).toBe(first);
    expect(second).toContain("-A OUTPUT -d 10.96.0.1/32 -p tcp -m comment --comment \"default/x:http\" -m tcp --dport 80 -j KUBE-LC-SVC");
  });
});
