// `svcspec trace --rules DUMP ...`: one packet through a single node's iptables dump (a real
// node's iptables-save, or what svcspec wrote), every load-balancing branch with its
// probability, as JSON (--json) or as a readable trace.

import { Command, Option } from "commander";
import { RulesetParseError, loadRuleset } from "../net/netfilter/index.js";
import { TraceOptionError, type TraceDetail, traceDumpDetailed } from "../net/netfilter/trace-dump.js";
import { formatDiagnosticText } from "../report/caret.js";
import { EXIT } from "./exit.js";
import { readText } from "./read-text.js";

interface TraceCliOptions {
  rules?: string;
  localIp?: string;
  src?: string;
  dst?: string;
  dport?: string;
  sport?: string;
  proto: "tcp" | "udp" | "sctp";
  inIface?: string;
  outIface?: string;
  json?: boolean;
}

function inputError(message: string, hint?: string): never {
  process.stderr.write(`svcspec trace: ${message}\n${hint ? `  ${hint}\n` : ""}`);
  process.exit(EXIT.input);
}

function port(option: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) inputError(`${option}: \`${s}\` is not a port (1-65535)`);
  return Number(s);
}

function pct(p: number): string {
  return `${(p * 100).toFixed(p === 1 || p === 0 ? 0 : 2)}%`;
}

export function formatTrace(t: TraceDetail): string {
  const out: string[] = [];
  const p = t.packet;
  out.push(`packet ${p.proto} ${p.src}:${p.sport} -> ${p.dst}:${p.dport} (${p.fromNode ? "sent by the node itself" : `arriving from outside on ${p.inIface}`}), ctstate NEW`);
  t.branches.forEach((b, i) => {
    out.push("");
    out.push(`branch ${i + 1} of ${t.branches.length}, probability ${b.probability.toFixed(10)} (${pct(b.probability)})`);
    for (const c of b.choices) out.push(`  choice: ${c}`);
    const notesAt = (k: number) => b.notes.filter((n) => n.at === k).forEach((n) => out.push(`  -- ${n.text}`));
    b.stages.forEach((s, k) => {
      notesAt(k);
      out.push(`  ${s.table} ${s.hook}`);
      for (const st of s.steps) out.push(`    [${st.action}] ${st.index === 0 ? `policy ${st.text}` : `${st.chain} #${st.index}: ${st.text}`}`);
      if (s.decision) out.push(`    => ${s.decision}`);
    });
    notesAt(b.stages.length);
    const nat = [b.dnat ? `DNAT to ${b.dnat}` : "no DNAT", b.masquerade ? "masqueraded" : b.snat ? `SNAT to ${b.snat}` : "source kept"];
    out.push(`  verdict: ${b.verdict}${b.rejectWith ? ` (${b.rejectWith})` : ""}; ${nat.join("; ")}`);
  });
  return out.join("\n") + "\n";
}

export function registerTrace(program: Command): void {
  program
    .command("trace")
    .description("trace one packet through a node's iptables dump (iptables-save output or an iptables-restore file)")
    .requiredOption("--rules <file>", "the node's rules: `iptables-save` output or what `svcspec rules` wrote")
    .option("--local-ip <ips>", "the node's own addresses, comma-separated (127.0.0.0/8 is always local)", "")
    .requiredOption("--src <ip>", "source address (one of --local-ip: the node sends it; otherwise it arrives from outside)")
    .requiredOption("--dst <ip>", "destination address")
    .requiredOption("--dport <port>", "destination port")
    .option("--sport <port>", "source port", "40000")
    .addOption(new Option("--proto <proto>", "protocol").choices(["tcp", "udp", "sctp"]).default("tcp"))
    .option("--in-iface <name>", "interface an outside packet arrives on", "eth0")
    .option("--out-iface <name>", "interface a forwarded packet leaves by", "eth0")
    .option("--json", "print the branches as JSON", false)
    .action((opts: TraceCliOptions) => {
      const file = opts.rules!;
      let text: string;
      try {
        text = readText(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        inputError(`cannot read ${file}${code === "ENOENT" ? ": no such file" : `: ${code ?? String(err)}`}`);
      }
      try {
        const ruleset = loadRuleset(text, file);
        const detail = traceDumpDetailed(ruleset, {
          localIps: (opts.localIp ?? "").split(","),
          src: opts.src!,
          dst: opts.dst!,
          dport: port("--dport", opts.dport)!,
          sport: port("--sport", opts.sport)!,
          proto: opts.proto,
          ...(opts.inIface ? { inIface: opts.inIface } : {}),
          ...(opts.outIface ? { outIface: opts.outIface } : {}),
          file,
        });
        if (opts.json) {
          const branches = detail.branches.map(({ stages: _s, notes: _n, ...b }) => b);
          process.stdout.write(JSON.stringify({ branches }, null, 2) + "\n");
        } else process.stdout.write(formatTrace(detail));
      } catch (err) {
        if (err instanceof RulesetParseError) {
          process.stderr.write(formatDiagnosticText(err.toDiagnostic()) + "\n");
          process.exit(EXIT.input);
        }
        if (err instanceof TraceOptionError) inputError(err.message);
        throw err;
      }
    });
}
