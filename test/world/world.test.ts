import { describe, expect, test } from "vitest";
import { build, CLUSTER, errors } from "./helpers.js";
import { deriveEndpointSlices, slicesForService } from "../../src/world/controllers.js";
import { applyManifests, deletePod, failNode, setPodReady, setServiceField } from "../../src/world/changes.js";
import { parseManifests } from "../../src/world/manifests.js";
import { parse } from "../../src/lang/parse.js";
import { buildWorld } from "../../src/world/build.js";
import type { World } from "../../src/world/model.js";
import type { ServiceField } from "../../src/lang/ast.js";
import { deleteService } from "../../src/world/changes.js";
import { nodeTables, type ProxierConfig } from "../../src/kube/proxier/index.js";

function world(src: string): World {
  const r = build(src);
  expect(errors(r.diagnostics), JSON.stringify(r.diagnostics, null, 1)).toEqual([]);
  return r.world!;
}
const svcOf = (w: World, name: string) => w.services.find((s) => s.metadata.name === name)!;

describe("defaulting and deterministic allocation", () => {
  const src = `${CLUSTER}service a {
  selector run=my-nginx
  port 80
}
service b NodePort {
  port http 80 -> http
  port https 443
}
service c LoadBalancer {
  port 80
  external-traffic-policy Local
}
`;
  test("defaults as SetDefaults_Service", () => {
    const w = world(src);
    const a = svcOf(w, "a");
    expect(a.spec).toMatchObject({ type: "ClusterIP", sessionAffinity: "None", internalTrafficPolicy: "Cluster", ipFamilies: ["IPv4"], ipFamilyPolicy: "SingleStack" });
    expect(a.spec.externalTrafficPolicy).toBeUndefined();
    expect(a.spec.ports![0]).toEqual({ port: 80, protocol: "TCP", targetPort: 80 });
    expect(svcOf(w, "b").spec.externalTrafficPolicy).toBe("Cluster");
    expect(svcOf(w, "c").spec.allocateLoadBalancerNodePorts).toBe(true);
  });

  test("ClusterIPs from .100 up, system Services at the 1st and 10th address", () => {
    const w = world(src);
    expect(w.services.map((s) => [s.metadata.namespace, s.metadata.name, s.spec.clusterIP])).toEqual([
      ["default", "kubernetes", "10.96.0.1"],
      ["kube-system", "kube-dns", "10.96.0.10"],
      ["default", "a", "10.96.0.100"],
      ["default", "b", "10.96.0.101"],
      ["default", "c", "10.96.0.102"],
    ]);
  });

  test("nodePorts from the upper band (30086 up), health check port for LB + Local", () => {
    const w = world(src);
    expect(svcOf(w, "b").spec.ports!.map((p) => p.nodePort)).toEqual([30086, 30087]);
    expect(svcOf(w, "c").spec.ports![0]!.nodePort).toBe(30088);
    expect(svcOf(w, "c").spec.healthCheckNodePort).toBe(30089);
  });

  test("pinned values are honoured even when declared after dynamic ones", () => {
    const w = world(`${CLUSTER}service a NodePort {
  port 80
}
service b NodePort {
  port 80 node-port 30086
  cluster-ip 10.96.0.100
}
`);
    expect(svcOf(w, "a").spec.ports![0]!.nodePort).toBe(30087);
    expect(svcOf(w, "a").spec.clusterIP).toBe("10.96.0.101");
    expect(svcOf(w, "b").spec.clusterIP).toBe("10.96.0.100");
  });

  test("same file, same world", () => {
    expect(JSON.stringify(world(src).services)).toBe(JSON.stringify(world(src).services));
  });

  test("TCP/53 and UDP/53 share one nodePort", () => {
    const w = world(`${CLUSTER}service dns NodePort {
  port dns udp 53
  port dns-tcp tcp 53
}
`);
    const [u, t] = svcOf(w, "dns").spec.ports!;
    expect(u!.nodePort).toBe(t!.nodePort);
  });
});

describe("nodes and pods", () => {
  test("node pod ranges, bridge, pod IPs from .2 in declaration order, CoreDNS after user pods", () => {
    const w = world(`cluster {
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod a on node1
  pod b on node2
  pod c on node1 ip 10.244.1.2
  pod d on node1
}
`);
    expect(w.nodes.map((n) => [n.podCidr, n.bridgeIp])).toEqual([
      ["10.244.1.0/24", "10.244.1.1"],
      ["10.244.2.0/24", "10.244.2.1"],
    ]);
    expect(w.pods.map((p) => `${p.name}@${p.node}=${p.ip}`)).toEqual([
      "a@node1=10.244.1.3",
      "b@node2=10.244.2.2",
      "c@node1=10.244.1.2",
      "d@node1=10.244.1.4",
      "coredns-1@node1=10.244.1.5",
      "coredns-2@node2=10.244.2.3",
    ]);
  });

  test("Deployment manifest: round-robin placement, names <deploy>-<k>, template labels and ports", () => {
    const w = world(`${CLUSTER}apply <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: fe}}
    spec:
      containers:
      - name: c
        ports: [{containerPort: 8080, name: http}, {containerPort: 53, protocol: UDP}]
YAML
`);
    const pods = w.pods.filter((p) => p.ownerDeployment === "web");
    expect(pods.map((p) => `${p.name}@${p.node}`)).toEqual(["web-1@node1", "web-2@node2", "web-3@node1"]);
    expect(pods[0]!.labels).toEqual({ app: "web", tier: "fe" });
    expect(pods[0]!.listen).toEqual([{ protocol: "TCP", port: 8080, name: "http" }, { protocol: "UDP", port: 53 }]);
  });

  test("Deployment whose selector does not match its template", () => {
    const r = build(`${CLUSTER}apply <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c}]}
YAML
`);
    expect(errors(r.diagnostics).map((d) => d.message)).toEqual(["Deployment web: the selector `app=web` does not match the template labels"]);
    expect(errors(r.diagnostics)[0]!.pos.line).toBe(14);
  });
});

describe("EndpointSlice controller", () => {
  const src = `${CLUSTER.replace("  client", "  pod nginx-2 on node2 labels run=my-nginx not-ready listen tcp/80\n  pod other on node2 labels run=my-nginx listen web=tcp/8080\n  client")}service web {
  selector run=my-nginx
  port http 80 -> http
  port plain 81 -> 9000
}
`;
  test("readiness, named ports resolved per pod, grouping by port set", () => {
    const w = world(src);
    const slices = deriveEndpointSlices(w).filter((s) => s.metadata.labels?.["kubernetes.io/service-name"] === "web");
    // nginx-1 has `http`; nginx-2 and other do not: they only serve the numeric port.
    expect(slices).toHaveLength(2);
    const withHttp = slices.find((s) => s.ports!.some((p) => p.name === "http"))!;
    expect(withHttp.ports).toEqual([
      { name: "http", protocol: "TCP", port: 80 },
      { name: "plain", protocol: "TCP", port: 9000 },
    ]);
    expect(withHttp.endpoints).toEqual([
      { addresses: ["10.244.1.2"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "node1", targetRef: { kind: "Pod", name: "nginx-1", namespace: "default" } },
    ]);
    const plain = slices.find((s) => s !== withHttp)!;
    expect(plain.ports).toEqual([{ name: "plain", protocol: "TCP", port: 9000 }]);
    expect(plain.endpoints.map((e) => [e.targetRef!.name, e.conditions!.ready, e.conditions!.serving])).toEqual([
      ["nginx-2", false, false],
      ["other", true, true],
    ]);
    expect(withHttp.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test("publishNotReadyAddresses makes not-ready pods ready", () => {
    const w = world(src);
    const svc = { ...w.services.find((s) => s.metadata.name === "web")!, spec: { ...w.services.find((s) => s.metadata.name === "web")!.spec, publishNotReadyAddresses: true } };
    const eps = slicesForService(svc, w.pods).flatMap((s) => s.endpoints);
    expect(eps.every((e) => e.conditions!.ready && e.conditions!.serving)).toBe(true);
  });

  test("a Service matching no pod gets one empty slice; kube-dns selects CoreDNS", () => {
    const w = world(`${CLUSTER}service lonely {
  selector app=none
  port 80
}
`);
    const all = deriveEndpointSlices(w);
    const lonely = all.filter((s) => s.metadata.labels?.["kubernetes.io/service-name"] === "lonely");
    expect(lonely).toHaveLength(1);
    expect(lonely[0]!.endpoints).toEqual([]);
    const dns = all.find((s) => s.metadata.labels?.["kubernetes.io/service-name"] === "kube-dns")!;
    expect(dns.endpoints.map((e) => e.targetRef!.name)).toEqual(["coredns-1", "coredns-2"]);
    const k = all.find((s) => s.metadata.name === "kubernetes")!;
    expect(k.endpoints[0]!.addresses).toEqual(["192.168.1.11"]);
    expect(k.ports).toEqual([{ name: "https", protocol: "TCP", port: 6443 }]);
  });

  test("selector-less Services keep manual EndpointSlices and mirrored Endpoints", () => {
    const w = world(`${CLUSTER}service ext {
  port db 5432
}
apply <<YAML
apiVersion: v1
kind: Endpoints
metadata: {name: ext}
subsets:
- addresses: [{ip: 198.51.100.20}]
  notReadyAddresses: [{ip: 198.51.100.21}]
  ports: [{name: db, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-manual
  labels: {kubernetes.io/service-name: ext}
addressType: IPv4
endpoints:
- addresses: [198.51.100.30]
ports: [{name: db, port: 5432, protocol: TCP}]
YAML
`);
    const slices = deriveEndpointSlices(w).filter((s) => s.metadata.labels?.["kubernetes.io/service-name"] === "ext");
    expect(slices.map((s) => s.endpoints.map((e) => `${e.addresses[0]}:${e.conditions?.ready}`))).toEqual([
      ["198.51.100.20:true", "198.51.100.21:false"],
      ["198.51.100.30:undefined"],
    ]);
  });

  test("Endpoints of a Service with a selector are not mirrored", () => {
    const w = world(`${CLUSTER}service web {
  selector run=my-nginx
  port 80
}
apply <<YAML
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets: [{addresses: [{ip: 198.51.100.20}], ports: [{port: 80}]}]
YAML
`);
    const eps = deriveEndpointSlices(w).filter((s) => s.metadata.labels?.["kubernetes.io/service-name"] === "web").flatMap((s) => s.endpoints);
    expect(eps.map((e) => e.addresses[0])).toEqual(["10.244.1.2"]);
  });
});

function fieldOf(line: string): ServiceField {
  const p = parse(`scenario "x" {\n  set service s ${line}\n}\n`, "f.svcspec");
  expect(p.diagnostics).toEqual([]);
  const st = (p.ast.items[0] as { statements: Array<{ field: ServiceField }> }).statements[0]!;
  return st.field;
}

/** The Service `np` as a manifest: NodePort 30999 for the my-nginx pods (applied over the spec's own np). */
const NODEPORT_NP = `apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  selector: {run: my-nginx}
  ports: [{port: 80, nodePort: 30999}]
`;

/** A NodePort and a LoadBalancer Service for the my-nginx pods. */
const NP_AND_LB = `service np NodePort {
  selector run=my-nginx
  port 80
}
service lb LoadBalancer {
  selector run=my-nginx
  port 80
}
`;

describe("scenario changes are pure", () => {
  const base = `${CLUSTER}${NP_AND_LB}`;
  test("setServiceField: Local on NodePort allocates nothing, on LoadBalancer a healthCheckNodePort", () => {
    const w = world(base);
    const before = JSON.stringify(w.services);
    const np = setServiceField(w, "np", fieldOf("external-traffic-policy Local"), w.nodes[0]!.pos!);
    expect(np.diagnostics).toEqual([]);
    expect(svcOf(np.world, "np").spec).toMatchObject({ externalTrafficPolicy: "Local", ports: [{ nodePort: 30086 }] });
    expect(svcOf(np.world, "np").spec.healthCheckNodePort).toBeUndefined();
    const lb = setServiceField(w, "lb", fieldOf("external-traffic-policy Local"), w.nodes[0]!.pos!);
    expect(svcOf(lb.world, "lb").spec.healthCheckNodePort).toBe(30088);
    expect(svcOf(lb.world, "lb").spec.ports![0]!.nodePort).toBe(30087);
    expect(JSON.stringify(w.services)).toBe(before);
  });

  test("setServiceField re-validates: Local on a ClusterIP Service is refused", () => {
    const w = world(`${CLUSTER}service a {
  port 80
}
`);
    const r = setServiceField(w, "a", fieldOf("external-traffic-policy Local"), w.nodes[0]!.pos!);
    expect(r.diagnostics[0]!.message).toContain("may only be set for externally-accessible services");
    expect(r.world).toBe(w);
  });

  test("setServiceField type ClusterIP releases the nodePorts", () => {
    const w = world(base);
    const r = setServiceField(w, "np", fieldOf("type ClusterIP"), w.nodes[0]!.pos!);
    expect(r.diagnostics).toEqual([]);
    expect(svcOf(r.world, "np").spec.ports![0]!.nodePort).toBeUndefined();
    expect(svcOf(r.world, "np").spec.externalTrafficPolicy).toBeUndefined();
    expect(svcOf(r.world, "np").spec.clusterIP).toBe(svcOf(w, "np").spec.clusterIP);
  });

  test("pod readiness, deletion and node failure do not touch the input", () => {
    const w = world(base);
    const nr = setPodReady(w, "nginx-1", false);
    expect(nr.pods.find((p) => p.name === "nginx-1")!.ready).toBe(false);
    expect(w.pods.find((p) => p.name === "nginx-1")!.ready).toBe(true);
    expect(deletePod(w, "nginx-1").pods.some((p) => p.name === "nginx-1")).toBe(false);
    const f = failNode(w, "node1");
    expect(f.pods.filter((p) => p.node === "node1").every((p) => !p.ready)).toBe(true);
    expect(w.pods.every((p) => p.ready)).toBe(true);
  });

  test("applyManifests adds pods with addresses and updates an existing Service", () => {
    const w = world(base);
    const load = parseManifests(
      `apiVersion: v1
kind: Pod
metadata: {name: late, labels: {run: my-nginx}}
spec: {nodeName: node2, containers: [{name: c, ports: [{containerPort: 80}]}]}
---
${NODEPORT_NP}`,
      { kind: "heredoc", file: "f.svcspec", line: 20 },
    );
    const r = applyManifests(w, load);
    expect(r.diagnostics).toEqual([]);
    expect(r.world.pods.find((p) => p.name === "late")).toMatchObject({ node: "node2", ip: "10.244.2.3" });
    expect(svcOf(r.world, "np").spec.ports![0]!.nodePort).toBe(30999);
    expect(svcOf(r.world, "np").spec.clusterIP).toBe(svcOf(w, "np").spec.clusterIP);
    expect(w.pods.some((p) => p.name === "late")).toBe(false);
  });
});

describe("changed worlds share the unchanged Services and EndpointSlices", () => {
  const deepFreeze = <T>(v: T): T => {
    if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
      Object.freeze(v);
      for (const x of Object.values(v)) deepFreeze(x);
    }
    return v;
  };
  const base = `${CLUSTER}${NP_AND_LB}service c {
  selector run=my-nginx
  port 443
}
`;
  const cfg = (w: World, node: string): ProxierConfig => ({
    nodeName: node,
    nodeIPs: [w.nodes.find((n) => n.name === node)!.ip],
    clusterCIDR: "10.244.0.0/16",
    masqueradeAll: false,
    masqueradeMark: "0x4000",
    nodePortAddresses: [],
    localhostNodePorts: true,
    nfacct: false,
    randomFully: false,
    conntrackTCPLiberal: false,
    masquerade: true,
  });

  test("no change and no kube-proxy sync writes into a Service or slice of the world it starts from", () => {
    const w = world(base);
    deepFreeze(w.services);
    deepFreeze(w.manualEndpointSlices);
    const load = parseManifests(NODEPORT_NP,
      { kind: "heredoc", file: "f.svcspec", line: 20 },
    );
    const changed = [
      setPodReady(w, "nginx-1", false),
      deletePod(w, "nginx-1"),
      failNode(w, "node1"),
      deleteService(w, "c"),
      setServiceField(w, "np", fieldOf("external-traffic-policy Local"), w.nodes[0]!.pos!).world,
      setServiceField(w, "lb", fieldOf("type ClusterIP"), w.nodes[0]!.pos!).world,
      applyManifests(w, load).world,
    ];
    for (const c of changed) {
      // The Services a change did not touch are the very objects of the world it started from.
      for (const s of c.services) if (w.services.some((o) => o.metadata.name === s.metadata.name && JSON.stringify(o) === JSON.stringify(s))) expect(w.services).toContain(s);
      const slices = deriveEndpointSlices(c);
      for (const node of ["node1", "node2"]) {
        // Written from the shared (frozen, remembered) objects and from fresh copies: the same text.
        const text = nodeTables(c.services, slices, cfg(c, node));
        expect(text).toBe(nodeTables(structuredClone(c.services), structuredClone(slices), cfg(c, node)));
      }
    }
  });
});

describe("reading the spec file for caret lines", () => {
  const file = "/specs/t.svcspec";
  const buildCounting = (src: string) => {
    const reads: string[] = [];
    const parsed = parse(src, file);
    const built = buildWorld(parsed.ast, { file, readFile: (p) => (reads.push(p), src) });
    return { built, reads };
  };

  test("a clean file is not read again", () => {
    const { built, reads } = buildCounting(`${CLUSTER}service my-nginx {\n  selector run=my-nginx\n  port 80\n}\n`);
    expect(errors(built.diagnostics)).toEqual([]);
    expect(reads).toEqual([]);
  });

  test("a diagnostic still carries its line, read once", () => {
    const { built, reads } = buildCounting(`${CLUSTER}service my-nginx {\n  selector run=my-nginx\n  port 80\n}\nservice my-nginx {\n  port 81\n}\n`);
    const d = errors(built.diagnostics)[0]!;
    expect(d.sourceLine).toBe("service my-nginx {");
    expect(reads).toEqual([file]);
  });
});
