// `svcspec rules`: the iptables rules kube-proxy (iptables mode) writes on one node.
//   svcspec rules SPEC --node NODE [--table nat|filter]      the node's tables as iptables-save prints them
//   svcspec rules --manifests FILE... --node-name N --node-ip IP[,IP]   the iptables-restore text kube-proxy hands over

import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import type { Diagnostic } from "../lang/diagnostic.js";
import type { EndpointSlice, Service } from "../world/k8s.js";
import { readManifests, sortRestoreCanonical, writeRestore, type ProxierConfig } from "../kube/proxier/index.js";
import { formatDiagnosticText } from "../report/caret.js";
import { suggest } from "../lang/suggest.js";
import { EXIT } from "./exit.js";

interface RulesOptions {
  node?: string;
  table?: "nat" | "filter";
  manifests?: string[];
  nodeName?: string;
  nodeIp?: string;
  clusterCidr?: string;
  masqueradeAll?: boolean;
  nodeportAddresses?: string;
  localhostNodeports?: boolean;
  nfacct?: boolean;
  randomFully?: boolean;
  canonical?: boolean;
}

function usageError(message: string, hint?: string): never {
  process.stderr.write(`svcspec rules: ${message}\n${hint ? `  ${hint}\n` : ""}`);
  process.exit(EXIT.input);
}

function printDiagnostics(ds: Diagnostic[]): void {
  for (const d of ds) process.stderr.write(formatDiagnosticText(d) + "\n");
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    usageError(`cannot read ${path}${code === "ENOENT" ? ": no such file" : `: ${code ?? String(err)}`}`);
  }
}

function runManifests(opts: RulesOptions): void {
  if (!opts.nodeName) usageError("--manifests needs --node-name NAME (the node whose kube-proxy writes the rules)");
  if (!opts.nodeIp) usageError("--manifests needs --node-ip IP[,IP...] (the node's addresses; the first is kube-proxy's primary node IP)");
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of opts.manifests!) {
    const m = readManifests(file, readText(file));
    services.push(...m.services);
    slices.push(...m.slices);
    diagnostics.push(...m.diagnostics);
  }
  if (diagnostics.length > 0) {
    printDiagnostics(diagnostics);
    process.exit(EXIT.input);
  }
  const split = (s: string | undefined) => (s ? s.split(",").map((x) => x.trim()).filter((x) => x !== "") : []);
  const cfg: ProxierConfig = {
    nodeName: opts.nodeName,
    nodeIPs: split(opts.nodeIp),
    clusterCIDR: opts.clusterCidr ?? null,
    masqueradeAll: opts.masqueradeAll ?? false,
    masqueradeMark: "0x4000",
    nodePortAddresses: split(opts.nodeportAddresses),
    // Both --x and --no-x are declared, so commander leaves the default unset: kube-proxy's defaults.
    localhostNodePorts: opts.localhostNodeports ?? true,
    nfacct: opts.nfacct ?? true,
    randomFully: opts.randomFully ?? true,
  };
  const text = writeRestore(services, slices, cfg);
  process.stdout.write(opts.canonical ? sortRestoreCanonical(text) : text);
}

async function runSpec(spec: string, opts: RulesOptions): Promise<void> {
  if (!opts.node) usageError("a .svcspec needs --node NODE (which node's kube-proxy to show)");
  // Loaded only for a .svcspec: the --manifests mode needs no parser (and starts faster).
  const { parse } = await import("../lang/parse.js");
  const { buildWorld, resolveManifestPath } = await import("../world/build.js");
  const { UnknownNodeError, nodeRulesFor } = await import("../kube/node-rules.js");
  const text = readText(spec);
  const parsed = parse(text, spec);
  if (parsed.diagnostics.some((d) => d.severity === "error")) {
    printDiagnostics(parsed.diagnostics);
    process.exit(EXIT.input);
  }
  const built = buildWorld(parsed.ast, { file: spec, readFile: (p) => readFileSync(resolveManifestPath(spec, p), "utf8") });
  if (!built.world || built.diagnostics.some((d) => d.severity === "error")) {
    printDiagnostics(built.diagnostics);
    process.exit(EXIT.input);
  }
  try {
    process.stdout.write(nodeRulesFor(built.world, opts.node, opts.table));
  } catch (err) {
    if (err instanceof UnknownNodeError) {
      const guess = suggest(err.node, err.known);
      usageError(err.message, guess ? `did you mean \`${guess}\`?` : undefined);
    }
    throw err;
  }
}

export function registerRules(program: Command): void {
  program
    .command("rules")
    .description("print the iptables rules kube-proxy (iptables mode) writes on a node")
    .argument("[spec]", ".svcspec file: print NODE's filter and nat tables as iptables-save shows them")
    .option("--node <node>", "the node (with a .svcspec)")
    .addOption(new Option("--table <table>", "only this table (with a .svcspec)").choices(["nat", "filter"]))
    .option("--manifests <files...>", "raw Service (v1) and EndpointSlice (discovery.k8s.io/v1) YAML, multi-document; taken as written, no apiserver defaulting (a missing port protocol means TCP)")
    .option("--node-name <name>", "kube-proxy's node name (decides which endpoints are local)")
    .option("--node-ip <ips>", "the node's IPs, comma-separated; the first is the primary node IP")
    .option("--cluster-cidr <cidr>", "--cluster-cidr: the local traffic detector (default: none)")
    .option("--masquerade-all", "--masquerade-all: masquerade all clusterIP traffic")
    .option("--nodeport-addresses <cidrs>", "--nodeport-addresses, comma-separated (default: all local addresses)")
    .option("--localhost-nodeports", "--iptables-localhost-nodeports (default on, as kube-proxy)")
    .option("--no-localhost-nodeports", "refuse NodePorts on 127.0.0.0/8")
    .option("--nfacct", "the nfacct counters exist (kube-proxy's default on a node with nfnetlink_acct; default on)")
    .option("--no-nfacct", "no nfacct counters: rules without -m nfacct")
    .option("--random-fully", "iptables supports MASQUERADE --random-fully (default on, as any current iptables)")
    .option("--no-random-fully", "no --random-fully on the MASQUERADE rule")
    .option("--canonical", "sort as upstream's unit tests do (sortIPTablesRules), for comparing with their expected output")
    .addHelpText(
      "after",
      "\nDefaults follow a real kube-proxy on a current node: localhost NodePorts on, nfacct counters present,\n" +
        "MASQUERADE --random-fully. Upstream's NewFakeProxier differs (no --random-fully): pass --no-random-fully\n" +
        "and --cluster-cidr 10.0.0.0/8 to reproduce its expected outputs.",
    )
    .action(async (spec: string | undefined, opts: RulesOptions) => {
      if (opts.manifests && opts.manifests.length > 0) {
        if (spec) opts.manifests.push(spec);
        runManifests(opts);
      } else if (spec) {
        await runSpec(spec, opts);
      } else {
        usageError("give a .svcspec file with --node NODE, or --manifests FILE... with --node-name and --node-ip");
      }
    });
}
