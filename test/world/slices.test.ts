// The EndpointSlice controller groups a Service's endpoints by their resolved port list. It finds
// a pod's group by comparing port lists field by field (the key was a JSON text per pod): the
// slices must be those of grouping by the JSON text, in order of first appearance.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { slicesForService, stableSuffix } from "../../src/world/controllers.js";
import type { EndpointSlice, Service } from "../../src/world/k8s.js";
import type { PodDecl } from "../../src/world/model.js";

/** The slices by JSON keys: each pod's own ports (its slice when alone), grouped by their JSON text. */
function groupedByJson(svc: Service, pods: PodDecl[]): EndpointSlice[] {
  const groups = new Map<string, EndpointSlice>();
  for (const pod of pods) {
    const alone = slicesForService(svc, [pod])[0]!;
    if (alone.endpoints.length === 0) continue; // not selected
    const key = JSON.stringify(alone.ports);
    const g = groups.get(key);
    if (g) g.endpoints.push(...alone.endpoints);
    else groups.set(key, alone);
  }
  if (groups.size === 0) return slicesForService(svc, []);
  for (const [key, g] of groups) g.metadata.name = `${svc.metadata.name}-${stableSuffix(`${svc.metadata.namespace ?? "default"}/${svc.metadata.name}/${key}`)}`;
  return [...groups.values()];
}

const listener = fc.record({ protocol: fc.constantFrom("TCP" as const, "UDP" as const), port: fc.constantFrom(53, 80, 8080, 9000), name: fc.option(fc.constantFrom("http", "dns", "metrics"), { nil: undefined }) }).map((l) => {
  const out: PodDecl["listen"][number] = { protocol: l.protocol, port: l.port };
  if (l.name !== undefined) out.name = l.name;
  return out;
});
const pod = fc.record({
  name: fc.constantFrom("a", "b", "c", "d", "e", "f"),
  app: fc.constantFrom("web", "api"),
  ready: fc.boolean(),
  listen: fc.array(listener, { maxLength: 3 }),
  ip: fc.constantFrom("10.244.1.5", "10.244.2.7", ""),
});
const servicePort = fc.record({
  name: fc.option(fc.constantFrom("http", "dns"), { nil: undefined }),
  protocol: fc.option(fc.constantFrom("TCP" as const, "UDP" as const), { nil: undefined }),
  port: fc.constantFrom(80, 53, 443),
  targetPort: fc.option(fc.oneof(fc.constantFrom(8080, 9000, 53), fc.constantFrom("http", "dns", "metrics")), { nil: undefined }),
  appProtocol: fc.option(fc.constantFrom("http", "grpc"), { nil: undefined }),
});

describe("slicesForService", () => {
  it("groups endpoints as grouping by the port list's JSON text does", () => {
    fc.assert(
      fc.property(fc.array(pod, { maxLength: 8 }), fc.array(servicePort, { maxLength: 3 }), fc.boolean(), (ps, ports, publishNotReady) => {
        const pods: PodDecl[] = ps.map((p, i) => ({ name: `${p.name}${i}`, namespace: "default", node: "node1", ip: p.ip, labels: { app: p.app }, listen: p.listen, ready: p.ready }));
        const svc: Service = {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "web", namespace: "default" },
          spec: { selector: { app: "web" }, ports: ports.map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined))) as unknown as Service["spec"]["ports"], publishNotReadyAddresses: publishNotReady },
        } as Service;
        expect(slicesForService(svc, pods)).toEqual(groupedByJson(svc, pods));
      }),
      { numRuns: 500 },
    );
  });
});
