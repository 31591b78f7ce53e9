// Every construct of the language, parsed to the AST, with positions checked where they matter
// (names carry their own spans so the world can put a caret under a misspelt name).
import { describe, expect, it } from "vitest";
import type * as A from "../../src/lang/ast.js";
import { parse } from "../../src/lang/parse.js";

function ok(text: string): A.SpecFile {
  const { ast, diagnostics } = parse(text, "t.svcspec");
  expect(diagnostics).toEqual([]);
  return ast;
}
const at = (p: A.Position) => [p.line, p.column, p.endLine, p.endColumn];

function cluster(body: string): A.ClusterStmt[] {
  const item = ok(`cluster {\n${body}\n}\n`).items[0]!;
  if (item.kind !== "cluster") throw new Error("not a cluster");
  return item.statements;
}
function scenario(body: string): A.ScenarioStmt[] {
  const item = ok(`scenario "s" {\n${body}\n}\n`).items[0]!;
  if (item.kind !== "scenario") throw new Error("not a scenario");
  return item.statements;
}
function service(body: string, header = "service web"): A.ServiceBlock {
  const item = ok(`${header} {\n${body}\n}\n`).items[0]!;
  if (item.kind !== "service") throw new Error("not a service");
  return item;
}

describe("top level", () => {
  it("spec title, named cluster, comments and blank lines", () => {
    const ast = ok('# header\n\nspec "NodePort and SNAT"   # title\n\ncluster prod {\n}\n');
    expect(ast.title?.value).toBe("NodePort and SNAT");
    expect(at(ast.title!.pos)).toEqual([3, 6, 3, 24]);
    const c = ast.items[1]!;
    expect(c.kind === "cluster" && c.name?.text).toBe("prod");
    expect(at(c.pos)).toEqual([5, 1, 6, 1]);
  });

  it("string escapes", () => {
    expect(ok('spec "say \\"hi\\" \\\\ there"\n').title?.value).toBe('say "hi" \\ there');
  });

  it("apply a file and a heredoc, body kept verbatim with its line", () => {
    const ast = ok('apply "svc.yaml"\napply <<YAML\nkind: Service\n  # indented\nYAML\nspec "x"');
    const [file, inline] = ast.items as A.ApplyStmt[];
    expect(file!.source).toMatchObject({ kind: "file", path: { value: "svc.yaml" } });
    if (inline!.source.kind !== "inline") throw new Error("inline expected");
    const h = inline!.source.heredoc;
    expect(h.tag.text).toBe("YAML");
    expect(at(h.tag.pos)).toEqual([2, 9, 2, 12]);
    expect(h.body).toBe("kind: Service\n  # indented");
    expect(h.bodyLine).toBe(3);
    expect(at(inline!.pos)).toEqual([2, 1, 5, 4]);
  });

  it("heredoc: indented closing tag, common indentation removed in `dedented`, CRLF", () => {
    const ast = ok('scenario "s" {\r\n  show iptables n1 expect <<EOF\r\n    -A X\r\n      -j Y\r\n  EOF\r\n}\r\n');
    const s = ast.items[0] as A.ScenarioBlock;
    const check = (s.statements[0] as A.ShowProbe).expects[0]!.check;
    expect(check.kind === "text" && [check.heredoc.body, check.heredoc.dedented]).toEqual(["    -A X\r\n      -j Y", "-A X\r\n  -j Y"]);
  });
});

describe("cluster", () => {
  it("settings", () => {
    const s = cluster(
      [
        "  pod-cidr 10.244.0.0/16",
        "  service-cidr 10.96.0.0/12",
        "  node-port-range 30000-32767",
        "  proxy-mode iptables",
        "  masquerade-all on",
        "  masquerade off",
        "  hairpin-mode promiscuous-bridge",
        "  br-netfilter off",
        "  cloud-provider on",
        "  lb-pool 198.51.100.0/24",
        "  cluster-domain cluster.local",
        "  localhost-nodeports off",
        "  nodeport-addresses 192.168.1.0/24, 10.0.0.0/8",
        "  node-network 192.168.1.0/24",
        "  router 192.168.1.1",
        "  kube-dns off",
      ].join("\n"),
    ) as A.ClusterSetting[];
    const byKey = Object.fromEntries(s.map((x) => [x.key, x.value]));
    expect(byKey["pod-cidr"]).toMatchObject({ text: "10.244.0.0/16", base: 0x0af40000, prefix: 16 });
    expect(byKey["node-port-range"]).toMatchObject({ base: { value: 30000 }, max: { value: 32767 } });
    expect(byKey["proxy-mode"]).toMatchObject({ value: "iptables" });
    expect(byKey["masquerade-all"]).toMatchObject({ value: true });
    expect(byKey["masquerade"]).toMatchObject({ value: false });
    expect(byKey["hairpin-mode"]).toMatchObject({ value: "promiscuous-bridge" });
    expect(byKey["cluster-domain"]).toMatchObject({ text: "cluster.local" });
    expect((byKey["nodeport-addresses"] as A.CidrLit[]).map((c) => c.text)).toEqual(["192.168.1.0/24", "10.0.0.0/8"]);
    expect(byKey["router"]).toMatchObject({ text: "192.168.1.1", value: 0xc0a80101 });
    expect(byKey["kube-dns"]).toMatchObject({ value: false });
    expect(s).toHaveLength(16);
    expect(at(s[0]!.keyPos)).toEqual([2, 3, 2, 10]);
    expect(at(s[0]!.pos)).toEqual([2, 3, 2, 24]);
  });

  it("node, client, route, namespace", () => {
    const [node, node2, client, route, ns] = cluster(
      "  node node1 192.168.1.11\n  node node2 192.168.1.12 pod-cidr 10.244.7.0/24\n  client laptop 203.0.113.7\n  route 198.51.100.0/24 via node1,node2\n  namespace shop",
    ) as [A.NodeStmt, A.NodeStmt, A.ClientStmt, A.RouteStmt, A.NamespaceStmt];
    expect(node).toMatchObject({ kind: "node", name: { text: "node1" }, ip: { text: "192.168.1.11" }, podCidr: null });
    expect(at(node.name.pos)).toEqual([2, 8, 2, 12]);
    expect(at(node.ip.pos)).toEqual([2, 14, 2, 25]);
    expect(node2.podCidr?.text).toBe("10.244.7.0/24");
    expect(client).toMatchObject({ kind: "client", name: { text: "laptop" }, ip: { value: 0xcb007107 } });
    expect(route.via.map((n) => n.text)).toEqual(["node1", "node2"]);
    expect(at(route.via[1]!.pos)).toEqual([5, 35, 5, 39]);
    expect(ns).toMatchObject({ kind: "namespace", name: { text: "shop" } });
  });

  it("pod with every option, in any order", () => {
    const [pod] = cluster(
      "  pod web-1 on node1 listen tcp/80 udp/53 http=tcp/8080 labels app=web,app.kubernetes.io/name=shop,v=2,e=\"\" not-ready ip 10.244.1.5 namespace shop",
    ) as [A.PodStmt];
    expect(pod.name.text).toBe("web-1");
    expect(pod.node.text).toBe("node1");
    expect(pod.ip?.text).toBe("10.244.1.5");
    expect(pod.ready).toBe(false);
    expect(pod.namespace?.text).toBe("shop");
    expect(pod.labels.map((l) => [l.key.text, l.value.text])).toEqual([["app", "web"], ["app.kubernetes.io/name", "shop"], ["v", "2"], ["e", ""]]);
    expect(at(pod.labels[1]!.key.pos)).toEqual([2, 72, 2, 93]);
    expect(pod.listen.map((l) => [l.name?.text ?? null, l.protocol.value, l.port.value])).toEqual([
      [null, "TCP", 80],
      [null, "UDP", 53],
      ["http", "TCP", 8080],
    ]);
    expect(at(pod.listen[2]!.pos)).toEqual([2, 43, 2, 55]);
    expect(at(pod.pos)).toEqual([2, 3, 2, 146]);
  });

  it("pod names may be keywords; a pod called `client` on a node called `node`", () => {
    const [pod] = cluster("  pod client on node") as [A.PodStmt];
    expect([pod.name.text, pod.node.text, pod.ready, pod.labels, pod.listen]).toEqual(["client", "node", true, [], []]);
  });

  it("deployment shorthand", () => {
    const [d, all] = cluster("  deployment web replicas 3 on node1,node2 labels app=web listen tcp/80 namespace shop\n  deployment api replicas 2") as A.DeploymentStmt[];
    expect(d).toMatchObject({ kind: "deployment", name: { text: "web" }, replicas: { value: 3 }, namespace: { text: "shop" } });
    expect(d!.nodes.map((n) => n.text)).toEqual(["node1", "node2"]);
    expect(all!.nodes).toEqual([]);
  });
});

describe("service", () => {
  it("type and every field", () => {
    const s = service(
      [
        "  namespace shop",
        "  selector app=web,tier=front",
        "  port http tcp 80 -> 8080 node-port 30080",
        "  port dns udp 53 -> dns",
        "  port 443",
        "  cluster-ip 10.96.0.10",
        "  external-traffic-policy Local",
        "  internal-traffic-policy Cluster",
        "  external-ips 203.0.113.10, 203.0.113.11",
        "  load-balancer-ip 198.51.100.7",
        "  load-balancer-source-ranges 203.0.113.0/24",
        "  health-check-node-port 32000",
        "  session-affinity ClientIP timeout 600",
        "  publish-not-ready-addresses on",
        "  type LoadBalancer",
      ].join("\n"),
      "service web NodePort",
    );
    expect(s.name.text).toBe("web");
    expect(s.type?.value).toBe("NodePort");
    const f = s.fields;
    expect(f.map((x) => x.key)).toEqual([
      "namespace", "selector", "port", "port", "port", "cluster-ip", "external-traffic-policy", "internal-traffic-policy",
      "external-ips", "load-balancer-ip", "load-balancer-source-ranges", "health-check-node-port", "session-affinity",
      "publish-not-ready-addresses", "type",
    ]);
    const [http, dns, plain] = f.filter((x): x is Extract<A.ServiceField, { key: "port" }> => x.key === "port").map((x) => x.value);
    expect(http).toMatchObject({ name: { text: "http" }, protocol: { value: "TCP" }, port: { value: 80 }, target: { kind: "number", port: { value: 8080 } }, nodePort: { value: 30080 } });
    expect(at(http!.nodePort!.pos)).toEqual([4, 38, 4, 42]);
    expect(dns).toMatchObject({ name: { text: "dns" }, protocol: { value: "UDP" }, target: { kind: "name", name: { text: "dns" } }, nodePort: null });
    expect(plain).toMatchObject({ name: null, protocol: null, target: null, port: { value: 443 } });
    expect(f[8]!.value).toMatchObject([{ text: "203.0.113.10" }, { text: "203.0.113.11" }]);
    expect(f[12]!.value).toMatchObject({ mode: { value: "ClientIP" }, timeout: { value: 600 } });
  });

  it("headless: cluster-ip None; ExternalName", () => {
    expect(service("  cluster-ip None").fields[0]!.value).toMatchObject({ value: "None" });
    const ext = service("  external-name db.example.com", "service db ExternalName");
    expect(ext.fields[0]!.value).toMatchObject({ text: "db.example.com" });
  });

  it("port with protocol only", () => {
    const p = service("  port udp 53").fields[0]!.value as A.PortSpec;
    expect([p.name, p.protocol?.value, p.port.value]).toEqual([null, "UDP", 53]);
  });
});

describe("scenario", () => {
  it("title, tags and the positions of a send probe", () => {
    const ast = ok('scenario "t" tags smoke, nodeport {\n  send tcp from laptop to node2:8080 expect connected\n}\n');
    const s = ast.items[0] as A.ScenarioBlock;
    expect(s.tags.map((t) => t.text)).toEqual(["smoke", "nodeport"]);
    const p = s.statements[0] as A.PacketProbe;
    expect(p.kind).toBe("send");
    expect(at(p.from.pos)).toEqual([2, 17, 2, 22]);
    expect(p.to).toMatchObject({ kind: "name", name: { text: "node2" } });
    expect(at(p.to.pos)).toEqual([2, 27, 2, 31]);
    expect(at(p.port.pos)).toEqual([2, 33, 2, 36]);
    expect(at(p.pos)).toEqual([2, 3, 2, 53]);
  });

  it("targets: name, IP, DNS name, lb:SERVICE, and a host called lb", () => {
    const probes = scenario(
      "  send tcp from a to web:80\n  send udp from a to 10.96.0.10:53\n  trace tcp from a to web.shop.svc.cluster.local:80\n  send tcp from a to lb:web:80\n  send tcp from a to lb:80",
    ) as A.PacketProbe[];
    expect(probes.map((p) => p.to.kind)).toEqual(["name", "ip", "dns", "lb", "name"]);
    expect(probes[1]!.protocol.value).toBe("UDP");
    expect(probes[2]!.kind).toBe("trace");
    const lb = probes[3]!.to;
    expect(lb.kind === "lb" && [lb.service.text, at(lb.service.pos)]).toEqual(["web", [5, 25, 5, 27]]);
    expect(at(lb.pos)).toEqual([5, 22, 5, 27]);
  });

  it("expectations: inline, on following lines, quantifiers, every send check", () => {
    const [p] = scenario(
      [
        "  send tcp from laptop to node2:8080 expect connected, masqueraded",
        "    # a comment between expectation lines",
        "    expect reply-from node2:8080, reply-from 10.0.0.1",
        "",
        "    expect never delivered-to any-of web-1, web-2, source-seen 192.168.1.12",
        "    sometimes via node1, dropped",
        "    expect rejected, refused, unreachable, delivered-to web-3",
        "    never source-seen laptop",
      ].join("\n"),
    ) as [A.PacketProbe];
    const checks = p.expects.map((e) => [e.quantifier, e.check.kind]);
    expect(checks).toEqual([
      ["always", "connected"], ["always", "masqueraded"], ["always", "reply-from"], ["always", "reply-from"],
      ["never", "delivered-to"], ["always", "source-seen"], ["sometimes", "via"], ["always", "dropped"],
      ["always", "rejected"], ["always", "refused"], ["always", "unreachable"], ["always", "delivered-to"], ["never", "source-seen"],
    ]);
    expect(p.expects[2]!.check).toMatchObject({ host: { kind: "name", name: { text: "node2" } }, port: { value: 8080 } });
    expect(p.expects[3]!.check).toMatchObject({ host: { kind: "ip", ip: { text: "10.0.0.1" } }, port: null });
    expect(p.expects[4]!.check).toMatchObject({ anyOf: true, pods: [{ text: "web-1" }, { text: "web-2" }] });
    expect(p.expects[4]!.quantifierPos && at(p.expects[4]!.quantifierPos)).toEqual([6, 12, 6, 16]);
    expect(p.expects[0]!.quantifierPos).toBeNull();
    expect(p.expects[11]!.check).toMatchObject({ anyOf: false, pods: [{ text: "web-3" }] });
    expect(at(p.pos)).toEqual([2, 3, 9, 28]);
  });

  it("resolve and nslookup", () => {
    const [r, n] = scenario(
      "  resolve web.shop from client-pod expect answer 10.96.0.10 10.96.0.11\n  nslookup db from p\n    expect cname db.example.com\n    expect nxdomain, fails",
    ) as A.DnsProbe[];
    expect(r).toMatchObject({ kind: "resolve", query: { text: "web.shop" }, from: { text: "client-pod" } });
    expect(r!.expects[0]!.check).toMatchObject({ kind: "answer", ips: [{ text: "10.96.0.10" }, { text: "10.96.0.11" }] });
    expect(n!.expects.map((e) => e.check.kind)).toEqual(["cname", "nxdomain", "fails"]);
  });

  it("every show subject and its checks", () => {
    const shows = scenario(
      [
        '  show iptables node1 nat KUBE-SERVICES expect contains "KUBE-SVC", lines 4',
        "  show iptables node1",
        "  show iptables node1 filter",
        "  show endpoints web",
        "  show services",
        "  show routes node1",
        "  show conntrack node1",
        "  show hairpin node1",
        "  show bridge node1",
        "  show pods",
        "    expect never contains \"Pending\"",
      ].join("\n"),
    ) as A.ShowProbe[];
    expect(shows.map((s) => s.what.subject)).toEqual(["iptables", "iptables", "iptables", "endpoints", "services", "routes", "conntrack", "hairpin", "bridge", "pods"]);
    expect(shows[0]!.what).toMatchObject({ node: { text: "node1" }, table: { value: "nat" }, chain: { text: "KUBE-SERVICES" } });
    expect(shows[1]!.what).toMatchObject({ table: null, chain: null });
    expect(shows[0]!.expects.map((e) => e.check)).toMatchObject([{ kind: "contains", text: { value: "KUBE-SVC" } }, { kind: "lines", count: { value: 4 } }]);
    expect(shows[9]!.expects[0]).toMatchObject({ quantifier: "never", check: { kind: "contains" } });
  });

  it("changes", () => {
    const c = scenario(
      [
        "  set pod web-1 not-ready",
        "  set pod web-1 ready",
        "  delete pod web-2",
        "  delete service web",
        "  set service web external-traffic-policy Local",
        "  set service web type NodePort",
        '  apply "more.yaml"',
        "  apply <<K8S",
        "kind: Namespace",
        "K8S",
        "  stop kube-proxy on node1",
        "  stop kube-dns",
        "  fail node node2",
      ].join("\n"),
    );
    expect(c.map((x) => x.kind)).toEqual(["set-pod", "set-pod", "delete-pod", "delete-service", "set-service", "set-service", "apply", "apply", "stop-kube-proxy", "stop-kube-dns", "fail-node"]);
    expect(c[0]).toMatchObject({ pod: { text: "web-1" }, ready: { value: "not-ready" } });
    expect(c[4]).toMatchObject({ service: { text: "web" }, field: { key: "external-traffic-policy", value: { value: "Local" } } });
    const inline = c[7] as A.ApplyStmt;
    expect(inline.source.kind === "inline" && inline.source.heredoc.bodyLine).toBe(10);
    expect(c[8]).toMatchObject({ node: { text: "node1" } });
  });
});

describe("the language.md example", () => {
  it("parses without diagnostics", () => {
    const text = `spec "NodePort and SNAT"

cluster {
  pod-cidr 10.244.0.0/16            # kube-proxy --cluster-cidr (local traffic detector)
  service-cidr 10.96.0.0/12         # ClusterIPs come from here
  node-port-range 1-65535           # kube-apiserver --service-node-port-range (default 30000-32767)

  node node1 192.168.1.11           # pod range: next /24 of pod-cidr unless \`pod-cidr ...\` is given
  node node2 192.168.1.12

  pod nginx-1 on node1 labels run=my-nginx listen tcp/80 tcp/443
  client laptop 203.0.113.7         # outside the cluster
}

apply <<YAML
apiVersion: v1
kind: Service
metadata:
  name: my-nginx
spec:
  type: NodePort
  ports:
  - {nodePort: 8080, port: 8080, targetPort: 80, protocol: TCP, name: http}
  selector:
    run: my-nginx
YAML

scenario "an outside client through node2 gets its reply from node2" {
  send tcp from laptop to node2:8080
    expect connected
    expect reply-from node2:8080
    expect delivered-to nginx-1
    expect source-seen node2          # SNAT: the pod sees node2, not the client
}

scenario "Local policy keeps the client address and drops where no pod runs" {
  set service my-nginx external-traffic-policy Local
  send tcp from laptop to node1:8080 expect connected, source-seen laptop
  send tcp from laptop to node2:8080 expect dropped
}
`;
    const ast = ok(text);
    expect(ast.items.map((i) => i.kind)).toEqual(["spec", "cluster", "apply", "scenario", "scenario"]);
    const apply = ast.items[2] as A.ApplyStmt;
    expect(apply.source.kind === "inline" && apply.source.heredoc.bodyLine).toBe(16);
    const send = (ast.items[3] as A.ScenarioBlock).statements[0] as A.PacketProbe;
    expect(send.expects).toHaveLength(4);
    expect(at(send.pos)).toEqual([29, 3, 33, 28]);
  });
});

describe("re-sync follow sets, computed on the first syntax error", () => {
  it("are chevrotain's, as a parser analysed with recovery on has them", async () => {
    const { svcspecParser } = await import("../../src/lang/parser.js");
    type WithFollows = { resyncFollows: Record<string, { name: string }[]> };
    const Eager = svcspecParser.constructor as new (followsNow: boolean) => WithFollows;
    const names = (f: WithFollows["resyncFollows"]) => Object.fromEntries(Object.entries(f).map(([k, ts]) => [k, ts.map((t) => t.name)]));
    const lazy = names((svcspecParser as unknown as WithFollows).resyncFollows);
    expect(Object.keys(lazy).length).toBeGreaterThan(50);
    expect(lazy).toEqual(names(new Eager(true).resyncFollows));
  });
});
