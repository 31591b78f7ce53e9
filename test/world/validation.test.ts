import { describe, expect, test } from "vitest";
import { build, CLUSTER, errors, FIXTURES } from "./helpers.js";
import { parseManifests } from "../../src/world/manifests.js";

const svc = (body: string) => `${CLUSTER}apply <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
${body}
YAML
`;
// CLUSTER is 6 lines; `apply <<YAML` is line 7, the YAML body starts at line 8, `spec:` is 12.

function onlyError(src: string) {
  const r = build(src);
  const errs = errors(r.diagnostics);
  expect(errs, JSON.stringify(r.diagnostics, null, 1)).toHaveLength(1);
  expect(r.world).toBeNull();
  return errs[0]!;
}

describe("apiserver validation errors point at the field", () => {
  test("nodePort outside the range, with the widen hint", () => {
    const d = onlyError(svc("  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 8080"));
    expect(d.message).toBe(
      "Service web: nodePort 8080 is outside the node-port range 30000-32767; widen it with `node-port-range 1-65535` in the cluster block (kube-apiserver --service-node-port-range)",
    );
    expect([d.pos.line, d.pos.column]).toEqual([16, 5]);
    expect(d.sourceLine).toBe("    nodePort: 8080");
    expect(d.notes?.[0]).toContain("provided port is not in the valid range. The range of valid ports is 30000-32767");
  });

  test("nodePort already allocated by another Service", () => {
    const src = `${CLUSTER}service a NodePort {
  port 80 node-port 30080
}
service b NodePort {
  port 81 node-port 30080
}
`;
    const d = onlyError(src);
    expect(d.message).toBe("Service b: nodePort 30080 is already allocated to Service default/a");
    expect([d.pos.line, d.pos.column]).toEqual([11, 21]);
    expect(d.notes?.[0]).toContain("provided port is already allocated");
  });

  test("ExternalName that is not a DNS name", () => {
    const d = onlyError(svc("  type: ExternalName\n  externalName: my_db.example.com"));
    expect(d.message).toMatch(/^Service web: externalName `my_db.example.com` is not a DNS name/);
    expect([d.pos.line, d.pos.column]).toEqual([14, 3]);
  });

  test("externalTrafficPolicy on a ClusterIP Service without externalIPs", () => {
    const d = onlyError(svc("  ports:\n  - port: 80\n  externalTrafficPolicy: Local"));
    expect(d.message).toContain("externalTrafficPolicy may only be set for externally-accessible services");
    expect(d.message).toContain("ClusterIP Service without externalIPs");
    expect([d.pos.line, d.pos.column]).toEqual([15, 3]);
  });

  test("externalTrafficPolicy on ClusterIP with externalIPs is fine", () => {
    const r = build(svc("  ports:\n  - port: 80\n  externalIPs: [198.51.100.10]\n  externalTrafficPolicy: Local"));
    expect(errors(r.diagnostics)).toEqual([]);
  });

  test("clusterIP outside the service CIDR", () => {
    const d = onlyError(svc("  clusterIP: 10.200.0.5\n  ports:\n  - port: 80"));
    expect(d.message).toBe("Service web: clusterIP 10.200.0.5 is outside the service CIDR 10.96.0.0/12 (or is its network/broadcast address)");
    expect(d.pos.line).toBe(13);
  });

  test("clusterIP already allocated (kube-dns holds the 10th address)", () => {
    const d = onlyError(svc("  clusterIP: 10.96.0.10\n  ports:\n  - port: 80"));
    expect(d.message).toBe("Service web: clusterIP 10.96.0.10 is already allocated to Service kube-system/kube-dns");
  });

  test("a second port without a name", () => {
    const d = onlyError(svc("  ports:\n  - port: 80\n    name: http\n  - port: 81"));
    expect(d.message).toBe("Service web: port 81 needs a name: a Service with more than one port must name every port");
    expect(d.pos.line).toBe(16);
  });

  test("duplicate port names", () => {
    const d = onlyError(svc("  ports:\n  - {port: 80, name: http}\n  - {port: 81, name: http}"));
    expect(d.message).toBe("Service web: port name `http` is used twice (also by ports[0])");
    expect(d.pos.line).toBe(15);
  });

  test("healthCheckNodePort without LoadBalancer + Local", () => {
    const d = onlyError(svc("  type: NodePort\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 30555\n  ports:\n  - port: 80"));
    expect(d.message).toBe("Service web: healthCheckNodePort may only be set when type is LoadBalancer and externalTrafficPolicy is Local");
    expect(d.pos.line).toBe(15);
  });

  test("loadBalancerSourceRanges on a NodePort Service", () => {
    const d = onlyError(svc("  type: NodePort\n  loadBalancerSourceRanges: [203.0.113.0/24]\n  ports:\n  - port: 80"));
    expect(d.message).toBe("Service web: loadBalancerSourceRanges may only be used with type LoadBalancer");
  });

  test("nodePort on a ClusterIP Service", () => {
    const d = onlyError(svc("  ports:\n  - port: 80\n    nodePort: 30080"));
    expect(d.message).toContain("nodePort may not be used when type is ClusterIP");
  });

  test("misspelt type gets a suggestion", () => {
    const d = onlyError(svc("  type: Nodeport\n  ports:\n  - port: 80"));
    expect(d.message).toBe("Service web: type `Nodeport` is not one of ClusterIP, NodePort, LoadBalancer, ExternalName");
    expect(d.suggestion).toBe("did you mean `NodePort`?");
  });

  test("duplicate Service names", () => {
    const src = `${CLUSTER}service web {
  port 80
}
service web {
  port 81
}
`;
    const d = onlyError(src);
    expect(d.message).toBe("Service web: a Service named `web` already exists in namespace default");
    expect([d.pos.line, d.pos.column]).toEqual([10, 9]);
  });

  test("invalid externalIP", () => {
    const d = onlyError(svc("  ports:\n  - port: 80\n  externalIPs: [127.0.0.1]"));
    expect(d.message).toBe("Service web: externalIP may not be in the loopback range (127.0.0.0/8)");
    expect([d.pos.line, d.pos.column]).toEqual([15, 17]);
  });
});

describe("YAML and manifest errors", () => {
  test("YAML syntax error inside a heredoc is reported at the .svcspec line", () => {
    const d = onlyError(`${CLUSTER}apply <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {a: b
spec: {}
YAML
`);
    expect(d.code).toBe("yaml");
    expect(d.pos.file).toMatch(/t\.svcspec$/);
    expect(d.pos.line).toBeGreaterThanOrEqual(12);
    expect(d.pos.line).toBeLessThanOrEqual(14);
  });

  test("YAML error in a file is reported at file.yaml:line:col", () => {
    const d = onlyError(`${CLUSTER}apply "broken.yaml"\n`);
    expect(d.code).toBe("yaml");
    expect(d.pos.file).toBe(`${FIXTURES}/broken.yaml`);
    expect([d.pos.line, d.pos.column]).toEqual([7, 5]);
    expect(d.message).toBe("YAML syntax error: Block collections are not allowed within flow collections");
  });

  test("validation error inside a manifest file points into the file", () => {
    const d = onlyError(`${CLUSTER}apply "bad-nodeport.yaml"\n`);
    expect(d.pos.file).toBe(`${FIXTURES}/bad-nodeport.yaml`);
    expect([d.pos.line, d.pos.column]).toEqual([9, 5]);
    expect(d.sourceLine).toBe("    nodePort: 8080");
  });

  test("missing manifest file", () => {
    const d = onlyError(`${CLUSTER}apply "nope.yaml"\n`);
    expect(d.message).toMatch(/^cannot read manifest file `.*nope\.yaml`: no such file$/);
    expect(d.pos.line).toBe(7);
  });

  test("alias bomb is refused with a message, fast", () => {
    let bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
    for (let i = 0; i < 12; i++) {
      const p = String.fromCharCode(98 + i);
      const q = String.fromCharCode(97 + i);
      bomb += `${p}: &${p} [${Array(10).fill(`*${q}`).join(",")}]\n`;
    }
    const r = parseManifests(bomb, { kind: "file", file: "bomb.yaml" });
    expect(r.objects).toEqual([]);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.message).toContain("alias bomb");
  });

  test("oversized manifest", () => {
    const r = parseManifests("# x\n".repeat(1_500_000), { kind: "file", file: "big.yaml" });
    expect(r.diagnostics[0]!.message).toMatch(/MiB; the limit is 5 MiB/);
  });

  test("unknown kind is a warning naming it; unknown field warns with a suggestion", () => {
    const r = build(`${CLUSTER}apply <<YAML
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: x}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
  selectr: {run: my-nginx}
YAML
`);
    expect(errors(r.diagnostics)).toEqual([]);
    const w = r.diagnostics.filter((d) => d.severity === "warning");
    expect(w.map((d) => d.message)).toEqual(["kind Ingress is not simulated; ignored", 'Service spec.selectr: unknown field "selectr"; ignored']);
    expect(w[0]!.pos.line).toBe(9);
    expect(w[1]!.pos.line).toBe(17);
    expect(w[1]!.suggestion).toBe("did you mean `selector`?");
  });

  test("a label value YAML reads as a boolean", () => {
    const d = onlyError(`${CLUSTER}apply <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {enabled: yes}
spec: {containers: [{name: c}]}
YAML
`);
    expect(d.message).toBe("Pod metadata.labels.enabled: expected a string, got boolean true");
    expect(d.pos.line).toBe(12);
  });

  test("wrong apiVersion for a known kind", () => {
    const d = onlyError(`${CLUSTER}apply <<YAML
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: d}
YAML
`);
    expect(d.message).toBe('no matches for kind "Deployment" in version "extensions/v1beta1"');
  });
});

describe("names", () => {
  test("pod on an unknown node, with a suggestion", () => {
    const d = onlyError(`cluster {
  node node1 192.168.1.11
  pod web-1 on nod1
}
`);
    expect(d.message).toBe("unknown node `nod1`");
    expect(d.suggestion).toBe("did you mean `node1`?");
    expect([d.pos.line, d.pos.column]).toEqual([3, 16]);
  });

  test("unknown pod in a scenario, with a suggestion", () => {
    const d = onlyError(`${CLUSTER}scenario "x" {
  send tcp from ngnix-1 to laptop:80 expect connected
}
`);
    expect(d.message).toBe("unknown host (node, pod or client) `ngnix-1`");
    expect(d.suggestion).toBe("did you mean `nginx-1`?");
    expect(d.pos.line).toBe(8);
  });

  test("names applied earlier in the scenario are known", () => {
    const r = build(`${CLUSTER}scenario "x" {
  apply <<YAML
  apiVersion: v1
  kind: Service
  metadata: {name: late}
  spec: {ports: [{port: 80}]}
  YAML
  delete service late
}
`);
    expect(errors(r.diagnostics)).toEqual([]);
  });

  test("route via an unknown node", () => {
    const d = onlyError(`${CLUSTER.replace("}\n", "  route 198.51.100.0/24 via node3\n}\n")}`);
    expect(d.message).toBe("unknown node `node3`");
  });

  test("pinned pod IP outside its node's range", () => {
    const d = onlyError(`cluster {
  node node1 192.168.1.11
  pod web-1 on node1 ip 10.244.2.5
}
`);
    expect(d.message).toBe("pod web-1: pod IP 10.244.2.5 is outside the pod range 10.244.1.0/24 of node node1 (or is its network/broadcast address)");
    expect([d.pos.line, d.pos.column]).toEqual([3, 25]);
  });
});
