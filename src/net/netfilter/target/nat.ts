// NAT targets (nat table only): DNAT in PREROUTING/OUTPUT, SNAT in POSTROUTING/INPUT,
// MASQUERADE in POSTROUTING. Each ends the nat table's traversal for the hook (the kernel
// returns NF_ACCEPT once the binding is set up).

import type { NatAction } from "../api.js";
import { formatIPv4, parseIPv4 } from "../addr.js";
import { type OptionCursor, type RuleFacts, type TargetModule, unknownOption } from "../ext.js";
import type { Token } from "../lex.js";

const PORT_PROTOS = new Set([6, 17, 33, 132]);

function parsePortPart(s: string): { lo: number; hi: number } | null {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || lo > hi) return null;
  return { lo, hi };
}

/** `IP[:PORT]` — ranges are refused: which address/port the kernel picks in a range depends on hashing svcspec does not model. */
function parseNatAddr(tok: Token, cur: OptionCursor): { ip: number; port: number | null } {
  const s = tok.text;
  const colon = s.indexOf(":");
  const ipText = colon < 0 ? s : s.slice(0, colon);
  if (ipText.includes("-")) cur.fail(`address ranges in NAT targets are not supported (\`${s}\`)`, tok, "give one address");
  const ip = parseIPv4(ipText);
  if (ip === null) cur.fail(`invalid address \`${ipText}\` in \`${s}\``, tok);
  if (colon < 0) return { ip, port: null };
  const pr = parsePortPart(s.slice(colon + 1));
  if (!pr) cur.fail(`invalid port in \`${s}\``, tok);
  if (pr.lo !== pr.hi) cur.fail(`port ranges in NAT targets are not supported (\`${s}\`)`, tok, "give one port");
  return { ip, port: pr.lo };
}

function needPortProto(facts: RuleFacts, at: Token, cur: OptionCursor): void {
  if (facts.proto === null || facts.protoNegated || !PORT_PROTOS.has(facts.proto))
    cur.fail("a port in a NAT target needs `-p tcp`, `-p udp`, `-p sctp` or `-p dccp`", at);
}

function fmt(ip: number, port: number | null): string {
  return port === null ? formatIPv4(ip) : `${formatIPv4(ip)}:${port}`;
}

function addrTarget(name: "DNAT" | "SNAT"): TargetModule {
  const option = name === "DNAT" ? "--to-destination" : "--to-source";
  const known = [option, "--random", "--persistent", ...(name === "SNAT" ? ["--random-fully"] : [])];
  return {
    name,
    tables: ["nat"],
    hooks: name === "DNAT" ? ["PREROUTING", "OUTPUT"] : ["POSTROUTING", "INPUT"],
    create() {
      let to: { ip: number; port: number | null } | null = null;
      let toTok: Token | null = null;
      let random = false;
      let randomFully = false;
      let persistent = false;
      return {
        takes: (opt) => known.includes(opt),
        parse(opt: Token, negated: boolean, cur: OptionCursor) {
          if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
          if (opt.text === option) {
            if (to) cur.fail(`multiple ${option} are not supported`, opt);
            toTok = cur.arg(opt, "an address");
            to = parseNatAddr(toTok, cur);
          } else if (opt.text === "--random") random = true;
          else if (opt.text === "--random-fully") randomFully = true;
          else if (opt.text === "--persistent") persistent = true;
          else unknownOption(cur, name, opt, known);
        },
        finish(facts: RuleFacts, at: Token, cur: OptionCursor) {
          if (!to) cur.fail(`${name} needs ${option}`, at);
          const t = to as { ip: number; port: number | null };
          if (t.port !== null) needPortProto(facts, toTok ?? at, cur);
          const action: NatAction =
            name === "DNAT" ? { kind: "DNAT", ip: t.ip, port: t.port } : { kind: "SNAT", ip: t.ip, port: t.port, randomFully };
          let save = ` -j ${name} ${option} ${fmt(t.ip, t.port)}`;
          if (random) save += " --random";
          if (randomFully) save += " --random-fully";
          if (persistent) save += " --persistent";
          return { target: { kind: "nat", action }, save };
        },
      };
    },
  };
}

export const dnatTarget = addrTarget("DNAT");
export const snatTarget = addrTarget("SNAT");

export const masqueradeTarget: TargetModule = {
  name: "MASQUERADE",
  tables: ["nat"],
  hooks: ["POSTROUTING"],
  create() {
    let toPorts: { lo: number; hi: number } | null = null;
    let toTok: Token | null = null;
    let random = false;
    let randomFully = false;
    const known = ["--to-ports", "--random", "--random-fully"];
    return {
      takes: (opt) => known.includes(opt),
      parse(opt: Token, negated: boolean, cur: OptionCursor) {
        if (negated) cur.fail(`${opt.text} cannot be negated`, opt);
        if (opt.text === "--to-ports") {
          toTok = cur.arg(opt, "a port or port range");
          toPorts = parsePortPart(toTok.text);
          if (!toPorts) cur.fail(`invalid --to-ports \`${toTok.text}\``, toTok);
        } else if (opt.text === "--random") random = true;
        else if (opt.text === "--random-fully") randomFully = true;
        else unknownOption(cur, "MASQUERADE", opt, known);
      },
      finish(facts: RuleFacts, at: Token, cur: OptionCursor) {
        const tp = toPorts as { lo: number; hi: number } | null;
        if (tp) needPortProto(facts, toTok ?? at, cur);
        const action: NatAction = { kind: "MASQUERADE", randomFully, ...(tp ? { toPorts: tp } : {}) };
        let save = " -j MASQUERADE";
        if (tp) save += ` --to-ports ${tp.lo === tp.hi ? tp.lo : `${tp.lo}-${tp.hi}`}`;
        if (random) save += " --random";
        if (randomFully) save += " --random-fully";
        return { target: { kind: "nat", action }, save };
      },
    };
  },
};
