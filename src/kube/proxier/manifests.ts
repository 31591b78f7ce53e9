// Raw Kubernetes manifests (Service v1, discovery.k8s.io/v1 EndpointSlice) for `svcspec rules
// --manifests`: multi-document YAML, taken exactly as written (no apiserver defaulting), with
// file:line:column diagnostics for anything kube-proxy could not have been handed.

import { LineCounter, isMap, isSeq, parseAllDocuments, type Document, type Node } from "yaml";
import type { Diagnostic, Position } from "../../lang/diagnostic.js";
import type { EndpointSlice, Service } from "../../world/k8s.js";

export interface ManifestObjects {
  services: Service[];
  slices: EndpointSlice[];
  diagnostics: Diagnostic[];
}

const KINDS = ["Service", "EndpointSlice"];

export function readManifests(file: string, text: string): ManifestObjects {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const lines = text.split("\n");
  const out: ManifestObjects = { services: [], slices: [], diagnostics: [] };
  const pos = (offset: number, endOffset?: number): Position => {
    const a = lc.linePos(offset);
    const b = lc.linePos(Math.max(offset, (endOffset ?? offset + 1) - 1));
    return { file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };
  const diag = (offset: number, endOffset: number | undefined, message: string, suggestion?: string): void => {
    const p = pos(offset, endOffset);
    out.diagnostics.push({
      severity: "error",
      code: "manifest",
      message,
      pos: p,
      sourceLine: lines[p.line - 1],
      ...(suggestion ? { suggestion } : {}),
    });
  };
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList as Document.Parsed[]) {
    for (const err of doc.errors) diag(err.pos[0], err.pos[1], `YAML: ${err.message.split("\n")[0]}`);
    if (doc.errors.length > 0) continue;
    const contents = doc.contents as Node | null;
    if (contents === null) continue;
    const start = contents.range?.[0] ?? 0;
    if (!isMap(contents)) {
      diag(start, contents.range?.[1], "a manifest must be a mapping with apiVersion, kind and metadata");
      continue;
    }
    const obj = doc.toJS() as Record<string, unknown>;
    const at = (key: string): [number, number | undefined] => {
      const pair = contents.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      const node = (pair?.value ?? pair?.key) as Node | undefined;
      return [node?.range?.[0] ?? start, node?.range?.[1]];
    };
    const kind = obj.kind;
    if (typeof kind !== "string" || !KINDS.includes(kind)) {
      const [o, e] = at("kind");
      diag(o, e, `unsupported kind ${JSON.stringify(kind)}: kube-proxy reads only Services and EndpointSlices`, "kind: Service or kind: EndpointSlice");
      continue;
    }
    const meta = obj.metadata as Record<string, unknown> | undefined;
    if (!meta || typeof meta.name !== "string") {
      const [o, e] = at("metadata");
      diag(o, e, `${kind} without metadata.name`, "metadata: {name: my-svc, namespace: default}");
      continue;
    }
    if (kind === "Service") {
      const spec = obj.spec as Record<string, unknown> | undefined;
      if (!spec || typeof spec !== "object") {
        const [o, e] = at("spec");
        diag(o, e, `Service ${meta.name} has no spec`);
        continue;
      }
      const portsNode = (contents.get("spec", true) as Node | undefined);
      const ports = spec.ports;
      if (ports !== undefined && !Array.isArray(ports)) {
        diag(portsNode?.range?.[0] ?? start, portsNode?.range?.[1], `Service ${meta.name}: spec.ports must be a list`);
        continue;
      }
      let ok = true;
      for (const p of (ports ?? []) as Array<Record<string, unknown>>) {
        if (typeof p?.port !== "number" || !Number.isInteger(p.port)) {
          diag(portsNode?.range?.[0] ?? start, portsNode?.range?.[1], `Service ${meta.name}: every port needs a numeric "port"`, "ports: [{name: http, port: 80, protocol: TCP}]");
          ok = false;
          break;
        }
        if (p.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(p.protocol as string)) {
          diag(portsNode?.range?.[0] ?? start, portsNode?.range?.[1], `Service ${meta.name}: unknown protocol ${JSON.stringify(p.protocol)}`, "protocol: TCP, UDP or SCTP");
          ok = false;
          break;
        }
      }
      if (ok) out.services.push(obj as unknown as Service);
    } else {
      const at2 = at("addressType");
      if (!["IPv4", "IPv6", "FQDN"].includes(obj.addressType as string)) {
        diag(at2[0], at2[1], `EndpointSlice ${meta.name}: addressType must be IPv4, IPv6 or FQDN`, "addressType: IPv4");
        continue;
      }
      if (obj.endpoints !== undefined && obj.endpoints !== null && !Array.isArray(obj.endpoints)) {
        const [o, e] = at("endpoints");
        diag(o, e, `EndpointSlice ${meta.name}: endpoints must be a list`);
        continue;
      }
      const labels = (meta.labels ?? {}) as Record<string, string>;
      if (!labels["kubernetes.io/service-name"]) {
        const [o, e] = at("metadata");
        diag(o, e, `EndpointSlice ${meta.name} has no kubernetes.io/service-name label, so kube-proxy ignores it`, "metadata: {labels: {kubernetes.io/service-name: my-svc}}");
        continue;
      }
      const slice = obj as unknown as EndpointSlice;
      if (!Array.isArray(slice.endpoints)) slice.endpoints = [];
      out.slices.push(slice);
    }
    void isSeq;
  }
  return out;
}
